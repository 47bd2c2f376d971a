//! The demo's BLE input: one minute of a living room (written by `examples/demo_trace.rs`),
//! replayed in a loop by `roomsense demo`.

use super::replay::{ReplayLoop, Speed};

/// The demo trace, JSONL in the trace format.
pub const DEMO_TRACE: &str = include_str!("../../demo/trace.jsonl");

/// The IRK of the demo trace's phone (its id is `irk:<this>`); the demo config knows it.
pub const DEMO_IRK: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The demo trace, looping at recorded speed.
pub fn demo_source() -> ReplayLoop {
    ReplayLoop::new(DEMO_TRACE, "demo/trace.jsonl", Speed::Factor(1.0))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::BleConfig;
    use crate::domain::tracker::{Now, Tracker};
    use crate::sources::SourceEvent;
    use crate::sources::replay::ReplaySource;

    #[test]
    fn the_demo_trace_gives_the_demo_its_cast_of_devices() {
        let config = BleConfig::demo().validate("living_room").unwrap();
        let mut t = Tracker::new(config.settings, config.max_devices);
        let mut r = ReplaySource::new(DEMO_TRACE.as_bytes(), "demo", Speed::Max);
        let mut reports: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        let mut max_count = 0;
        while let Some(ev) = r.next_unpaced().unwrap() {
            let SourceEvent::Advert(adv) = ev else { panic!("the demo trace has no bad line") };
            let now = Now::from_wall(adv.ts_ms);
            if let Some(rep) = t.handle(&adv, now) {
                reports.entry(rep.id).or_default().push(rep.payload.distance);
            }
            max_count = max_count.max(t.tick(now).count);
        }
        let ids: Vec<&str> = reports.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                // Both strangers' iPhones share one count-only id, reported like any other.
                "apple:1006:10",
                "eddy:edd1ebeac0c04e5defa017-000000000001",
                "iBeacon:fda50693-a4e2-4fb1-afcf-c6eb07647825-1-2",
                "irk:0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "miTherm:a4c1380a0b0c",
                "tile:d35a9c010203",
            ]
        );
        // The phone walks away and comes back under rotating addresses, one id throughout.
        let phone = &reports["irk:0f1e2d3c4b5a69788796a5b4c3d2e1f0"];
        let (near, far) =
            phone.iter().fold((f32::MAX, 0f32), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
        assert!(near < 3.0 && far > 5.0, "{phone:?}");
        assert_eq!(max_count, 1, "the close stranger is counted, the far one is not");
    }
}
