//! Commands arriving on `.../set`: Home Assistant's plain `ON`/`OFF`, or a JSON object (with an
//! optional `transaction`, echoed in the answer). Anything else is refused with a reason and
//! changes nothing.

use std::time::Duration;

use serde_json::{Map, Value};

use super::light::LightCommand;

/// A command that was understood.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed<T> {
    /// The command.
    pub command: T,
    /// The caller's transaction.
    pub transaction: Option<Value>,
}

/// A command that was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refused {
    /// Why.
    pub error: String,
    /// The caller's transaction, when it could be read.
    pub transaction: Option<Value>,
}

/// A switch command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SwitchCommand {
    /// Turn on.
    On,
    /// Turn off.
    Off,
    /// Turn over.
    Toggle,
}

/// A buzzer command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuzzerCommand {
    /// Play the named pattern.
    Play(String),
    /// Fall silent.
    Stop,
}

/// The longest fade a command may ask for, seconds.
pub(crate) const MAX_TRANSITION_S: f64 = 3600.0;

enum Body {
    Text(String),
    Json(Map<String, Value>),
}

fn body(payload: &[u8]) -> Result<(Body, Option<Value>), Refused> {
    let refuse = |error: String| Refused { error, transaction: None };
    let text =
        std::str::from_utf8(payload).map_err(|_| refuse("command is not UTF-8 text".into()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(refuse("empty command".into()));
    }
    if !text.starts_with('{') {
        if text.len() > 64 {
            return Err(refuse("command too long".into()));
        }
        return Ok((Body::Text(text.to_owned()), None));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| refuse(format!("command is not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else { unreachable!("text starts with `{{`") };
    let transaction = map.remove("transaction");
    Ok((Body::Json(map), transaction))
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown key `{k}` (allowed: {})", allowed.join(", "))),
        None => Ok(()),
    }
}

fn on_off(text: &str) -> Result<SwitchCommand, String> {
    match text.to_ascii_uppercase().as_str() {
        "ON" => Ok(SwitchCommand::On),
        "OFF" => Ok(SwitchCommand::Off),
        "TOGGLE" => Ok(SwitchCommand::Toggle),
        _ => Err(format!("`{text}` is not a state (allowed: ON, OFF, TOGGLE)")),
    }
}

fn state_of(map: &Map<String, Value>) -> Result<Option<SwitchCommand>, String> {
    match map.get("state") {
        None => Ok(None),
        Some(Value::String(s)) => on_off(s).map(Some),
        Some(other) => Err(format!("state must be \"ON\", \"OFF\" or \"TOGGLE\", not {other}")),
    }
}

/// A relay command: `ON`, `OFF`, `TOGGLE`, or `{"state": "ON"}`.
pub(crate) fn switch(payload: &[u8]) -> Result<Parsed<SwitchCommand>, Refused> {
    let (body, transaction) = body(payload)?;
    let refuse = |error: String| Refused { error, transaction: transaction.clone() };
    let command = match body {
        Body::Text(t) => on_off(&t).map_err(refuse)?,
        Body::Json(map) => {
            only_keys(&map, &["state"]).map_err(refuse)?;
            state_of(&map).map_err(refuse)?.ok_or_else(|| refuse("missing key `state`".into()))?
        }
    };
    Ok(Parsed { command, transaction })
}

/// A light command, Home Assistant's JSON schema: `{"state": "ON", "brightness": 0-255,
/// "transition": seconds}`, or plain `ON`/`OFF`. `on` is the light's state now (for TOGGLE).
pub(crate) fn light(payload: &[u8], on: bool) -> Result<Parsed<LightCommand>, Refused> {
    let (body, transaction) = body(payload)?;
    let refuse = |error: String| Refused { error, transaction: transaction.clone() };
    let turn = |c: SwitchCommand| match c {
        SwitchCommand::On => true,
        SwitchCommand::Off => false,
        SwitchCommand::Toggle => !on,
    };
    let command = match body {
        Body::Text(t) => LightCommand {
            on: turn(on_off(&t).map_err(refuse)?),
            brightness: None,
            transition: None,
        },
        Body::Json(map) => {
            only_keys(&map, &["state", "brightness", "transition"]).map_err(refuse)?;
            let state = state_of(&map).map_err(refuse)?;
            let brightness = match map.get("brightness") {
                None => None,
                Some(v) => Some(
                    v.as_u64()
                        .filter(|b| *b <= 255)
                        .and_then(|b| u8::try_from(b).ok())
                        .ok_or_else(|| {
                            refuse(format!("brightness {v} is out of range (allowed: 0 to 255)"))
                        })?,
                ),
            };
            let transition = match map.get("transition") {
                None => None,
                Some(v) => Some(
                    v.as_f64()
                        .filter(|t| (0.0..=MAX_TRANSITION_S).contains(t))
                        .map(Duration::from_secs_f64)
                        .ok_or_else(|| {
                            refuse(format!(
                                "transition {v} is out of range (allowed: 0 to {MAX_TRANSITION_S} seconds)"
                            ))
                        })?,
                ),
            };
            let on = match state {
                Some(c) => turn(c),
                None if brightness.is_some() => true,
                None => return Err(refuse("missing key `state`".into())),
            };
            LightCommand { on, brightness, transition }
        }
    };
    Ok(Parsed { command, transaction })
}

/// A buzzer command: a pattern's name or `STOP`, plain or as `{"pattern": "..."}`.
pub(crate) fn buzzer<'a>(
    payload: &[u8],
    patterns: impl IntoIterator<Item = &'a String> + Clone,
) -> Result<Parsed<BuzzerCommand>, Refused> {
    let (body, transaction) = body(payload)?;
    let refuse = |error: String| Refused { error, transaction: transaction.clone() };
    let name = match body {
        Body::Text(t) => t,
        Body::Json(map) => {
            only_keys(&map, &["pattern"]).map_err(refuse)?;
            match map.get("pattern") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(refuse(format!("pattern must be a name, not {other}"))),
                None => return Err(refuse("missing key `pattern`".into())),
            }
        }
    };
    if name.eq_ignore_ascii_case("stop") {
        return Ok(Parsed { command: BuzzerCommand::Stop, transaction });
    }
    if patterns.clone().into_iter().any(|p| *p == name) {
        return Ok(Parsed { command: BuzzerCommand::Play(name), transaction });
    }
    let known: Vec<&str> = patterns.into_iter().map(String::as_str).collect();
    Err(refuse(format!("unknown pattern `{name}` (allowed: {}, STOP)", known.join(", "))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn home_assistants_plain_payloads_and_json_are_both_understood() {
        assert_eq!(switch(b"ON").unwrap().command, SwitchCommand::On);
        assert_eq!(switch(b" off\n").unwrap().command, SwitchCommand::Off);
        let p = switch(br#"{"state":"TOGGLE","transaction":42}"#).unwrap();
        assert_eq!((p.command, p.transaction), (SwitchCommand::Toggle, Some(json!(42))));
    }

    #[test]
    fn malformed_switch_commands_are_refused_with_the_transaction_kept() {
        assert!(switch(b"").unwrap_err().error.contains("empty"));
        assert!(switch(b"MAYBE").unwrap_err().error.contains("allowed: ON, OFF, TOGGLE"));
        assert!(switch(b"{nope").unwrap_err().error.contains("not valid JSON"));
        assert!(switch(&[0xff, 0xfe]).unwrap_err().error.contains("UTF-8"));
        let r = switch(br#"{"state":1,"transaction":"t"}"#).unwrap_err();
        assert_eq!(r.transaction, Some(json!("t")));
        assert!(
            switch(br#"{"state":"ON","colour":"red"}"#)
                .unwrap_err()
                .error
                .contains("unknown key `colour`")
        );
        assert!(switch(br#"{}"#).unwrap_err().error.contains("missing key `state`"));
    }

    #[test]
    fn light_commands_follow_home_assistants_json_schema() {
        let c =
            light(br#"{"state":"ON","brightness":128,"transition":1.5}"#, false).unwrap().command;
        assert_eq!(
            c,
            LightCommand {
                on: true,
                brightness: Some(128),
                transition: Some(Duration::from_millis(1500))
            }
        );
        assert!(light(br#"{"brightness":10}"#, false).unwrap().command.on);
        assert!(!light(b"TOGGLE", true).unwrap().command.on);
        assert!(
            light(br#"{"state":"ON","brightness":256}"#, false)
                .unwrap_err()
                .error
                .contains("0 to 255")
        );
        assert!(
            light(br#"{"state":"ON","brightness":-1}"#, false)
                .unwrap_err()
                .error
                .contains("0 to 255")
        );
        assert!(
            light(br#"{"state":"ON","transition":-2}"#, false)
                .unwrap_err()
                .error
                .contains("transition")
        );
        assert!(
            light(br#"{"transition":2}"#, false).unwrap_err().error.contains("missing key `state`")
        );
    }

    #[test]
    fn buzzer_commands_name_a_known_pattern_or_stop() {
        let names = ["beep".to_owned(), "alarm".to_owned()];
        assert_eq!(buzzer(b"beep", &names).unwrap().command, BuzzerCommand::Play("beep".into()));
        assert_eq!(
            buzzer(br#"{"pattern":"alarm"}"#, &names).unwrap().command,
            BuzzerCommand::Play("alarm".into())
        );
        assert_eq!(buzzer(b"STOP", &names).unwrap().command, BuzzerCommand::Stop);
        let e = buzzer(b"siren", &names).unwrap_err().error;
        assert!(e.contains("unknown pattern `siren` (allowed: beep, alarm, STOP)"), "{e}");
    }
}
