//! ESPresense device messages (`espresense/devices/<id>/<node>`, v3 and v4 payloads) into readings.

use serde::Deserialize;

/// Why a message was not used. Small and allocation-free: the hot path counts these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// The topic is not `espresense/devices/<id>/<node>`.
    NotADeviceTopic,
    /// The payload is not a JSON object of the ESPresense shape.
    MalformedJson,
    /// The payload has no numeric `distance`.
    MissingDistance,
    /// A number is NaN, infinite or negative where it must not be.
    NonFinite,
    /// The reporting node is not in the house model.
    UnknownNode,
    /// The distance is beyond `tracking.max_distance_m`.
    OutOfRange,
    /// The id is excluded, or not included, by `tracking`.
    NotTracked,
    /// `tracking.max_devices` are already tracked.
    TooManyDevices,
    /// A `node:` beacon from a node that is not in the house model.
    UnknownBeacon,
}

impl Rejection {
    /// Every rejection, for counters and reports.
    pub const ALL: [Rejection; 9] = [
        Rejection::NotADeviceTopic,
        Rejection::MalformedJson,
        Rejection::MissingDistance,
        Rejection::NonFinite,
        Rejection::UnknownNode,
        Rejection::OutOfRange,
        Rejection::NotTracked,
        Rejection::TooManyDevices,
        Rejection::UnknownBeacon,
    ];

    /// Stable snake_case name for counters.
    pub fn name(self) -> &'static str {
        match self {
            Rejection::NotADeviceTopic => "not_a_device_topic",
            Rejection::MalformedJson => "malformed_json",
            Rejection::MissingDistance => "missing_distance",
            Rejection::NonFinite => "non_finite",
            Rejection::UnknownNode => "unknown_node",
            Rejection::OutOfRange => "out_of_range",
            Rejection::NotTracked => "not_tracked",
            Rejection::TooManyDevices => "too_many_devices",
            Rejection::UnknownBeacon => "unknown_beacon",
        }
    }
}

/// One node's measurement of one transmitter, as decoded from the payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Filtered distance (m).
    pub distance_m: f64,
    /// Distance variance (m²): v4's `var`; for v3, the square of `raw − distance`; else `None`.
    pub var_m2: Option<f64>,
    /// Filtered RSSI after receiver adjustment (dBm), if sent.
    pub rssi_dbm: Option<f64>,
    /// Reference RSSI at 1 m that the node used (dBm), if sent.
    pub rssi_at_1m_dbm: Option<f64>,
    /// The node's `rx_adj_rssi` echo (dB), if sent (v4).
    pub rx_adj_db: Option<f64>,
}

/// A decoded message: a device seen by a node, or one node's beacon seen by another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Message<'a> {
    /// A trackable device; `device` is the topic id, `node` the receiving node's slug.
    Device {
        /// Device id (topic segment), e.g. `irk:…`, `phone:darrell`.
        device: &'a str,
        /// Receiving node's room slug.
        node: &'a str,
        /// The measurement.
        report: Report,
    },
    /// A stationary node's iBeacon (`node:<tx>`) heard by `rx`: calibration data.
    Beacon {
        /// Transmitting node's slug (after `node:`).
        tx: &'a str,
        /// Receiving node's slug.
        rx: &'a str,
        /// The measurement.
        report: Report,
    },
    /// A topic under `espresense/devices/` that is not a location report (e.g. `/battery`).
    Other,
}

#[derive(Deserialize)]
struct Payload {
    distance: Option<f64>,
    var: Option<f64>,
    raw: Option<f64>,
    rssi: Option<f64>,
    #[serde(rename = "rssi@1m")]
    rssi_at_1m: Option<f64>,
    #[serde(rename = "rxAdj")]
    rx_adj: Option<f64>,
}

/// Decodes one MQTT message. Unknown payload keys are allowed (the firmware adds some often).
pub fn decode<'a>(topic: &'a str, payload: &[u8]) -> Result<Message<'a>, Rejection> {
    let rest = topic.strip_prefix("espresense/devices/").ok_or(Rejection::NotADeviceTopic)?;
    // The id may hold ':' but never '/', so the segments are id, node and an optional report.
    let mut parts = rest.split('/');
    let (Some(id), Some(node)) = (parts.next(), parts.next()) else {
        return Err(Rejection::NotADeviceTopic);
    };
    if id.is_empty() || node.is_empty() {
        return Err(Rejection::NotADeviceTopic);
    }
    if parts.next().is_some() {
        return Ok(Message::Other);
    }
    let p: Payload = serde_json::from_slice(payload).map_err(|_| Rejection::MalformedJson)?;
    let distance_m = p.distance.ok_or(Rejection::MissingDistance)?;
    let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
    if !distance_m.is_finite()
        || distance_m < 0.0
        || !finite(p.var)
        || !finite(p.raw)
        || !finite(p.rssi)
        || !finite(p.rssi_at_1m)
        || !finite(p.rx_adj)
        || p.var.is_some_and(|v| v < 0.0)
    {
        return Err(Rejection::NonFinite);
    }
    let var_m2 = p.var.or(p.raw.map(|raw| (raw - distance_m).powi(2)));
    let report = Report {
        distance_m,
        var_m2,
        rssi_dbm: p.rssi,
        rssi_at_1m_dbm: p.rssi_at_1m,
        rx_adj_db: p.rx_adj,
    };
    Ok(match id.strip_prefix("node:") {
        Some(tx) => Message::Beacon { tx, rx: node, report },
        None => Message::Device { device: id, node, report },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v4_payload_gives_distance_variance_and_rssi() {
        let m = decode(
            "espresense/devices/irk:ec0234a357c8ad05341010a60a397d9b/kitchen",
            br#"{"mac":"7081940dfbaa","id":"irk:ec0234a357c8ad05341010a60a397d9b","rssi@1m":-65,"rssi":-71.42,"rxAdj":0,"rssiVar":3.18,"distance":1.67,"var":0.21,"int":1130}"#,
        )
        .expect("valid");
        let Message::Device { device, node, report } = m else { panic!("device") };
        assert_eq!(device, "irk:ec0234a357c8ad05341010a60a397d9b");
        assert_eq!(node, "kitchen");
        assert_eq!(report.distance_m, 1.67);
        assert_eq!(report.var_m2, Some(0.21));
        assert_eq!(report.rssi_at_1m_dbm, Some(-65.0));
    }

    #[test]
    fn a_v3_payload_takes_its_variance_from_raw_and_filtered_distance() {
        let m = decode(
            "espresense/devices/watch:darrell/office_alt",
            br#"{"mac":"58b1294494d3","id":"watch:darrell","name":"Darrell's Watch","idType":250,"rssi@1m":-76,"rssi":-66,"raw":0.36,"distance":0.38,"int":584}"#,
        )
        .expect("valid");
        let Message::Device { report, .. } = m else { panic!("device") };
        assert!((report.var_m2.expect("var") - 0.0004).abs() < 1e-9);
    }

    #[test]
    fn a_node_beacon_is_calibration_data_not_a_device() {
        let m = decode(
            "espresense/devices/node:hall/kitchen",
            br#"{"id":"node:hall","distance":3.2,"rssi":-70,"rssi@1m":-59}"#,
        )
        .expect("valid");
        assert!(matches!(m, Message::Beacon { tx: "hall", rx: "kitchen", .. }));
    }

    #[test]
    fn a_battery_sub_report_is_not_a_location() {
        assert_eq!(
            decode("espresense/devices/x/kitchen/battery", br#"{"battery":90}"#),
            Ok(Message::Other)
        );
    }

    #[test]
    fn malformed_json_missing_distance_and_non_finite_numbers_are_rejected() {
        let t = "espresense/devices/a/b";
        assert_eq!(decode(t, b"{not json"), Err(Rejection::MalformedJson));
        assert_eq!(decode(t, b"[1,2]"), Err(Rejection::MalformedJson));
        assert_eq!(decode(t, br#"{"distance":"near"}"#), Err(Rejection::MalformedJson));
        assert_eq!(decode(t, br#"{"rssi":-60}"#), Err(Rejection::MissingDistance));
        assert_eq!(decode(t, br#"{"distance":NaN}"#), Err(Rejection::MalformedJson));
        assert!(decode(t, br#"{"distance":1e999}"#).is_err());
        assert_eq!(decode(t, br#"{"distance":-1}"#), Err(Rejection::NonFinite));
        assert_eq!(decode(t, br#"{"distance":1,"var":-2}"#), Err(Rejection::NonFinite));
    }

    #[test]
    fn topics_outside_the_device_tree_are_rejected() {
        let p = br#"{"distance":1}"#;
        assert_eq!(decode("espresense/rooms/kitchen/status", p), Err(Rejection::NotADeviceTopic));
        assert_eq!(decode("espresense/devices/onlyid", p), Err(Rejection::NotADeviceTopic));
        assert_eq!(decode("espresense/devices//kitchen", p), Err(Rejection::NotADeviceTopic));
    }
}
