//! The vision service's topics, payloads and Home Assistant entities.
//!
//! `<prefix>/<node>/vision/<camera>/person` (count) and `.../occupancy` (`ON`/`OFF`), the same
//! under `.../<camera>/zone/<zone>/`, `.../<camera>/diagnostics` (JSON counters),
//! `.../<camera>/snapshot` (JPEG, only when snapshots are on), `.../vision/model` (JSON).

use roomsense_core::discovery::{Component, Device, DeviceDiscovery};
use roomsense_core::{Identity, Topic};
use serde::Serialize;

use crate::config::CameraSettings;
use crate::domain::occupancy::Presence;

/// One place's topics.
#[derive(Debug, Clone)]
pub(crate) struct PlaceTopics {
    pub(crate) person: Topic,
    pub(crate) occupancy: Topic,
}

/// One camera's topics.
#[derive(Debug, Clone)]
pub(crate) struct CameraTopics {
    pub(crate) view: PlaceTopics,
    pub(crate) zones: Vec<PlaceTopics>,
    pub(crate) diagnostics: Topic,
    pub(crate) snapshot: Topic,
}

fn topic(id: &Identity, levels: &str) -> Topic {
    id.service_topic(levels).expect("camera and zone ids are checked slugs, so should form a topic")
}

impl CameraTopics {
    pub(crate) fn new(id: &Identity, camera: &CameraSettings) -> Self {
        let place = |base: String| PlaceTopics {
            person: topic(id, &format!("{base}/person")),
            occupancy: topic(id, &format!("{base}/occupancy")),
        };
        Self {
            view: place(camera.id.clone()),
            zones: camera
                .zones
                .iter()
                .map(|z| place(format!("{}/zone/{}", camera.id, z.id)))
                .collect(),
            diagnostics: topic(id, &format!("{}/diagnostics", camera.id)),
            snapshot: topic(id, &format!("{}/snapshot", camera.id)),
        }
    }
}

/// `<prefix>/<node>/vision/model`.
pub(crate) fn model_topic(id: &Identity) -> Topic {
    topic(id, "model")
}

/// The payloads of one place: the count, and `ON`/`OFF`.
pub(crate) fn presence_payloads(p: Presence) -> (String, &'static str) {
    (p.count.to_string(), if p.occupied { "ON" } else { "OFF" })
}

/// What `.../vision/model` says.
#[derive(Debug, Serialize)]
pub(crate) struct ModelState<'a> {
    /// `loading`, `loaded` or `error`.
    pub(crate) state: &'a str,
    /// The manifest entry.
    pub(crate) entry: &'a str,
    /// The error, when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Load time, when loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) load_ms: Option<u64>,
}

/// The service's entities: per camera and zone a people count and an occupancy sensor, the
/// camera's diagnostics, the model's state, and a snapshot image only when snapshots are on.
pub(crate) fn discovery(
    id: &Identity,
    model: &str,
    cameras: &[(CameraSettings, CameraTopics)],
    snapshot: bool,
) -> DeviceDiscovery {
    let mut d = DeviceDiscovery::new(id, Device::of_node(id, model));
    d.add(
        Component::sensor("model", Some("Person model"), &model_topic(id))
            .value_template("{{ value_json.state }}")
            .json_attributes_topic(&model_topic(id))
            .entity_category("diagnostic")
            .icon("mdi:brain"),
    );
    for (cam, topics) in cameras {
        let places = std::iter::once((cam.id.clone(), cam.name.clone(), &topics.view)).chain(
            cam.zones.iter().zip(&topics.zones).map(|(z, t)| {
                (format!("{}_{}", cam.id, z.id), format!("{} {}", cam.name, z.name), t)
            }),
        );
        for (key, name, t) in places {
            d.add(
                Component::sensor(
                    &format!("{key}_person"),
                    Some(&format!("{name} people")),
                    &t.person,
                )
                .state_class("measurement")
                .icon("mdi:account-multiple"),
            )
            .add(
                Component::binary_sensor(
                    &format!("{key}_occupancy"),
                    Some(&format!("{name} occupancy")),
                    &t.occupancy,
                )
                .device_class("occupancy"),
            );
        }
        d.add(
            Component::sensor(
                &format!("{}_frames_rejected", cam.id),
                Some(&format!("{} frames rejected", cam.name)),
                &topics.diagnostics,
            )
            .value_template("{{ value_json.frames_rejected }}")
            .json_attributes_topic(&topics.diagnostics)
            .state_class("total_increasing")
            .entity_category("diagnostic")
            .icon("mdi:image-broken"),
        );
        if snapshot {
            d.add(Component::image(
                &format!("{}_snapshot", cam.id),
                Some(&format!("{} snapshot", cam.name)),
                &topics.snapshot,
                "image/jpeg",
            ));
        }
    }
    d
}
