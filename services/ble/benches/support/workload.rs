//! A deterministic, real-world-shaped advert mix for the benches: iBeacons, phones rotating
//! resolvable private addresses under a known IRK, Tiles, Apple nearby from strangers, and
//! one-shot random addresses.

use roomsense_ble::{
    Address, AddressType, Advertisement, Irk, NodeSettings, Now, Tracker, ah, parse_ad_into,
};

/// A tiny LCG: benches need the same sequence every run, not good randomness.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 16
    }
}

/// One advert as a radio would hand it over: address, type, RSSI and raw AD bytes.
pub struct RawAdvert {
    pub addr: Address,
    pub addr_type: AddressType,
    pub rssi: i8,
    pub ad: Vec<u8>,
}

/// The IRKs of a node that knows `n` of them; the phones in the mix use the last one (worst case
/// for a linear scan).
pub fn irks(n: usize) -> Vec<Irk> {
    (0..n).map(|i| Irk([i as u8 + 1; 16])).collect()
}

fn rpa(irk: &Irk, rng: &mut Lcg) -> Address {
    let r = rng.next().to_be_bytes();
    let prand = [0x40 | (r[0] & 0x3f), r[1], r[2]];
    let h = ah(irk, prand);
    Address([prand[0], prand[1], prand[2], h[0], h[1], h[2]])
}

/// `n` adverts of the mix. `phone_irk` is the IRK the phones rotate under.
pub fn mix(n: usize, phone_irk: Irk, seed: u64) -> Vec<RawAdvert> {
    let mut rng = Lcg(seed);
    let mut phone_addrs: Vec<Address> = (0..3).map(|_| rpa(&phone_irk, &mut rng)).collect();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let rssi = -50 - (rng.next() % 40) as i8;
        let k = rng.next() % 100;
        let adv = if k < 40 {
            // 10 iBeacons on static random addresses.
            let b = (rng.next() % 10) as u8;
            let mut ad = vec![0x02, 0x01, 0x06, 0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15];
            ad.extend_from_slice(&[
                0xe2, 0xc5, 0x6d, 0xb5, 0xdf, 0xfb, 0x48, 0xd2, 0xb0, 0x60, 0xd0, 0xf5, 0xa7, 0x10,
                0x96, 0xe0,
            ]);
            ad.extend_from_slice(&[0x00, 0x01, 0x00, b, 0xc5]);
            RawAdvert {
                addr: Address([0xc1, 0, 0, 0, 0, b]),
                addr_type: AddressType::Random,
                rssi,
                ad,
            }
        } else if k < 70 {
            // 3 phones: Apple nearby from a rotating RPA (rotation every ~500 adverts).
            let p = (rng.next() % 3) as usize;
            if i % 500 == 0 {
                phone_addrs[p] = rpa(&phone_irk, &mut rng);
            }
            let ad = vec![
                0x02, 0x01, 0x1a, 0x02, 0x0a, 0x0c, 0x0a, 0xff, 0x4c, 0x00, 0x10, 0x05, 0x0b, 0x1c,
                0x68, 0xdd,
            ];
            RawAdvert { addr: phone_addrs[p], addr_type: AddressType::Random, rssi, ad }
        } else if k < 90 {
            // 10 Tiles on static random addresses.
            let t = (rng.next() % 10) as u8;
            let ad =
                vec![0x02, 0x01, 0x06, 0x03, 0x03, 0xed, 0xfe, 0x05, 0x09, b'T', b'i', b'l', b'e'];
            RawAdvert {
                addr: Address([0xd2, 0, 0, 0, 1, t]),
                addr_type: AddressType::Random,
                rssi,
                ad,
            }
        } else {
            // A stranger's phone: one-shot RPA no IRK resolves (every known IRK is tried).
            let r = rng.next().to_be_bytes();
            let addr = Address([0x40 | (r[0] & 0x3f), r[1], r[2], r[3], r[4], r[5]]);
            let ad = vec![
                0x02, 0x01, 0x1a, 0x0a, 0xff, 0x4c, 0x00, 0x10, 0x06, 0x1a, 0x1e, 0x16, 0xec, 0x7f,
            ];
            RawAdvert { addr, addr_type: AddressType::Random, rssi, ad }
        };
        out.push(adv);
    }
    out
}

/// A tracker that knows `n_irks` IRKs (the phones' last), bounded at 10,000 devices.
pub fn tracker(n_irks: usize) -> (Tracker, Irk) {
    let keys = irks(n_irks.max(1));
    let phone = *keys.last().expect("at least one irk");
    let known = if n_irks == 0 { Vec::new() } else { keys };
    (Tracker::new(NodeSettings { known_irks: known, ..NodeSettings::default() }, 10_000), phone)
}

/// Parse → fingerprint → IRK lookup → filter → report decision for one advert.
pub fn step(t: &mut Tracker, raw: &RawAdvert, now_ms: u64) -> bool {
    let mut adv = Advertisement::new(now_ms, raw.addr, raw.addr_type, raw.rssi);
    if parse_ad_into(&raw.ad, &mut adv).is_err() {
        t.note_rejected();
        return false;
    }
    t.handle(&adv, Now::from_wall(now_ms)).is_some()
}
