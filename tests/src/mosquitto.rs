//! A real Mosquitto (Debian's package) on a free loopback port, with persistence in a temp dir,
//! stopped by PID; and the real `mosquitto_sub`/`mosquitto_pub` clients to look at it.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::terminate;

/// A running broker. Dropping it stops it.
#[derive(Debug)]
pub struct Mosquitto {
    port: u16,
    child: Option<Child>,
    dir: TempDir,
    users: Vec<(String, String)>,
    tls: bool,
    /// A config written elsewhere (`roomsense broker init`); `None`: written here.
    config: Option<PathBuf>,
}

/// Where Debian puts the broker; not on every user's PATH.
fn binary() -> PathBuf {
    let sbin = Path::new("/usr/sbin/mosquitto");
    if sbin.exists() { sbin.to_path_buf() } else { PathBuf::from("mosquitto") }
}

/// A free loopback port (bound, read back, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port should exist")
        .port()
}

impl Mosquitto {
    /// A broker that lets anonymous clients in, with persistence on.
    pub fn start() -> Self {
        Self::start_with_users(&[])
    }

    /// A broker that refuses anonymous clients and knows these users (password file).
    pub fn start_with_users(users: &[(&str, &str)]) -> Self {
        let dir = TempDir::new().expect("temp dir for mosquitto should be creatable");
        let users: Vec<(String, String)> =
            users.iter().map(|(u, p)| ((*u).to_owned(), (*p).to_owned())).collect();
        let mut broker =
            Self { port: free_port(), child: None, dir, users, tls: false, config: None };
        broker.write_config();
        broker.launch();
        broker
    }

    /// A broker that speaks only TLS, with a CA and server certificate (for 127.0.0.1 and
    /// localhost) made by `openssl` for this run; [`Mosquitto::ca_file`] is the CA to trust.
    pub fn start_tls() -> Self {
        Self::start_tls_with_users(&[])
    }

    /// A TLS-only broker (see [`Mosquitto::start_tls`]) that knows these users and refuses
    /// anonymous clients when any are given.
    pub fn start_tls_with_users(users: &[(&str, &str)]) -> Self {
        let dir = TempDir::new().expect("temp dir for mosquitto should be creatable");
        make_certificates(dir.path());
        let users = users.iter().map(|(u, p)| ((*u).to_owned(), (*p).to_owned())).collect();
        let mut broker =
            Self { port: free_port(), child: None, dir, users, tls: true, config: None };
        broker.write_config();
        broker.launch();
        broker
    }

    /// A broker started with a config file as it is (e.g. the one `roomsense broker init`
    /// wrote), waiting for `port`, the listener the test will use; its stderr is the log.
    /// The files the config names must be readable by the user Mosquitto drops to.
    pub fn start_with_config(config: &Path, port: u16) -> Self {
        let dir = TempDir::new().expect("temp dir for mosquitto should be creatable");
        let mut broker = Self {
            port,
            child: None,
            dir,
            users: Vec::new(),
            tls: false,
            config: Some(config.to_path_buf()),
        };
        broker.launch();
        broker
    }

    /// The CA that signed a TLS broker's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        read("mosquitto.log") + &read("stderr.log")
    }

    /// Stops it cleanly (SIGTERM: persistence is written) and starts it again on the same port
    /// with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Stops it cleanly.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child, Duration::from_secs(10));
        }
    }

    fn write_config(&self) {
        let d = self.dir.path();
        fs::create_dir_all(d.join("data")).expect("data dir should be creatable");
        let mut conf = format!(
            "listener {} 127.0.0.1\nuser root\npersistence true\npersistence_location {}/\nautosave_interval 1\n\
             log_dest file {}\nlog_type all\nconnection_messages true\nmax_queued_messages 10000\n",
            self.port,
            d.join("data").display(),
            d.join("mosquitto.log").display(),
        );
        if self.tls {
            conf.push_str(&format!(
                "cafile {0}/ca.crt\ncertfile {0}/server.crt\nkeyfile {0}/server.key\ntls_version tlsv1.2\n",
                d.display()
            ));
        }
        if self.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let passwd = d.join("passwd");
            fs::write(&passwd, "").expect("password file should be writable");
            for (user, password) in &self.users {
                let status = Command::new("mosquitto_passwd")
                    .arg("-b")
                    .arg(&passwd)
                    .args([user, password])
                    .status()
                    .expect("mosquitto_passwd should run (apt-get install mosquitto)");
                assert!(status.success(), "mosquitto_passwd failed for {user}");
            }
            conf.push_str(&format!("allow_anonymous false\npassword_file {}\n", passwd.display()));
        }
        fs::write(d.join("mosquitto.conf"), conf).expect("mosquitto.conf should be writable");
    }

    fn launch(&mut self) {
        let config = self.config.clone().unwrap_or_else(|| self.dir.path().join("mosquitto.conf"));
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.log"))
            .expect("the broker's stderr file should be creatable");
        let child = Command::new(binary())
            .arg("-c")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): apt-get install mosquitto"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {}:\n{}",
                self.port,
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn login_args(&self) -> Vec<String> {
        match self.users.first() {
            Some((u, p)) => vec!["-u".into(), u.clone(), "-P".into(), p.clone()],
            None => Vec::new(),
        }
    }

    /// Publishes with the real `mosquitto_pub` (QoS 1).
    pub fn publish(&self, topic: &str, payload: &str, retain: bool) {
        let mut cmd = Command::new("mosquitto_pub");
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ]);
        cmd.args(self.login_args());
        if retain {
            cmd.arg("-r");
        }
        let status =
            cmd.status().expect("mosquitto_pub should run (apt-get install mosquitto-clients)");
        assert!(status.success(), "mosquitto_pub to {topic} failed");
    }

    /// A `mosquitto_pub -l` on `topic` (QoS 1): every line written is one message, sent at once.
    /// Cheaper than a process per message when a test replays thousands.
    pub fn line_publisher(&self, topic: &str) -> LinePublisher {
        let child = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q", "1", "-l", "-t", topic])
            .args(self.login_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_pub should run (apt-get install mosquitto-clients)");
        LinePublisher { child: Some(child) }
    }

    /// The retained payload of `topic`, if the broker holds one.
    pub fn retained(&self, topic: &str) -> Option<String> {
        let output = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-t",
                topic,
                "-C",
                "1",
                "-W",
                "2",
            ])
            .arg("--retained-only")
            .args(self.login_args())
            .output()
            .expect("mosquitto_sub should run (apt-get install mosquitto-clients)");
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines().next().map(str::to_owned)
    }

    /// A `mosquitto_sub` on `topics` (QoS 1, `-v`), recording what it receives.
    pub fn subscribe(&self, topics: &[&str]) -> Subscriber {
        self.subscribe_with(self.login_args(), topics)
    }

    /// A `mosquitto_sub` on `topics` logged in as `user` (plain MQTT on [`Mosquitto::port`]).
    pub fn subscribe_as(&self, user: &str, password: &str, topics: &[&str]) -> Subscriber {
        self.subscribe_with(vec!["-u".into(), user.into(), "-P".into(), password.into()], topics)
    }

    fn subscribe_with(&self, login: Vec<String>, topics: &[&str]) -> Subscriber {
        let file =
            tempfile::NamedTempFile::new().expect("subscriber output file should be creatable");
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q", "1", "-v"]);
        cmd.args(login);
        for t in topics {
            cmd.args(["-t", t]);
        }
        let out = file.reopen().expect("subscriber output should reopen");
        let child = cmd
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub should run (apt-get install mosquitto-clients)");
        let sub = Subscriber { child: Some(child), file };
        // mosquitto_sub subscribes right after connecting; give it that moment.
        thread::sleep(Duration::from_millis(300));
        sub
    }
}

/// A CA and a server certificate signed by it, valid for 127.0.0.1 and localhost.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl should run (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=roomsense test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        .expect("extension file should be writable");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
        "-extfile",
        "san.ext",
    ]);
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `mosquitto_pub -l`; dropping it closes its input, so it sends what it has and exits.
#[derive(Debug)]
pub struct LinePublisher {
    child: Option<Child>,
}

impl LinePublisher {
    /// Publishes `payload` (one line: no newline in it).
    pub fn send(&mut self, payload: &str) {
        use std::io::Write as _;
        let stdin = self.child.as_mut().and_then(|c| c.stdin.as_mut()).expect("stdin is piped");
        writeln!(stdin, "{payload}")
            .and_then(|()| stdin.flush())
            .expect("mosquitto_pub should take a line");
    }
}

impl Drop for LinePublisher {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running `mosquitto_sub`; every line it printed is `topic payload`.
#[derive(Debug)]
pub struct Subscriber {
    child: Option<Child>,
    file: tempfile::NamedTempFile,
}

impl Subscriber {
    /// Every `(topic, payload)` received so far.
    pub fn messages(&self) -> Vec<(String, String)> {
        let text = fs::read_to_string(self.file.path()).unwrap_or_default();
        text.lines()
            .map(|l| {
                let (t, p) = l.split_once(' ').unwrap_or((l, ""));
                (t.to_owned(), p.to_owned())
            })
            .collect()
    }

    /// Waits until a received message satisfies `pred`; panics with what was received.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str, &str) -> bool,
    ) -> (String, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|(t, p)| pred(t, p)) {
                return m;
            }
            if Instant::now() > deadline {
                panic!("no {what} within {timeout:?}; received:\n{:#?}", self.messages());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
