//! Writes the demo's BLE trace (`services/ble/demo/trace.jsonl`, replayed in a loop by
//! `roomsense demo`) to stdout: one minute of a real-world-shaped room, deterministic.
//!
//! `cargo run -p roomsense-ble --example demo_trace > services/ble/demo/trace.jsonl`
//!
//! The cast: a phone rotating resolvable private addresses under the demo IRK and walking from
//! 1.5 m to 7.5 m and back; an iBeacon key tag at 2.5 m; a Tile; an Eddystone UID beacon; a
//! pvvx Mi thermometer (temperature, humidity, battery); two strangers' iPhones (Apple nearby,
//! count-only ids), one close enough to be counted; one-shot random addresses.

use std::f64::consts::PI;
use std::io::Write;

use roomsense_ble::{Address, AddressType, Advertisement, BleUuid, DEMO_IRK, Irk, TraceWriter, ah};

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;
const SECONDS: u64 = 60;

/// A small deterministic noise source (LCG), ±`amp` dB.
struct Noise(u64);
impl Noise {
    fn next(&mut self, amp: f64) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) * amp
    }
}

/// RSSI of a transmitter with `rssi_1m` at `d` metres, path-loss exponent 2.7, plus noise.
fn rssi(rssi_1m: f64, d: f64, noise: &mut Noise) -> i8 {
    (rssi_1m - 27.0 * d.log10() + noise.next(2.5)).round().clamp(-127.0, 0.0) as i8
}

fn rpa(irk: &Irk, n: u32) -> Address {
    let b = n.wrapping_mul(2_654_435_761).to_be_bytes();
    let prand = [0x40 | (b[1] & 0x3f), b[2], b[3]];
    let h = ah(irk, prand);
    Address([prand[0], prand[1], prand[2], h[0], h[1], h[2]])
}

fn main() -> std::io::Result<()> {
    let irk = Irk::parse(DEMO_IRK).expect("the demo IRK should parse");
    let stdout = std::io::stdout();
    let mut w = TraceWriter::new(stdout.lock());
    let mut noise = Noise(7);
    let mut one_shot = 0u32;
    // 100 ms steps; each device advertises on its own period and phase.
    for step in 0..SECONDS * 10 {
        let t = step as f64 / 10.0;
        let ts = T0 + step * 100;
        if step % 5 == 0 {
            // The phone: Apple nearby (rssi@1m = ref_rssi, -65), walking; new address every 20 s.
            let d = 1.5 + 3.0 * (1.0 - (2.0 * PI * t / SECONDS as f64).cos());
            let addr = rpa(&irk, (step / 200) as u32);
            let mut a =
                Advertisement::new(ts, addr, AddressType::Random, rssi(-65.0, d, &mut noise));
            a.mfg.push((0x004c, vec![0x10, 0x05, 0x0b, 0x1c, 0x68, 0xdd]));
            w.write(&a)?;
        }
        if step % 10 == 3 {
            // Key tag iBeacon, power byte -59, 2.5 m.
            let mut a = Advertisement::new(
                ts + 30,
                Address([0xc4, 0x7e, 0x11, 0x22, 0x33, 0x44]),
                AddressType::Random,
                rssi(-59.0, 2.5, &mut noise),
            );
            let mut md = vec![0x02, 0x15];
            md.extend_from_slice(&[
                0xfd, 0xa5, 0x06, 0x93, 0xa4, 0xe2, 0x4f, 0xb1, 0xaf, 0xcf, 0xc6, 0xeb, 0x07, 0x64,
                0x78, 0x25,
            ]);
            md.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0xc5]);
            a.mfg.push((0x004c, md));
            w.write(&a)?;
        }
        if step % 20 == 7 {
            // Tile on a static random address, 4 m.
            let mut a = Advertisement::new(
                ts + 70,
                Address([0xd3, 0x5a, 0x9c, 0x01, 0x02, 0x03]),
                AddressType::Random,
                rssi(-69.0, 4.0, &mut noise),
            );
            a.uuids.push(BleUuid::U16(0xfeed));
            w.write(&a)?;
        }
        if step % 10 == 5 {
            // Eddystone UID, tx at 0 m -20 dBm (rssi@1m -61), 3 m.
            let mut a = Advertisement::new(
                ts + 50,
                Address([0xe2, 0x10, 0x20, 0x30, 0x40, 0x50]),
                AddressType::Random,
                rssi(-61.0, 3.0, &mut noise),
            );
            let mut sd = vec![0x00, 0xec];
            sd.extend_from_slice(&[0xed, 0xd1, 0xeb, 0xea, 0xc0, 0x4e, 0x5d, 0xef, 0xa0, 0x17]);
            sd.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
            a.svc_data.push((BleUuid::U16(0xfeaa), sd));
            w.write(&a)?;
        }
        if step % 50 == 11 {
            // pvvx Mi thermometer: 21.50 °C, 45.00 %, 2950 mV, 87 %, 3.5 m.
            let mac = [0xa4, 0xc1, 0x38, 0x0a, 0x0b, 0x0c];
            let mut a = Advertisement::new(
                ts + 10,
                Address(mac),
                AddressType::Public,
                rssi(-71.0, 3.5, &mut noise),
            );
            let mut sd: Vec<u8> = mac.iter().rev().copied().collect();
            sd.extend_from_slice(&2150i16.to_le_bytes());
            sd.extend_from_slice(&4500u16.to_le_bytes());
            sd.extend_from_slice(&2950u16.to_le_bytes());
            sd.extend_from_slice(&[87, (step / 50) as u8, 0x04]);
            a.name = Some("ATC_0A0B0C".into());
            a.svc_data.push((BleUuid::U16(0x181a), sd));
            w.write(&a)?;
        }
        if step % 10 == 2 || step % 10 == 8 {
            // Strangers' iPhones (non-resolvable private addresses): one at 1.5 m, one at 9 m.
            let (addr, d) = if step % 10 == 2 {
                ([0x2b, 0x61, 0x0e, 0x77, 0x19, 0xa4], 1.5)
            } else {
                ([0x1f, 0x03, 0x8d, 0x52, 0xc0, 0x3e], 9.0)
            };
            let mut a = Advertisement::new(
                ts + 20,
                Address(addr),
                AddressType::Random,
                rssi(-65.0, d, &mut noise),
            );
            a.mfg.push((0x004c, vec![0x10, 0x06, 0x1a, 0x1e, 0x16, 0xec, 0x7f, 0x61]));
            w.write(&a)?;
        }
        if step % 10 == 9 {
            // A one-shot random address: seen once, never reported.
            let b = one_shot.to_be_bytes();
            one_shot += 1;
            let a = Advertisement::new(
                ts + 90,
                Address([0x0c, 0xee, b[0], b[1], b[2], b[3]]),
                AddressType::Random,
                rssi(-80.0, 5.0, &mut noise),
            );
            w.write(&a)?;
        }
    }
    w.finish()?.flush()
}
