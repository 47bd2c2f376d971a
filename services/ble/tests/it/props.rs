//! Property tests: no input makes the parsers or the tracker panic.

use proptest::prelude::*;
use roomsense_ble::{
    Address, AddressType, Advertisement, NodeSettings, Now, Tracker, parse_ad_into, parse_line,
};

fn ad_structure() -> impl Strategy<Value = Vec<u8>> {
    // Mostly well-formed structures of interesting types, with random lengths and contents.
    (
        prop::sample::select(vec![
            0x01u8, 0x02, 0x03, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x16, 0x20, 0x21, 0xff, 0x42,
        ]),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(t, d)| {
            let mut v = vec![(d.len() + 1) as u8, t];
            v.extend(d);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_parse_or_are_rejected_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut a = Advertisement::new(0, Address([0x4a, 0, 0, 0, 0, 1]), AddressType::Random, -60);
        let _ = parse_ad_into(&bytes, &mut a);
    }

    #[test]
    fn structured_adverts_go_through_the_whole_pipeline_without_panic(
        structures in prop::collection::vec(ad_structure(), 0..6),
        addr in any::<[u8; 6]>(),
        public in any::<bool>(),
        rssi in any::<i8>(),
        ts in 0u64..u64::MAX / 2,
    ) {
        let t = if public { AddressType::Public } else { AddressType::Random };
        let mut a = Advertisement::new(ts, Address(addr), t, rssi);
        let bytes: Vec<u8> = structures.concat();
        if parse_ad_into(&bytes, &mut a).is_ok() {
            let mut tracker = Tracker::new(NodeSettings { skip_ms: 0, ..NodeSettings::default() }, 16);
            if let Some(r) = tracker.handle(&a, Now::from_wall(ts)) {
                let json = r.payload.to_json();
                prop_assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "{json}");
            }
            tracker.tick(Now::from_wall(ts + 1));
        }
    }

    #[test]
    fn any_trace_line_parses_or_is_rejected_without_panic(line in ".{0,200}") {
        let _ = parse_line(&line);
    }

    #[test]
    fn any_setting_payload_is_applied_or_rejected_without_panic(key in "[a-z_]{1,16}", payload in ".{0,40}") {
        let mut t = Tracker::new(NodeSettings::default(), 16);
        let _ = t.apply_setting(&key, &payload, Now::from_wall(0));
        let _ = t.apply_device_config(&key, payload.as_bytes(), Now::from_wall(0));
    }
}
