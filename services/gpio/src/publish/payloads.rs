//! State payloads: what Home Assistant's templates-free defaults expect.

use serde::Serialize;

use crate::domain::environment::Reading;
use crate::domain::light::LightState;

/// `ON` / `OFF`.
pub(crate) fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

#[derive(Serialize)]
struct LightPayload {
    state: &'static str,
    brightness: u8,
    color_mode: &'static str,
}

/// A JSON-schema light state.
pub(crate) fn light_state(s: LightState) -> Vec<u8> {
    serde_json::to_vec(&LightPayload {
        state: on_off(s.on),
        brightness: s.brightness,
        color_mode: "brightness",
    })
    .expect("a light state should serialize")
}

/// `(quantity, text)` for each value of a reading: 2 decimals of °C, 1 of % and hPa.
pub(crate) fn reading(r: &Reading) -> [(&'static str, String); 3] {
    [
        ("temperature", format!("{:.2}", r.temperature_c)),
        ("humidity", format!("{:.1}", r.humidity_pct)),
        ("pressure", format!("{:.1}", r.pressure_hpa)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_states_give_equal_bytes() {
        let s = LightState { on: true, brightness: 128 };
        assert_eq!(light_state(s), light_state(s));
        assert_eq!(
            String::from_utf8(light_state(s)).unwrap(),
            r#"{"state":"ON","brightness":128,"color_mode":"brightness"}"#
        );
    }
}
