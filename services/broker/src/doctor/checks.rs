//! The checks themselves: each connects, reads or measures once and returns a [`Check`].

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::{Duration, SystemTime};

use roomsense_core::mqtt::{ConnectOutcome, Heard, ProbeError, ProbeTarget};
use roomsense_core::topic::filter_matches;

use super::{Check, DoctorRequest, Level, Report};

const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// Below this much free space for persistence, the broker is close to losing messages.
const DISK_FAIL_MIB: u64 = 20;
const DISK_WARN_MIB: u64 = 100;
/// No clock this early is right: roomsense did not exist yet.
const CLOCK_FLOOR_UNIX: u64 = 1_735_689_600; // 2025-01-01T00:00:00Z
/// How many topics a finding lists before "and N more".
const SHOWN: usize = 8;

/// Runs every check and returns the report.
pub async fn run(request: &DoctorRequest) -> Report {
    let broker = format!("{}:{}", request.host, request.port);
    let mut checks = Vec::new();
    checks.push(clock(request.now));
    let reachable = reachable(&request.host, request.port);
    let up = reachable.level == Level::Ok;
    checks.push(reachable);
    if up {
        checks.extend(anonymous(request).await);
        checks.extend(node(request).await);
    }
    if let Some(check) = plain_on_network(request) {
        checks.push(check);
    }
    if let Some((host, port)) = request.tls.clone() {
        let ca = request.ca_file.clone();
        let now = request.now;
        let tls =
            tokio::task::spawn_blocking(move || super::tls::check(&host, port, ca.as_deref(), now))
                .await
                .unwrap_or_else(|e| {
                    Check::new("tls", Level::Fail, format!("the TLS check crashed: {e}"))
                });
        checks.push(tls);
    }
    checks.push(disk(&request.data_dir));
    Report::new(broker, checks)
}

fn target(request: &DoctorRequest, login: Option<(String, String)>, who: &str) -> ProbeTarget {
    ProbeTarget {
        host: request.host.clone(),
        port: request.port,
        ca_file: request.tls_ca.clone(),
        login,
        client_id: format!("roomsense-doctor-{who}-{}", std::process::id()),
    }
}

fn reachable(host: &str, port: u16) -> Check {
    let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return Check::new("reachable", Level::Fail, format!("cannot resolve {host}: {e}"))
                .fix("check the host name in [mqtt] host or --broker");
        }
    };
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            Ok(_) => {
                return Check::new(
                    "reachable",
                    Level::Ok,
                    format!("the broker answers on {host}:{port}"),
                );
            }
            Err(e) => last = e.to_string(),
        }
    }
    Check::new("reachable", Level::Fail, format!("nothing answers on {host}:{port} ({last})"))
        .fix("start the broker (`systemctl start mosquitto`), or pass --broker HOST:PORT")
}

async fn anonymous(request: &DoctorRequest) -> Vec<Check> {
    let probe = target(request, None, "anonymous");
    let listened = probe.listen(&["#", "$SYS/#"], request.listen_for, CONNECT_WAIT).await;
    match listened {
        Err(e) => vec![probe_failed("anonymous_login", &e)],
        Ok(l) if l.outcome != ConnectOutcome::Accepted => vec![
            Check::new(
                "anonymous_login",
                Level::Ok,
                format!("anonymous login refused ({})", l.outcome.reason()),
            ),
            Check::new("anonymous_read", Level::Ok, "an anonymous client can read nothing"),
        ],
        Ok(l) => {
            let login = Check::new(
                "anonymous_login",
                Level::Unsafe,
                "anyone who reaches the broker logs in without a password",
            )
            .fix("set `allow_anonymous false` with a `password_file` (`roomsense broker init` writes both)");
            let read = if l.heard.is_empty() {
                Check::new(
                    "anonymous_read",
                    Level::Unsafe,
                    format!(
                        "an anonymous client could subscribe to everything (nothing retained arrived in {} ms)",
                        request.listen_for.as_millis()
                    ),
                )
            } else {
                let retained = l.heard.iter().filter(|h| h.retained).count();
                let sys = l.heard.iter().filter(|h| h.topic.starts_with('$')).count();
                Check::new(
                    "anonymous_read",
                    Level::Unsafe,
                    format!(
                        "an anonymous client read {} topics ({retained} retained, {sys} under $SYS): presence data for anyone on the network",
                        l.heard.len()
                    ),
                )
                .details(listing(&l.heard))
            };
            vec![login, read.fix("refuse anonymous clients and give each client an ACL (`roomsense broker init`)")]
        }
    }
}

async fn node(request: &DoctorRequest) -> Vec<Check> {
    let (user, password) = match &request.node_login {
        None => {
            return vec![
                Check::new(
                    "node_login",
                    Level::Warn,
                    "the node's config has no login: it connects anonymously",
                )
                .fix("run `roomsense broker init` and set [mqtt] credentials_dir as it prints"),
            ];
        }
        Some(Err(why)) => {
            return vec![
                Check::new(
                    "node_login",
                    Level::Fail,
                    format!("the node's login cannot be read: {why}"),
                )
                .fix("run `roomsense broker init`, or fix [mqtt] in the node's config"),
            ];
        }
        Some(Ok(login)) => login.clone(),
    };
    let probe = target(request, Some((user.clone(), password)), "node");
    match probe.listen(&["#", "$SYS/#"], request.listen_for, CONNECT_WAIT).await {
        Err(e) => vec![probe_failed("node_login", &e)],
        Ok(l) if l.outcome != ConnectOutcome::Accepted => vec![Check::new(
            "node_login",
            Level::Fail,
            format!("the broker refuses the node's own login `{user}` ({})", l.outcome.reason()),
        )
        .fix("run `roomsense broker init` and restart the broker, so its password file has the node's passwords")],
        Ok(l) => {
            let login = Check::new("node_login", Level::Ok, format!("the node's own login `{user}` works"));
            let own = |t: &str| request.node_own_topics.iter().any(|f| filter_matches(f, t));
            let extra: Vec<Heard> = l.heard.into_iter().filter(|h| !own(&h.topic)).collect();
            let read = if extra.is_empty() {
                Check::new("node_read", Level::Ok, format!("`{user}` reads only its own topics (no $SYS, no one else's)"))
            } else {
                let sys = extra.iter().filter(|h| h.topic.starts_with('$')).count();
                Check::new(
                    "node_read",
                    Level::Warn,
                    format!("`{user}` can read {} topics it does not need ({sys} under $SYS): a stolen node password exposes them", extra.len()),
                )
                .details(listing(&extra))
                .fix("give each login an ACL with only its own topics (`roomsense broker init` writes one)")
            };
            vec![login, read]
        }
    }
}

fn probe_failed(id: &'static str, e: &ProbeError) -> Check {
    let fix = match e {
        ProbeError::Tls { .. } => {
            "check the CA ([mqtt] ca_file or --ca) and the broker's certificate"
        }
        _ => "check that the broker runs and listens there",
    };
    Check::new(id, Level::Fail, e.to_string()).fix(fix)
}

/// Whether plain MQTT on this board's port is reachable from its network address.
fn plain_on_network(request: &DoctorRequest) -> Option<Check> {
    // Only meaningful for the broker on this board.
    let _: IpAddr = request.host.parse().ok().filter(|ip: &IpAddr| ip.is_loopback())?;
    // The address this board uses on the network: a UDP "connect" sends nothing.
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        return None;
    }
    let addr = SocketAddr::new(ip, request.port);
    Some(match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(_) if request.tls_ca.is_none() => Check::new(
            "plain_on_network",
            Level::Unsafe,
            format!("plain MQTT is reachable from the network on {addr}: passwords and presence cross it in clear"),
        )
        .fix(format!("listen in plain text on loopback only: `listener {} 127.0.0.1`", request.port)),
        _ => Check::new("plain_on_network", Level::Ok, format!("plain MQTT is not reachable from the network ({addr})")),
    })
}

fn clock(now: SystemTime) -> Check {
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if secs < CLOCK_FLOOR_UNIX {
        return Check::new("clock", Level::Fail, "the clock is wrong (it says before 2025): certificates look not yet valid, time slots fire at the wrong hour")
            .fix("enable NTP (`timedatectl set-ntp true`) and give the board network access");
    }
    let synced = Path::new("/run/systemd/timesync/synchronized").exists();
    Check::new(
        "clock",
        Level::Ok,
        if synced {
            "the clock is plausible and synchronised by NTP"
        } else {
            "the clock is plausible"
        },
    )
}

fn disk(data_dir: &Path) -> Check {
    // The directory may not exist yet; its nearest existing parent has the same disk.
    let dir = data_dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let stat = match rustix::fs::statvfs(dir) {
        Ok(s) => s,
        Err(e) => {
            return Check::new(
                "disk",
                Level::Skipped,
                format!("cannot read free space of {}: {e}", dir.display()),
            );
        }
    };
    let free_mib = stat.f_bavail.saturating_mul(stat.f_frsize) / (1024 * 1024);
    let at = format!("{free_mib} MiB free for persistence in {}", data_dir.display());
    if free_mib < DISK_FAIL_MIB {
        Check::new("disk", Level::Fail, format!("only {at}: queued messages will be lost"))
            .fix("free space on that disk, or set [broker] data_dir elsewhere")
    } else if free_mib < DISK_WARN_MIB {
        Check::new("disk", Level::Warn, format!("only {at}")).fix("free space on that disk")
    } else {
        Check::new("disk", Level::Ok, at)
    }
}

/// The topics heard, the application's before `$SYS`'s (they are what leaks presence).
fn listing(heard: &[Heard]) -> Vec<String> {
    let (sys, app): (Vec<&Heard>, Vec<&Heard>) =
        heard.iter().partition(|h| h.topic.starts_with('$'));
    let mut lines: Vec<String> = app
        .into_iter()
        .chain(sys)
        .take(SHOWN)
        .map(|h| format!("{}{}", h.topic, if h.retained { " (retained)" } else { "" }))
        .collect();
    if heard.len() > SHOWN {
        lines.push(format!("... and {} more", heard.len() - SHOWN));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_2025_is_broken_and_a_current_one_is_fine() {
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
        assert_eq!(clock(old).level, Level::Fail);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(CLOCK_FLOOR_UNIX + 86_400);
        assert_eq!(clock(now).level, Level::Ok);
    }

    #[test]
    fn free_space_is_measured_on_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let c = disk(&dir.path().join("not/yet/there"));
        assert_ne!(c.level, Level::Skipped, "{c:?}");
        assert!(c.summary.contains("MiB free"), "{c:?}");
    }

    #[test]
    fn application_topics_are_listed_before_sys() {
        let heard: Vec<Heard> = ["$SYS/broker/version", "roomsense/hall/door"]
            .into_iter()
            .map(|t| Heard { topic: t.into(), retained: true, count: 1, bytes: 1 })
            .collect();
        assert_eq!(listing(&heard)[0], "roomsense/hall/door (retained)");
    }

    #[test]
    fn long_listings_are_cut_with_a_count() {
        let heard: Vec<Heard> = (0..10)
            .map(|i| Heard { topic: format!("t/{i}"), retained: i == 0, count: 1, bytes: 1 })
            .collect();
        let lines = listing(&heard);
        assert_eq!(lines.len(), SHOWN + 1);
        assert_eq!(lines[0], "t/0 (retained)");
        assert_eq!(lines[SHOWN], "... and 2 more");
    }

    #[test]
    fn a_closed_port_is_reported_unreachable_with_a_fix() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = reachable("127.0.0.1", port);
        assert_eq!(c.level, Level::Fail);
        assert!(c.fix.unwrap().contains("systemctl start mosquitto"));
    }
}
