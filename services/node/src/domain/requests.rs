//! The management API's commands: one name → one handler, each pure (a snapshot of the node in,
//! a response and maybe an action out). A malformed request is answered with an error and
//! changes nothing.

use roomsense_core::api::{Request, Response};
use serde_json::{Value, json};

/// What the node is, at the moment a request arrives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// roomsense's version.
    pub(crate) version: String,
    /// Node id.
    pub(crate) node_id: String,
    /// Seconds since the service started.
    pub(crate) uptime_s: u64,
    /// The services configured on this node.
    pub(crate) services: Vec<String>,
    /// The configuration with every secret left out.
    pub(crate) config_summary: Value,
    /// Whether the node's MQTT link is connected.
    pub(crate) mqtt_connected: bool,
    /// Must-deliver messages waiting for the broker.
    pub(crate) outbox_len: usize,
    /// Received messages dropped because a reader was slow.
    pub(crate) incoming_dropped: u64,
    /// Requests refused since start.
    pub(crate) requests_refused: u64,
}

/// What the service must do after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Restart the node's services.
    Restart,
}

/// The commands, for error messages and `info`.
pub(crate) const COMMANDS: &[&str] = &["health", "info", "restart"];

/// Answers `command` with `payload`.
pub(crate) fn answer(command: &str, payload: &[u8], node: &Snapshot) -> (Response, Option<Action>) {
    let request = match Request::parse(payload) {
        Ok(r) => r,
        Err(e) => {
            return (Response::error(e.to_string(), Request::salvage_transaction(payload)), None);
        }
    };
    let Request { body, transaction } = request;
    let no_fields = |cmd: &str| -> Option<Response> {
        let extra: Vec<&str> = body.keys().map(String::as_str).collect();
        (!extra.is_empty()).then(|| {
            Response::error(
                format!("`{cmd}` takes no fields, got: {}", extra.join(", ")),
                transaction.clone(),
            )
        })
    };
    match command {
        "info" => match no_fields("info") {
            Some(refusal) => (refusal, None),
            None => (Response::ok(info(node), transaction), None),
        },
        "health" => match no_fields("health") {
            Some(refusal) => (refusal, None),
            None => (Response::ok(health(node), transaction), None),
        },
        "restart" => match no_fields("restart") {
            Some(refusal) => (refusal, None),
            None => {
                (Response::ok(json!({ "restarting": true }), transaction), Some(Action::Restart))
            }
        },
        other => {
            let known = COMMANDS.join(", ");
            (
                Response::error(format!("unknown command `{other}`; known: {known}"), transaction),
                None,
            )
        }
    }
}

fn info(node: &Snapshot) -> Value {
    json!({
        "version": node.version,
        "node": node.node_id,
        "uptime_s": node.uptime_s,
        "services": node.services,
        "commands": COMMANDS,
        "config": node.config_summary,
    })
}

fn health(node: &Snapshot) -> Value {
    json!({
        "healthy": node.mqtt_connected,
        "uptime_s": node.uptime_s,
        "mqtt": {
            "connected": node.mqtt_connected,
            "outbox": node.outbox_len,
            "incoming_dropped": node.incoming_dropped,
        },
        "requests_refused": node.requests_refused,
    })
}

#[cfg(test)]
mod tests {
    use roomsense_core::api::Status;

    use super::*;

    fn node() -> Snapshot {
        Snapshot {
            version: "0.1.0".into(),
            node_id: "hall".into(),
            uptime_s: 42,
            services: vec!["node".into()],
            config_summary: json!({"node": {"id": "hall"}}),
            mqtt_connected: true,
            outbox_len: 0,
            incoming_dropped: 0,
            requests_refused: 0,
        }
    }

    #[test]
    fn info_reports_version_uptime_services_and_config() {
        let (r, action) = answer("info", br#"{"transaction":"a1"}"#, &node());
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.transaction, Some(json!("a1")));
        assert_eq!(r.data["version"], "0.1.0");
        assert_eq!(r.data["uptime_s"], 42);
        assert_eq!(r.data["services"], json!(["node"]));
        assert_eq!(r.data["config"]["node"]["id"], "hall");
        assert_eq!(action, None);
    }

    #[test]
    fn health_follows_the_link() {
        let mut n = node();
        n.mqtt_connected = false;
        let (r, _) = answer("health", b"", &n);
        assert_eq!(r.data["healthy"], false);
    }

    #[test]
    fn restart_is_acknowledged_then_carried_out() {
        let (r, action) = answer("restart", b"{}", &node());
        assert_eq!(r.status, Status::Ok);
        assert_eq!(action, Some(Action::Restart));
    }

    #[test]
    fn malformed_payloads_are_refused_and_change_nothing() {
        for payload in [&b"{not json"[..], b"[1,2]", b"\"text\"", br#"{"force":true}"#] {
            let (r, action) = answer("restart", payload, &node());
            assert_eq!(r.status, Status::Error, "{}", String::from_utf8_lossy(payload));
            assert!(r.error.is_some());
            assert_eq!(action, None);
        }
    }

    #[test]
    fn an_unknown_command_names_the_known_ones_and_keeps_the_transaction() {
        let (r, _) = answer("reboot", br#"{"transaction":9}"#, &node());
        assert_eq!(r.status, Status::Error);
        assert_eq!(r.transaction, Some(json!(9)));
        assert!(r.error.unwrap().contains("health, info, restart"));
    }
}
