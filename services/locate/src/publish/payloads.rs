//! The JSON the locator publishes: device attributes, its counters, calibration proposals.
//! Serde structs with `BTreeMap`s, rounded, so an equal state gives equal bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::calibration::CalibrationProposal;
use crate::domain::house::House;
use crate::domain::lease::Role;
use crate::domain::locator::{Counters, DeviceLocation};
use crate::domain::message::Rejection;

/// `<prefix>/devices/<id>/attributes`. Rounded (10 cm, 0.01) so noise below what matters does
/// not republish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Attributes<'a> {
    /// Room id, `unknown` or `not_home`, as on the state topic.
    pub(crate) room: &'a str,
    /// The room's display name, when in a room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) room_name: Option<&'a str>,
    /// Floor id, when known.
    pub(crate) floor: Option<&'a str>,
    /// Position (m), when the estimator computes one.
    pub(crate) x: Option<f64>,
    /// Position (m).
    pub(crate) y: Option<f64>,
    /// Position (m).
    pub(crate) z: Option<f64>,
    /// 0 to 1.
    pub(crate) confidence: f64,
    /// The nodes whose reports were used.
    pub(crate) nodes: Vec<&'a str>,
    /// The estimator that decided.
    pub(crate) estimator: &'a str,
    /// The node whose locator published this.
    pub(crate) locator: &'a str,
}

impl<'a> Attributes<'a> {
    pub(crate) fn new(
        house: &'a House,
        loc: &'a DeviceLocation,
        estimator: &'a str,
        locator: &'a str,
    ) -> Self {
        let tenth = |v: f64| (v * 10.0).round() / 10.0;
        let room_name = match loc.place {
            crate::domain::locator::Place::Room(r) => Some(house.rooms[r].name.as_str()),
            _ => None,
        };
        Attributes {
            room: loc.state(house),
            room_name,
            floor: loc.floor.map(|f| house.floors[f].id.as_str()),
            x: loc.point.map(|p| tenth(p[0])),
            y: loc.point.map(|p| tenth(p[1])),
            z: loc.point.map(|p| tenth(p[2])),
            confidence: (loc.confidence * 100.0).round() / 100.0,
            nodes: loc.nodes.iter().map(|&n| house.nodes[n].id.as_str()).collect(),
            estimator,
            locator,
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("attributes should always serialize")
    }
}

/// `<prefix>/<node>/locate/stats`: this locator's role and counters since start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Stats {
    /// `leader`, `claiming` or `standby`.
    pub(crate) role: &'static str,
    /// Devices tracked.
    pub(crate) devices: usize,
    /// Reports that updated a location.
    pub(crate) located: u64,
    /// Node-to-node beacons logged for calibration.
    pub(crate) beacons: u64,
    /// Messages that were not location reports.
    pub(crate) ignored: u64,
    /// Rejected messages in all.
    pub(crate) rejected_total: u64,
    /// Rejected messages by reason (only reasons seen).
    pub(crate) rejected: BTreeMap<&'static str, u64>,
    /// Reports dropped because the locator fell behind.
    pub(crate) incoming_dropped: u64,
}

impl Stats {
    pub(crate) fn new(role: Role, devices: usize, c: &Counters, incoming_dropped: u64) -> Self {
        let rejected: BTreeMap<&'static str, u64> = Rejection::ALL
            .iter()
            .map(|&r| (r.name(), c.rejected(r)))
            .filter(|&(_, n)| n > 0)
            .collect();
        Stats {
            role: role_name(role),
            devices,
            located: c.located,
            beacons: c.beacons,
            ignored: c.ignored,
            rejected_total: rejected.values().sum(),
            rejected,
            incoming_dropped,
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("stats should always serialize")
    }
}

/// The role's name on the wire.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Claiming => "claiming",
        Role::Standby => "standby",
    }
}

/// One node's proposal, as published and as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NodeCalibration {
    /// Proposed `rx_adj_rssi` (dB).
    pub(crate) rx_adj_rssi: i32,
    /// Proposed `absorption`.
    pub(crate) absorption: f64,
    /// What the node reports using now, when it says.
    pub(crate) current_rx_adj_rssi: Option<f64>,
    /// The absorption the node uses now, as recovered from its reports.
    pub(crate) current_absorption: Option<f64>,
    /// Transmitters (other nodes) the fit used.
    pub(crate) transmitters: usize,
    /// RMS range error to the other nodes now (m).
    pub(crate) rmse_before_m: f64,
    /// RMS range error with the proposal (m).
    pub(crate) rmse_after_m: f64,
    /// Whether the proposal lowers the error (`apply_calibration` without nodes applies these).
    pub(crate) improves: bool,
}

impl From<&CalibrationProposal> for NodeCalibration {
    fn from(p: &CalibrationProposal) -> Self {
        let cm = |v: f64| (v * 100.0).round() / 100.0;
        NodeCalibration {
            rx_adj_rssi: p.rx_adj_rssi,
            absorption: p.absorption,
            current_rx_adj_rssi: p.current_rx_adj_rssi,
            current_absorption: p.current_absorption.map(cm),
            transmitters: p.transmitters,
            rmse_before_m: cm(p.rmse_before_m),
            rmse_after_m: cm(p.rmse_after_m),
            improves: p.rmse_after_m < p.rmse_before_m,
        }
    }
}

/// `<prefix>/locate/calibration`: every node's proposal, by node.
pub(crate) fn calibration(proposals: &[CalibrationProposal]) -> BTreeMap<&str, NodeCalibration> {
    proposals.iter().map(|p| (p.node.as_str(), NodeCalibration::from(p))).collect()
}

/// What Home Assistant object ids can hold: `a-z0-9_`, other runs become one `_`.
pub(crate) fn slug(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() { "device".to_owned() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_letters_and_digits_and_fold_the_rest() {
        assert_eq!(slug("watch:darrell"), "watch_darrell");
        assert_eq!(
            slug("iBeacon:e5ca1ade-f007-ba11-0000-000000000000-100-1"),
            "ibeacon_e5ca1ade_f007_ba11_0000_000000000000_100_1"
        );
        assert_eq!(slug("::"), "device");
    }

    #[test]
    fn stats_list_only_the_rejections_seen_and_their_total() {
        let mut c = Counters::default();
        c.rejected[1] = 2;
        c.rejected[4] = 1;
        let s = Stats::new(Role::Leader, 3, &c, 0);
        let json: serde_json::Value = serde_json::from_slice(&s.to_bytes()).unwrap();
        assert_eq!(json["role"], "leader");
        assert_eq!(json["rejected_total"], 3);
        assert_eq!(json["rejected"], serde_json::json!({"malformed_json": 2, "unknown_node": 1}));
    }
}
