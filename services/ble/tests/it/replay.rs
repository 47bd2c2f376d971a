//! A real-world-shaped trace, written with the trace writer and replayed through the tracker:
//! iBeacon, Eddystone, Tile, phones rotating private addresses under a known IRK, Apple nearby
//! from strangers, a corrupt line, and a flood of 10,000 one-shot random addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Write};

use roomsense_ble::{
    Address, AddressType, Advertisement, BleUuid, Irk, NodeSettings, Now, ReplaySource,
    SourceEvent, Speed, TraceWriter, Tracker, ah,
};

const IRK: &str = "ec0234a357c8ad05341010a60a397d9b";
const T0: u64 = 1_700_000_000_000;

fn rpa(irk: &Irk, n: u32) -> Address {
    let b = n.to_be_bytes();
    let prand = [0x40 | (b[1] & 0x3f), b[2], b[3]];
    let h = ah(irk, prand);
    Address([prand[0], prand[1], prand[2], h[0], h[1], h[2]])
}

fn write_trace(path: &std::path::Path) {
    let irk = Irk::parse(IRK).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = TraceWriter::new(std::io::BufWriter::new(file));
    let mut flood = 0u32;
    for i in 0..600u64 {
        let ts = T0 + i * 100;
        let rssi = -60 - (i % 7) as i8;
        let mut beacon =
            Advertisement::new(ts, Address([0xc1, 0, 0, 0, 0, 1]), AddressType::Random, rssi);
        beacon.mfg.push((0x004c, [&[0x02, 0x15][..], &[0x11; 16], &[0, 7, 0, 9, 0xc5]].concat()));
        w.write(&beacon).unwrap();
        let mut eddy =
            Advertisement::new(ts + 10, Address([0xc2, 0, 0, 0, 0, 2]), AddressType::Random, rssi);
        eddy.svc_data
            .push((BleUuid::U16(0xfeaa), [&[0x00, 0xe8][..], &[0x22; 10], &[0x33; 6]].concat()));
        w.write(&eddy).unwrap();
        let mut tile =
            Advertisement::new(ts + 20, Address([0xd3, 0, 0, 0, 0, 3]), AddressType::Random, rssi);
        tile.uuids.push(BleUuid::U16(0xfeed));
        w.write(&tile).unwrap();
        // The phone rotates its address every 15 s (150 adverts).
        let mut phone =
            Advertisement::new(ts + 30, rpa(&irk, (i / 150) as u32), AddressType::Random, rssi);
        phone.mfg.push((0x004c, vec![0x10, 0x05, 0x0b, 0x1c, 0x68, 0xdd]));
        phone.tx_power = Some(12);
        w.write(&phone).unwrap();
        // A stranger's iPhone on a fixed private address.
        let mut stranger =
            Advertisement::new(ts + 40, Address([0x5e, 1, 2, 3, 4, 5]), AddressType::Random, -80);
        stranger.mfg.push((0x004c, vec![0x10, 0x06, 0x1a, 0x1e, 0x16, 0xec, 0x7f, 0x61]));
        w.write(&stranger).unwrap();
        // ~17 one-shot random addresses per 100 ms: 10,000 over the trace.
        for _ in 0..17 {
            if flood < 10_000 {
                let b = flood.to_be_bytes();
                let a = Advertisement::new(
                    ts + 50,
                    Address([0x0f, 0xee, b[0], b[1], b[2], b[3]]),
                    AddressType::Random,
                    -90,
                );
                w.write(&a).unwrap();
                flood += 1;
            }
        }
    }
    let mut out = w.finish().unwrap();
    out.write_all(b"{\"ts_ms\":1,\"addr\":\"not a mac\"}\n").unwrap();
}

#[test]
fn a_real_world_shaped_trace_replays_into_stable_espresense_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    write_trace(&path);

    let settings =
        NodeSettings { known_irks: vec![Irk::parse(IRK).unwrap()], ..NodeSettings::default() };
    let mut t = Tracker::new(settings, 2_000);
    let reader = BufReader::new(std::fs::File::open(&path).unwrap());
    let mut replay = ReplaySource::new(reader, path.display().to_string(), Speed::Max);
    let mut macs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut reports = 0;
    let mut next_tick = T0;
    while let Some(ev) = replay.next_unpaced().unwrap() {
        let adv = match ev {
            SourceEvent::Advert(a) => a,
            SourceEvent::Rejected(_) => {
                t.note_rejected();
                continue;
            }
        };
        let now = Now::from_wall(adv.ts_ms);
        if adv.ts_ms >= next_tick {
            t.tick(now);
            next_tick = adv.ts_ms + 5_000;
        }
        if let Some(r) = t.handle(&adv, now) {
            reports += 1;
            macs.entry(r.id).or_default().insert(r.payload.mac);
        }
        assert!(t.len() <= 2_000, "the device table stays within its bound");
    }

    let ids: Vec<&str> = macs.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "apple:1006:10",
            "eddy:2222222222222222222222-333333333333",
            "iBeacon:11111111-1111-1111-1111-111111111111-7-9",
            &format!("irk:{IRK}"),
            "tile:d30000000003",
        ],
        "the phone reports only as its IRK; the one-shot flood never reports"
    );
    assert_eq!(macs[&format!("irk:{IRK}")].len(), 4, "one id across four rotating addresses");
    let stats = t.take_stats();
    assert_eq!(stats.rejected, 1, "the corrupt last line is counted");
    assert_eq!(replay.rejected(), 1);
    assert!(stats.seen >= 10_004 && stats.evicted > 0, "{stats:?}");
    // Every 5 s slot yields about one report per device (60 s of trace, 5 devices).
    assert!((50..=90).contains(&reports), "{reports} reports");
}
