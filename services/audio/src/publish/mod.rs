//! The audio service's topics, payloads and Home Assistant entities: per microphone a
//! `voice` binary_sensor and a `level` sensor, on the node's device.

use roomsense_core::discovery::{Component, Device, DeviceDiscovery};
use roomsense_core::{Identity, Topic};
use serde::Serialize;

use crate::config::Mic;
use crate::domain::level::LevelReading;

/// One microphone's topics.
#[derive(Debug, Clone)]
pub(crate) struct MicTopics {
    /// `<prefix>/<node>/audio/<mic>/voice`: `ON`/`OFF`, retained.
    pub(crate) voice: Topic,
    /// `<prefix>/<node>/audio/<mic>/level`: dB, retained.
    pub(crate) level: Topic,
    /// `<prefix>/<node>/audio/<mic>/level/attributes`: the window's readings as JSON.
    pub(crate) level_attributes: Topic,
}

impl MicTopics {
    pub(crate) fn new(identity: &Identity, mic: &str) -> Self {
        let t = |levels: &str| {
            identity
                .service_topic(&format!("{mic}/{levels}"))
                .expect("a mic id is a checked slug, so should form a topic")
        };
        Self { voice: t("voice"), level: t("level"), level_attributes: t("level/attributes") }
    }
}

/// The `level/attributes` payload.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LevelAttributes {
    /// RMS level, dBFS.
    pub(crate) rms_dbfs: f64,
    /// A-weighted RMS level, dBFS.
    pub(crate) a_weighted_dbfs: f64,
    /// Peak, dBFS.
    pub(crate) peak_dbfs: f64,
    /// The window, seconds.
    pub(crate) window_s: f64,
}

/// What `level` carries: the A-weighted level plus the microphone's calibration, to 0.1 dB.
pub(crate) fn level_payload(reading: &LevelReading, calibration_db: f64) -> String {
    format!("{:.1}", reading.a_weighted_dbfs + calibration_db)
}

pub(crate) fn level_attributes(reading: &LevelReading) -> Vec<u8> {
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let a = LevelAttributes {
        rms_dbfs: round(reading.rms_dbfs),
        a_weighted_dbfs: round(reading.a_weighted_dbfs),
        peak_dbfs: round(reading.peak_dbfs),
        window_s: reading.samples as f64 / 16_000.0,
    };
    serde_json::to_vec(&a).expect("plain numbers should always serialize")
}

/// The service's device-discovery message: a voice binary_sensor and a level sensor per mic.
pub(crate) fn discovery(
    identity: &Identity,
    model: &str,
    mics: &[(Mic, MicTopics)],
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(identity, Device::of_node(identity, model));
    for (mic, topics) in mics {
        d.add(
            Component::binary_sensor(
                &format!("{}_voice", mic.id),
                Some(&format!("{} voice", mic.name)),
                &topics.voice,
            )
            .device_class("sound")
            .icon("mdi:account-voice"),
        )
        .add(
            Component::sensor(
                &format!("{}_level", mic.id),
                Some(&format!("{} sound level", mic.name)),
                &topics.level,
            )
            .device_class("sound_pressure")
            .unit("dB")
            .state_class("measurement")
            .precision(1)
            .json_attributes_topic(&topics.level_attributes),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use roomsense_core::config::{MqttConfig, NodeConfig};

    use super::*;
    use crate::sources::SourceSpec;

    fn identity() -> Identity {
        let node = NodeConfig::new("hall", "hallway", "/tmp");
        Identity::new(&node, &MqttConfig::default(), "audio")
    }

    #[test]
    fn each_mic_has_voice_and_level_under_the_audio_service() {
        let t = MicTopics::new(&identity(), "desk");
        assert_eq!(t.voice.as_str(), "roomsense/hall/audio/desk/voice");
        assert_eq!(t.level.as_str(), "roomsense/hall/audio/desk/level");
        assert_eq!(t.level_attributes.as_str(), "roomsense/hall/audio/desk/level/attributes");
    }

    #[test]
    fn discovery_has_a_binary_sensor_and_a_sensor_per_mic_on_the_nodes_device() {
        let id = identity();
        let mic = Mic {
            id: "desk".into(),
            name: "Desk".into(),
            source: SourceSpec::Sample { pause: std::time::Duration::ZERO },
            calibration_db: 0.0,
        };
        let d = discovery(&id, "test", &[(mic, MicTopics::new(&id, "desk"))]);
        let v: serde_json::Value = serde_json::from_slice(&d.payload(&Default::default())).unwrap();
        assert_eq!(d.topic().as_str(), "homeassistant/device/hall_audio/config");
        assert_eq!(v["device"]["identifiers"][0], "roomsense_hall");
        let voice = &v["components"]["roomsense_hall_audio_desk_voice"];
        assert_eq!(voice["platform"], "binary_sensor");
        assert_eq!(voice["state_topic"], "roomsense/hall/audio/desk/voice");
        assert_eq!(voice["device_class"], "sound");
        let level = &v["components"]["roomsense_hall_audio_desk_level"];
        assert_eq!(level["platform"], "sensor");
        assert_eq!(level["unit_of_measurement"], "dB");
        assert_eq!(level["json_attributes_topic"], "roomsense/hall/audio/desk/level/attributes");
    }

    #[test]
    fn the_level_is_a_plain_number_with_the_calibration_added() {
        let r = LevelReading {
            rms_dbfs: -40.04,
            a_weighted_dbfs: -42.46,
            peak_dbfs: -30.0,
            samples: 16_000,
        };
        assert_eq!(level_payload(&r, 0.0), "-42.5");
        assert_eq!(level_payload(&r, 94.0), "51.5");
        assert_eq!(
            String::from_utf8(level_attributes(&r)).unwrap(),
            r#"{"rms_dbfs":-40.0,"a_weighted_dbfs":-42.5,"peak_dbfs":-30.0,"window_s":1.0}"#
        );
    }
}
