//! The locator's requests (`<prefix>/locate/request/<cmd>` → `.../response/<cmd>`, the
//! management API's envelope): read calibration proposals, apply them. Pure: proposals in, a
//! response and the ESPresense `/set` commands to send out. A bad request changes nothing.

use std::collections::BTreeMap;

use roomsense_core::api::{Request, Response};
use serde_json::{Value, json};

use super::payloads::{self, NodeCalibration};
use crate::domain::calibration::CalibrationProposal;

/// The commands, for error messages.
pub(crate) const COMMANDS: &[&str] = &["calibration", "apply_calibration"];

/// An ESPresense setting to write: `espresense/rooms/<node>/<setting>/set` ← `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetCommand {
    pub(crate) node: String,
    pub(crate) setting: &'static str,
    pub(crate) value: String,
}

/// Answers `command` with `payload`, given the current proposals.
pub(crate) fn answer(
    command: &str,
    payload: &[u8],
    proposals: &[CalibrationProposal],
) -> (Response, Vec<SetCommand>) {
    let Request { body, transaction } = match Request::parse(payload) {
        Ok(r) => r,
        Err(e) => {
            return (
                Response::error(e.to_string(), Request::salvage_transaction(payload)),
                Vec::new(),
            );
        }
    };
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !(command == "apply_calibration" && *k == "nodes"))
        .collect();
    if !unknown.is_empty() && COMMANDS.contains(&command) {
        return (
            Response::error(
                format!("`{command}` does not take: {}", unknown.join(", ")),
                transaction,
            ),
            Vec::new(),
        );
    }
    match command {
        "calibration" => (
            Response::ok(json!({ "nodes": payloads::calibration(proposals) }), transaction),
            Vec::new(),
        ),
        "apply_calibration" => match chosen(body.get("nodes"), proposals) {
            Ok(chosen) => {
                let mut applied = BTreeMap::new();
                let mut commands = Vec::new();
                for p in chosen {
                    commands.push(SetCommand {
                        node: p.node.clone(),
                        setting: "rx_adj_rssi",
                        value: p.rx_adj_rssi.to_string(),
                    });
                    commands.push(SetCommand {
                        node: p.node.clone(),
                        setting: "absorption",
                        value: format!("{:.2}", p.absorption),
                    });
                    applied.insert(p.node.as_str(), NodeCalibration::from(p));
                }
                (Response::ok(json!({ "applied": applied }), transaction), commands)
            }
            Err(e) => (Response::error(e, transaction), Vec::new()),
        },
        other => (
            Response::error(
                format!("unknown command `{other}`: use one of {}", COMMANDS.join(", ")),
                transaction,
            ),
            Vec::new(),
        ),
    }
}

/// The proposals named in `nodes`, or without it every proposal that lowers the range error.
fn chosen<'a>(
    nodes: Option<&Value>,
    proposals: &'a [CalibrationProposal],
) -> Result<Vec<&'a CalibrationProposal>, String> {
    let Some(nodes) = nodes else {
        return Ok(proposals.iter().filter(|p| p.rmse_after_m < p.rmse_before_m).collect());
    };
    let names: Vec<&str> = nodes
        .as_array()
        .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
        .ok_or("`nodes` must be a list of node names")?;
    names
        .iter()
        .map(|n| {
            proposals.iter().find(|p| p.node == *n).ok_or_else(|| {
                let known: Vec<&str> = proposals.iter().map(|p| p.node.as_str()).collect();
                format!(
                    "no calibration proposal for `{n}`; proposals exist for: {}",
                    if known.is_empty() {
                        "none yet (no node beacons heard)".into()
                    } else {
                        known.join(", ")
                    }
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(node: &str, before: f64, after: f64) -> CalibrationProposal {
        CalibrationProposal {
            node: node.into(),
            rx_adj_rssi: -4,
            absorption: 2.85,
            current_rx_adj_rssi: Some(0.0),
            current_absorption: Some(2.7),
            transmitters: 3,
            rmse_before_m: before,
            rmse_after_m: after,
        }
    }

    #[test]
    fn applying_without_nodes_sets_only_proposals_that_help() {
        let ps = [proposal("kitchen", 2.0, 0.5), proposal("hall", 0.5, 0.9)];
        let (r, cmds) = answer("apply_calibration", br#"{"transaction":7}"#, &ps);
        assert_eq!(r.transaction, Some(json!(7)));
        assert_eq!(
            cmds,
            [
                SetCommand { node: "kitchen".into(), setting: "rx_adj_rssi", value: "-4".into() },
                SetCommand { node: "kitchen".into(), setting: "absorption", value: "2.85".into() },
            ]
        );
    }

    #[test]
    fn applying_named_nodes_sets_them_and_an_unknown_one_changes_nothing() {
        let ps = [proposal("kitchen", 2.0, 0.5), proposal("hall", 0.5, 0.9)];
        let (_, cmds) = answer("apply_calibration", br#"{"nodes":["hall"]}"#, &ps);
        assert_eq!(cmds.len(), 2);
        assert!(cmds.iter().all(|c| c.node == "hall"));
        let (r, cmds) = answer("apply_calibration", br#"{"nodes":["hall","attic"]}"#, &ps);
        assert!(cmds.is_empty());
        assert!(r.error.unwrap().contains("no calibration proposal for `attic`"));
    }

    #[test]
    fn malformed_and_unknown_requests_are_refused() {
        let (r, cmds) = answer("apply_calibration", b"{nope", &[]);
        assert!(r.error.is_some() && cmds.is_empty());
        let (r, _) = answer("reboot", b"", &[]);
        assert!(r.error.unwrap().contains("use one of calibration, apply_calibration"));
        let (r, _) = answer("calibration", br#"{"x":1}"#, &[]);
        assert!(r.error.unwrap().contains("does not take: x"));
        let (r, _) = answer("apply_calibration", br#"{"nodes":"hall"}"#, &[]);
        assert!(r.error.unwrap().contains("must be a list"));
    }

    #[test]
    fn the_proposals_are_listed_by_node() {
        let (r, _) = answer("calibration", b"", &[proposal("kitchen", 2.0, 0.5)]);
        assert_eq!(r.data["nodes"]["kitchen"]["absorption"], 2.85);
        assert_eq!(r.data["nodes"]["kitchen"]["improves"], true);
    }
}
