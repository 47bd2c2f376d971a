//! A TCP proxy between a client and the broker that a test can freeze (a Wi-Fi partition:
//! sockets stay open, nothing moves), kill (every connection reset), and take down or up.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The proxy; dropping it resets every connection and stops listening.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    frozen: AtomicBool,
    down: AtomicBool,
    closed: AtomicBool,
    /// Both ends of every live connection, to reset them on `kill`.
    sockets: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Self {
        let listener =
            TcpListener::bind("127.0.0.1:0").expect("the proxy should bind a loopback port");
        let port = listener.local_addr().expect("a bound listener has an address").port();
        listener.set_nonblocking(true).expect("the listener should go non-blocking");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, upstream, s));
        Self { port, shared }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops moving bytes either way; connections stay open.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// Resets every connection (and thaws); new connections are accepted again.
    pub fn kill(&self) {
        let mut sockets = self.shared.sockets.lock().unwrap_or_else(|p| p.into_inner());
        for s in sockets.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.shared.frozen.store(false, Ordering::SeqCst);
    }

    /// Refuses new connections and resets the live ones: the broker is unreachable.
    pub fn down(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        self.kill();
    }

    /// Accepts connections again.
    pub fn up(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.kill();
    }
}

fn accept_loop(listener: TcpListener, upstream: u16, shared: Arc<Shared>) {
    while !shared.closed.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if shared.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else { continue };
                {
                    let mut sockets = shared.sockets.lock().unwrap_or_else(|p| p.into_inner());
                    sockets.extend([c2, s2]);
                }
                let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) else { continue };
                let a = shared.clone();
                let b = shared.clone();
                thread::spawn(move || pump(client, server, a));
                thread::spawn(move || pump(s3, c3, b));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(10)),
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if shared.frozen.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
