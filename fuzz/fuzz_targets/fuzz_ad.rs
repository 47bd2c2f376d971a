//! Raw advertising data → parser → the whole tracker: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roomsense_ble::{Address, AddressType, Advertisement, NodeSettings, Now, Tracker, parse_ad_into};

fuzz_target!(|data: &[u8]| {
    // The first 7 bytes choose the address and its type; the rest is the payload.
    if data.len() < 7 {
        return;
    }
    let mut addr = [0u8; 6];
    addr.copy_from_slice(&data[..6]);
    let t = if data[6] & 1 == 0 { AddressType::Public } else { AddressType::Random };
    let mut a = Advertisement::new(1_700_000_000_000, Address(addr), t, -(data[6] as i8 & 0x7f));
    if parse_ad_into(&data[7..], &mut a).is_ok() {
        let mut tracker = Tracker::new(NodeSettings { skip_ms: 0, ..NodeSettings::default() }, 16);
        if let Some(r) = tracker.handle(&a, Now::from_wall(a.ts_ms)) {
            let _ = r.payload.to_json();
        }
    }
});
