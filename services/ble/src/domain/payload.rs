//! The JSON payloads ESPresense v4 publishes and reads, as serde structs in firmware field order.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::tracker::{Stats, TickOutcome};

/// Serialises a number with exactly two decimals as a raw JSON number (`serialized(String(x,2))`).
fn two_dp<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    if !v.is_finite() {
        return s.serialize_none();
    }
    let raw = RawValue::from_string(format!("{v:.2}")).map_err(serde::ser::Error::custom)?;
    raw.serialize(s)
}

fn two_dp_opt<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => two_dp(v, s),
        None => s.serialize_none(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `espresense/devices/<id>/<room>`: one report of one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevicePayload {
    /// Current advertiser address, 12 lower-case hex.
    pub mac: String,
    /// The device id (also the topic segment).
    pub id: String,
    /// Advertised or configured name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The reference RSSI at 1 m used.
    #[serde(rename = "rssi@1m")]
    pub rssi_1m: i16,
    /// Filtered, receiver-adjusted RSSI, dBm.
    #[serde(serialize_with = "two_dp")]
    pub rssi: f32,
    /// Echo of the node's `rx_adj_rssi`.
    #[serde(rename = "rxAdj")]
    pub rx_adj: i16,
    /// RSSI variance in the window, dB².
    #[serde(rename = "rssiVar", serialize_with = "two_dp")]
    pub rssi_var: f32,
    /// Distance, metres.
    #[serde(serialize_with = "two_dp")]
    pub distance: f32,
    /// Distance variance, m².
    #[serde(serialize_with = "two_dp")]
    pub var: f32,
    /// Present (true) only while the device is very close.
    #[serde(skip_serializing_if = "is_false")]
    pub close: bool,
    /// Mean advert interval, ms.
    #[serde(rename = "int")]
    pub interval_ms: u64,
    /// Battery voltage, mV.
    #[serde(rename = "mV", skip_serializing_if = "Option::is_none")]
    pub mv: Option<u16>,
    /// Battery, %.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batt: Option<u8>,
    /// Temperature, °C.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "two_dp_opt")]
    pub temp: Option<f32>,
    /// Relative humidity, %.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "two_dp_opt")]
    pub rh: Option<f32>,
}

impl DevicePayload {
    /// The JSON bytes to publish.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("device payload should always serialise")
    }
}

/// `espresense/rooms/<room>/telemetry`: the firmware's keys that mean something on a Pi, plus
/// `rejected` (adverts dropped as corrupt).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TelemetryPayload {
    /// Node IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Seconds since start.
    pub uptime: u64,
    /// Build flavour.
    pub firm: String,
    /// Version.
    pub ver: String,
    /// Devices counted now (only when `count_ids` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Adverts since the last telemetry.
    pub adverts: u64,
    /// Devices first seen since the last telemetry.
    pub seen: u64,
    /// Reports since the last telemetry.
    pub reported: u64,
    /// Adverts rejected as corrupt since the last telemetry.
    pub rejected: u64,
    /// Devices currently tracked.
    pub fingerprints: u64,
}

impl TelemetryPayload {
    /// Builds the telemetry from the tracker's counters (taken since the last telemetry) and the
    /// last tick; `count` appears only when `count_ids` is set, as in the firmware.
    pub fn new(
        stats: &Stats,
        tick: &TickOutcome,
        count_ids_set: bool,
        uptime_s: u64,
        ip: Option<String>,
    ) -> Self {
        TelemetryPayload {
            ip,
            uptime: uptime_s,
            firm: "roomsense".into(),
            ver: env!("CARGO_PKG_VERSION").into(),
            count: count_ids_set.then_some(tick.count),
            adverts: stats.adverts,
            seen: stats.seen,
            reported: stats.reported,
            rejected: stats.rejected,
            fingerprints: tick.tracked as u64,
        }
    }
}

/// `espresense/settings/<id>/config`: an alias and calibration for one device id. Unknown keys
/// (Companion's `x`, `y`, `z`, `originalId`) are ignored, as the firmware does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Alias id; different from the topic id means "report as this id" (idType 250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Friendly name, reported as `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Per-device reference RSSI at 1 m (highest priority).
    #[serde(rename = "rssi@1m", default, skip_serializing_if = "Option::is_none")]
    pub rssi_1m: Option<i16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_payload_has_firmware_field_order_and_two_decimals() {
        let p = DevicePayload {
            mac: "7081940dfbaa".into(),
            id: "irk:ec0234a357c8ad05341010a60a397d9b".into(),
            name: None,
            rssi_1m: -65,
            rssi: -71.421,
            rx_adj: 0,
            rssi_var: 3.0,
            distance: 1.666,
            var: 0.21,
            close: false,
            interval_ms: 1130,
            mv: None,
            batt: None,
            temp: None,
            rh: None,
        };
        assert_eq!(
            p.to_json(),
            r#"{"mac":"7081940dfbaa","id":"irk:ec0234a357c8ad05341010a60a397d9b","rssi@1m":-65,"rssi":-71.42,"rxAdj":0,"rssiVar":3.00,"distance":1.67,"var":0.21,"int":1130}"#
        );
    }

    #[test]
    fn telemetry_has_count_only_when_counting_is_configured() {
        let stats = Stats { adverts: 10, seen: 2, reported: 3, ..Stats::default() };
        let tick = TickOutcome { count: 1, tracked: 2 };
        let json =
            serde_json::to_string(&TelemetryPayload::new(&stats, &tick, false, 5, None)).unwrap();
        assert!(!json.contains("count") && json.contains(r#""adverts":10"#), "{json}");
        let t = TelemetryPayload::new(&stats, &tick, true, 5, Some("10.0.0.2".into()));
        assert_eq!(t.count, Some(1));
    }

    #[test]
    fn device_config_ignores_companion_extras() {
        let c: DeviceConfig = serde_json::from_str(
            r#"{"id":"phone:al","name":"Al","rssi@1m":-60,"x":1,"originalId":"irk:00"}"#,
        )
        .unwrap();
        assert_eq!(c.id.as_deref(), Some("phone:al"));
        assert_eq!(c.rssi_1m, Some(-60));
    }
}
