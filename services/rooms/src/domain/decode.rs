//! Payloads of the topics the service reads, checked: a bad one is rejected with the reason,
//! never a panic.

use super::fusion::{Feed, Observation};
use super::house::SensorRef;
use crate::topics::Inbound;

/// What a message says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heard {
    /// Evidence for the fusion.
    pub observation: Option<Observation>,
    /// A value for threshold triggers.
    pub value: Option<(SensorRef, f64)>,
}

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A count that is not a whole number from 0 to 1000.
    #[error("not a person count (0 to 1000)")]
    Count,
    /// Neither ON nor OFF.
    #[error("not ON or OFF")]
    Switch,
    /// Not a finite number.
    #[error("not a number")]
    Number,
    /// A room name that is not text of at most 64 bytes.
    #[error("not a room name")]
    Room,
}

/// Most people one camera is believed to count.
const MAX_COUNT: u32 = 1000;

/// Decodes `payload` of a topic decoded as `inbound`.
pub fn decode(inbound: Inbound, payload: &[u8]) -> Result<Heard, Rejection> {
    let text = std::str::from_utf8(payload).map(str::trim);
    Ok(match inbound {
        Inbound::Device { device } => {
            let room = text.map_err(|_| Rejection::Room)?;
            if room.len() > 64 || room.contains(['/', '+', '#']) {
                return Err(Rejection::Room);
            }
            // An empty (cleared) retained state means the locator forgot the device.
            let room = (!room.is_empty() && room != "not_home").then(|| room.to_owned());
            Heard { observation: Some(Observation::Device { device, room }), value: None }
        }
        Inbound::PersonCount { node, camera, zone } => {
            let count: u32 = text.ok().and_then(|t| t.parse().ok()).ok_or(Rejection::Count)?;
            if count > MAX_COUNT {
                return Err(Rejection::Count);
            }
            let feed =
                Feed::Vision { node: node.clone(), camera: camera.clone(), zone: zone.clone() };
            Heard {
                observation: Some(Observation::Count { feed, count }),
                value: Some((SensorRef::PersonCount { node, camera, zone }, f64::from(count))),
            }
        }
        Inbound::Voice { node, mic } => Heard {
            observation: Some(Observation::Switch {
                feed: Feed::Audio { node, mic },
                on: switch(text.ok())?,
            }),
            value: None,
        },
        Inbound::Input { node, input } => Heard {
            observation: Some(Observation::Switch {
                feed: Feed::Gpio { node, input },
                on: switch(text.ok())?,
            }),
            value: None,
        },
        Inbound::Level { node, mic } => Heard {
            observation: None,
            value: Some((SensorRef::MicLevel { node, mic }, number(text.ok())?)),
        },
        Inbound::Quantity { node, sensor, quantity } => Heard {
            observation: None,
            value: Some((SensorRef::Gpio { node, sensor, quantity }, number(text.ok())?)),
        },
    })
}

fn switch(text: Option<&str>) -> Result<bool, Rejection> {
    match text {
        Some(t) if t.eq_ignore_ascii_case("ON") => Ok(true),
        Some(t) if t.eq_ignore_ascii_case("OFF") => Ok(false),
        _ => Err(Rejection::Switch),
    }
}

fn number(text: Option<&str>) -> Result<f64, Rejection> {
    text.and_then(|t| t.parse::<f64>().ok()).filter(|v| v.is_finite()).ok_or(Rejection::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Inbound {
        Inbound::Input { node: "n1".into(), input: "pir".into() }
    }

    #[test]
    fn switches_accept_on_and_off_in_any_case() {
        for (payload, on) in [(&b"ON"[..], true), (b"off", false), (b" On\n", true)] {
            let h = decode(input(), payload).unwrap();
            let Some(Observation::Switch { on: got, .. }) = h.observation else { panic!() };
            assert_eq!(got, on);
        }
    }

    #[test]
    fn bad_payloads_are_rejected_with_the_reason() {
        assert_eq!(decode(input(), b"1"), Err(Rejection::Switch));
        assert_eq!(decode(input(), &[0xff, 0xfe]), Err(Rejection::Switch));
        let cam = || Inbound::PersonCount { node: "n".into(), camera: "c".into(), zone: None };
        assert_eq!(decode(cam(), b"-1"), Err(Rejection::Count));
        assert_eq!(decode(cam(), b"1.5"), Err(Rejection::Count));
        assert_eq!(decode(cam(), b"100000"), Err(Rejection::Count));
        let level = || Inbound::Level { node: "n".into(), mic: "m".into() };
        assert_eq!(decode(level(), b"NaN"), Err(Rejection::Number));
        assert_eq!(decode(level(), b"loud"), Err(Rejection::Number));
        let dev = || Inbound::Device { device: "d".into() };
        assert_eq!(decode(dev(), "x".repeat(65).as_bytes()), Err(Rejection::Room));
    }

    #[test]
    fn a_count_is_both_evidence_and_a_sensor_value() {
        let h =
            decode(Inbound::PersonCount { node: "n".into(), camera: "c".into(), zone: None }, b"2")
                .unwrap();
        assert!(matches!(h.observation, Some(Observation::Count { count: 2, .. })));
        assert_eq!(h.value.unwrap().1, 2.0);
    }

    #[test]
    fn not_home_and_a_cleared_state_put_the_device_nowhere() {
        for payload in [&b"not_home"[..], b""] {
            let h = decode(Inbound::Device { device: "d".into() }, payload).unwrap();
            assert_eq!(h.observation, Some(Observation::Device { device: "d".into(), room: None }));
        }
    }
}
