//! Child processes of the tests: the `roomsense` binary under test, and stopping any child by
//! PID, politely first.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// The `roomsense` binary of this build: `$ROOMSENSE_BIN`, or the one beside the test binary
/// in the target directory (`cargo build -p roomsense` first; `tests/run` does).
pub fn roomsense_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ROOMSENSE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test binary should know its path");
    // target/<profile>/deps/<test> → target/<profile>/roomsense
    let bin = exe.parent().and_then(|deps| deps.parent()).map(|p| p.join("roomsense"));
    match bin {
        Some(bin) if bin.exists() => bin,
        _ => panic!(
            "the roomsense binary is not built: run `cargo build -p roomsense` (tests/run does) or set ROOMSENSE_BIN"
        ),
    }
}

/// A `roomsense` command.
pub fn roomsense() -> Command {
    Command::new(roomsense_bin())
}

/// Sends `signal` to a child by PID.
pub fn signal(child: &Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32)
        .expect("a child's pid should be positive");
    let _ = rustix::process::kill_process(pid, signal);
}

/// SIGTERM, then SIGKILL after `grace`; reaps the child.
pub fn terminate(mut child: Child, grace: Duration) {
    signal(&child, rustix::process::Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `roomsense demo --quiet` as node `node` against the broker on 127.0.0.1:`port`.
pub fn demo(port: u16, node: &str) -> Child {
    roomsense()
        .args(["demo", "--quiet", "--node-id", node, "--broker", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("roomsense demo should start")
}
