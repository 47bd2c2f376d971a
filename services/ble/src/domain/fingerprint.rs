//! ESPresense v4's id ladder: which id an advertisement proposes, at which `idType`, and the
//! reference-RSSI hints it carries. Ids are formatted only when they win (see [`IdSpec::format`]).

use std::fmt::Write;

use super::address::Address;
use super::advert::Advertisement;
use super::hex;
use super::text::kebabify;
use super::uuid::BleUuid;

/// The `idType` priority ladder (`BleFingerprint.h`): the highest type seen for a device wins.
#[allow(missing_docs)]
pub mod id_type {
    pub const ECHO_LOST: i16 = -10;
    pub const MISC_APPLE: i16 = -5;
    pub const RAND_MAC: i16 = 1;
    pub const RAND_STATIC_MAC: i16 = 5;
    pub const AD: i16 = 10;
    pub const SD: i16 = 15;
    pub const MD: i16 = 20;
    pub const MISC: i16 = 30;
    pub const FINDMY: i16 = 32;
    pub const NAME: i16 = 35;
    pub const MSFT: i16 = 40;
    pub const PUBLIC_MAC: i16 = 55;
    pub const SONOS: i16 = 105;
    pub const GARMIN: i16 = 107;
    pub const MITHERM: i16 = 110;
    pub const MIFIT: i16 = 115;
    pub const EXPOSURE: i16 = 120;
    pub const SMARTTAG: i16 = 121;
    pub const ITAG: i16 = 125;
    pub const ITRACK: i16 = 127;
    pub const NUT: i16 = 128;
    pub const FLORA: i16 = 129;
    pub const TRACKR: i16 = 130;
    pub const TILE: i16 = 135;
    pub const MEATER: i16 = 140;
    pub const TRACTIVE: i16 = 142;
    pub const VANMOOF: i16 = 145;
    pub const DEXA: i16 = 146;
    pub const APPLE_NEARBY: i16 = 150;
    pub const QUERY_MODEL: i16 = 155;
    pub const QUERY_NAME: i16 = 160;
    pub const EBEACON: i16 = 170;
    pub const ABEACON: i16 = 175;
    pub const IBEACON: i16 = 180;
    pub const KNOWN_IRK: i16 = 200;
    pub const KNOWN_MAC: i16 = 210;
    pub const ALIAS: i16 = 250;
}

/// TX-power constants (`rssi.h`), added to `ref_rssi` when no TX Power AD is advertised.
mod tx {
    pub(super) const DEFAULT: i16 = -6;
    pub(super) const TILE: i16 = -4;
    pub(super) const ITAG: i16 = -10;
    pub(super) const NUT: i16 = -12;
    pub(super) const FLORA: i16 = -10;
    pub(super) const EXPOSURE: i16 = -12;
}

/// `ref_rssi + DEFAULT_TX`: the rssi@1m of a device with no better hint (−71 with defaults).
pub fn default_rssi_1m(ref_rssi: i16) -> i16 {
    ref_rssi + tx::DEFAULT
}

/// An id, not yet formatted: formatting allocates, and most adverts of a known device propose an
/// id that does not beat the one it has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IdSpec<'a> {
    /// `name:<kebab(name)>`.
    Name(&'a str),
    /// `<prefix><mac>`, e.g. `tile:` + 12 hex; the empty prefix is the plain MAC id.
    Mac(&'static str),
    /// A fixed id such as `apple:findmy`.
    Fixed(&'static str),
    /// `<prefix><uuid>-<major>-<minor>` (`iBeacon:` or `altBeacon:`).
    Beacon {
        /// `iBeacon:` or `altBeacon:`.
        prefix: &'static str,
        /// Proximity UUID, big-endian.
        uuid: [u8; 16],
        /// Major.
        major: u16,
        /// Minor.
        minor: u16,
    },
    /// `apple:<b2><b3>:<len>[tx]`.
    AppleNearby {
        /// `d[2]`, `d[3]`.
        b: [u8; 2],
        /// Manufacturer data length including the company id.
        len: usize,
        /// TX power AD.
        tx: Option<i8>,
    },
    /// `msft:cdp:<b3><b5>`.
    Msft([u8; 2]),
    /// `md:<cid>:<len>[tx]`.
    Md {
        /// Company id.
        cid: u16,
        /// Manufacturer data length including the company id.
        len: usize,
        /// TX power AD.
        tx: Option<i8>,
    },
    /// `ad:<all listed uuids>[tx]`.
    Ad(&'a [BleUuid], Option<i8>),
    /// `sd:<uuids of unrecognised service data>[tx]`.
    Sd(&'a [(BleUuid, Vec<u8>)], Option<i8>),
    /// `exp:<len>`.
    Exposure(usize),
    /// `smarttag:<len>`.
    SmartTag(usize),
    /// `eddy:<namespace with byte 6 twice>-<instance>`.
    Eddy([u8; 11], [u8; 6]),
}

/// Service-data UUIDs with a rule of their own (never part of an `sd:` id).
const KNOWN_SVC_DATA: [u16; 4] = [0xfd6f, 0xfd5a, 0x181a, 0xfeaa];

fn push_tx(s: &mut String, tx: Option<i8>) {
    // `String(-txPower)` appended with no separator: +12 dBm gives "-12", -8 dBm gives "8".
    if let Some(t) = tx {
        let _ = write!(s, "{}", -(t as i16));
    }
}

impl IdSpec<'_> {
    /// The id string, as ESPresense prints it.
    pub fn format(&self, addr: &Address) -> String {
        let mut s = String::with_capacity(48);
        match *self {
            IdSpec::Name(n) => {
                s.push_str("name:");
                s.push_str(&kebabify(n));
            }
            IdSpec::Mac(prefix) => {
                s.push_str(prefix);
                hex::push_hex(&mut s, &addr.0);
            }
            IdSpec::Fixed(id) => s.push_str(id),
            IdSpec::Beacon { prefix, uuid, major, minor } => {
                s.push_str(prefix);
                let _ = write!(s, "{}-{major}-{minor}", BleUuid::U128(uuid));
            }
            IdSpec::AppleNearby { b, len, tx } => {
                let _ = write!(s, "apple:{:02x}{:02x}:{len}", b[0], b[1]);
                push_tx(&mut s, tx);
            }
            IdSpec::Msft(b) => {
                let _ = write!(s, "msft:cdp:{:02x}{:02x}", b[0], b[1]);
            }
            IdSpec::Md { cid, len, tx } => {
                let _ = write!(s, "md:{cid:04x}:{len}");
                push_tx(&mut s, tx);
            }
            IdSpec::Ad(uuids, tx) => {
                s.push_str("ad:");
                for u in uuids {
                    let _ = write!(s, "{u}");
                }
                push_tx(&mut s, tx);
            }
            IdSpec::Sd(data, tx) => {
                s.push_str("sd:");
                for (u, _) in data.iter().filter(|(u, _)| !is_known_svc_data(u)) {
                    let _ = write!(s, "{u}");
                }
                push_tx(&mut s, tx);
            }
            IdSpec::Exposure(len) => {
                let _ = write!(s, "exp:{len}");
            }
            IdSpec::SmartTag(len) => {
                let _ = write!(s, "smarttag:{len}");
            }
            IdSpec::Eddy(ns, inst) => {
                s.push_str("eddy:");
                hex::push_hex(&mut s, &ns);
                s.push('-');
                hex::push_hex(&mut s, &inst);
            }
        }
        s
    }
}

fn is_known_svc_data(u: &BleUuid) -> bool {
    u.as_u16().is_some_and(|v| KNOWN_SVC_DATA.contains(&v))
}

/// Sensor values some adverts carry (pvvx/ATC thermometers, Eddystone TLM).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SensorReading {
    /// Temperature, °C.
    pub temp: Option<f32>,
    /// Relative humidity, %.
    pub rh: Option<f32>,
    /// Battery voltage, mV.
    pub mv: Option<u16>,
    /// Battery level, %.
    pub batt: Option<u8>,
}

/// What one advertisement says about its device.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Proposal<'a> {
    /// The best id this advert proposes and its idType (first proposal wins ties).
    pub best: Option<(i16, IdSpec<'a>)>,
    /// Beacon-advertised power at 1 m (iBeacon, AltBeacon, Eddystone).
    pub cal_rssi: Option<i16>,
    /// Manufacturer-derived rssi@1m.
    pub md_rssi: Option<i16>,
    /// Service-derived rssi@1m.
    pub as_rssi: Option<i16>,
    /// Sensor values, if the advert carries them.
    pub sensor: Option<SensorReading>,
}

impl<'a> Proposal<'a> {
    fn propose(&mut self, id_type: i16, spec: IdSpec<'a>) {
        // setId accepts only a strictly greater type; negative types never beat the address id.
        if id_type > 0 && self.best.is_none_or(|(t, _)| id_type > t) {
            self.best = Some((id_type, spec));
        }
    }
}

/// The UUID-list rules, in the order the firmware tests them: (uuid, prefix, type, tx constant).
const LIST_RULES: [(BleUuid, &str, i16, Option<i16>); 10] = [
    (BleUuid::U16(0xfe07), "sonos:", id_type::SONOS, None),
    (BleUuid::U16(0xfeed), "tile:", id_type::TILE, Some(tx::TILE)),
    (BleUuid::U16(0xffe0), "itag:", id_type::ITAG, Some(tx::ITAG)),
    (BleUuid::U16(0x0f3e), "trackr:", id_type::TRACKR, None),
    (BleUuid::U16(0x1803), "nut:", id_type::NUT, Some(tx::NUT)),
    (BleUuid::U16(0xfe95), "flora:", id_type::FLORA, Some(tx::FLORA)),
    (BleUuid::U16(0xfebc), "dexa:", id_type::DEXA, None),
    (
        BleUuid::U128([
            0x6a, 0xcc, 0x55, 0x40, 0xe6, 0x31, 0x40, 0x69, 0x94, 0x4d, 0xb8, 0xca, 0x75, 0x98,
            0xad, 0x50,
        ]),
        "vanmoof:",
        id_type::VANMOOF,
        None,
    ),
    (
        BleUuid::U128([
            0x20, 0x13, 0x00, 0x01, 0x07, 0x19, 0x4b, 0x6e, 0xbe, 0x5d, 0x15, 0x8a, 0xb9, 0x2f,
            0xa5, 0xa4,
        ]),
        "tractive:",
        id_type::TRACTIVE,
        None,
    ),
    (
        BleUuid::U128([
            0xa7, 0x5c, 0xc7, 0xfc, 0xc9, 0x56, 0x48, 0x8f, 0xac, 0x2a, 0x2d, 0xbc, 0x08, 0xb6,
            0x3a, 0x04,
        ]),
        "meater:",
        id_type::MEATER,
        None,
    ),
];

/// Runs ESPresense's `fingerprint()` over one advert: name, service-UUID list, service data,
/// manufacturer data, in that order. `ref_rssi` is the node's RSSI of a 0 dBm TX at 1 m.
pub fn propose(adv: &Advertisement, ref_rssi: i16) -> Proposal<'_> {
    let mut p = Proposal::default();
    let tx = adv.tx_power;
    let ref_tx = tx.map(|t| ref_rssi + t as i16);

    // kebabify keeps [a-z0-9_]: a name with none of them yields no id (checked without allocating).
    if let Some(name) = adv.name.as_deref()
        && name.bytes().any(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        p.propose(id_type::NAME, IdSpec::Name(name));
    }

    if !adv.uuids.is_empty() {
        match LIST_RULES.iter().find(|(u, ..)| adv.uuids.contains(u)) {
            Some(&(_, prefix, t, konst)) => {
                p.as_rssi = ref_tx.or(konst.map(|k| ref_rssi + k));
                p.propose(t, IdSpec::Mac(prefix));
            }
            None => p.propose(id_type::AD, IdSpec::Ad(&adv.uuids, tx)),
        }
    }

    let mut unknown_sd = false;
    for (uuid, s) in &adv.svc_data {
        match uuid.as_u16() {
            Some(0xfd6f) => {
                p.as_rssi = Some(ref_rssi + tx::EXPOSURE);
                p.propose(id_type::EXPOSURE, IdSpec::Exposure(s.len()));
            }
            Some(0xfd5a) => p.propose(id_type::SMARTTAG, IdSpec::SmartTag(s.len())),
            Some(0x181a) => {
                if let Some(reading) = mitherm(s) {
                    p.sensor = Some(reading);
                    p.propose(id_type::MITHERM, IdSpec::Mac("miTherm:"));
                }
            }
            Some(0xfeaa) => eddystone(s, &mut p),
            _ => unknown_sd = true,
        }
    }
    if unknown_sd {
        p.propose(id_type::SD, IdSpec::Sd(&adv.svc_data, tx));
    }

    // Only the first manufacturer-data AD is examined (NimBLE's getManufacturerData()).
    if let Some((cid, rest)) = adv.mfg.first() {
        manufacturer(*cid, rest, tx, ref_rssi, &mut p);
    }
    p
}

fn manufacturer<'a>(cid: u16, rest: &[u8], tx: Option<i8>, ref_rssi: i16, p: &mut Proposal<'a>) {
    // ESPresense indexes d[] including the two company-id bytes: d[2] is rest[0].
    let len = rest.len() + 2;
    let ref_tx = tx.map(|t| ref_rssi + t as i16);
    match cid {
        0x004c => {
            if len == 25 && rest[0] == 0x02 && rest[1] == 0x15 {
                let power = rest[22] as i8;
                if power == 3 {
                    p.propose(id_type::ECHO_LOST, IdSpec::Fixed(""));
                } else {
                    p.cal_rssi = Some(power as i16);
                    p.propose(id_type::IBEACON, beacon("iBeacon:", rest));
                }
            } else if len >= 4 && rest[0] == 0x10 {
                p.md_rssi = Some(ref_rssi);
                p.propose(
                    id_type::APPLE_NEARBY,
                    IdSpec::AppleNearby { b: [rest[0], rest[1]], len, tx },
                );
            } else if len == 29 && rest[0] == 0x12 {
                p.propose(id_type::FINDMY, IdSpec::Fixed("apple:findmy"));
            } else {
                p.propose(id_type::MISC_APPLE, IdSpec::Fixed(""));
            }
        }
        0x0006 if len == 29 => p.propose(id_type::MSFT, IdSpec::Msft([rest[1], rest[3]])),
        0x05a7 => {
            p.md_rssi = ref_tx;
            p.propose(id_type::SONOS, IdSpec::Mac("sonos:"));
        }
        0x0087 => p.propose(id_type::GARMIN, IdSpec::Mac("garmin:")),
        0x4d4b => p.propose(id_type::ITRACK, IdSpec::Mac("iTrack:")),
        0x0157 => p.propose(id_type::MIFIT, IdSpec::Mac("mifit:")),
        0x0075 => p.propose(id_type::MISC, IdSpec::Mac("samsung:")),
        // The firmware tests `d[0..1] == ac be` (company id 0xbeac) instead of the spec's
        // `d[2..3]`, then reads the iBeacon layout from d[0..24]: reproduced for id compatibility.
        0xbeac if len == 26 => {
            let mut d = Vec::with_capacity(len);
            d.extend_from_slice(&cid.to_le_bytes());
            d.extend_from_slice(rest);
            p.cal_rssi = Some(d[24] as i8 as i16);
            p.propose(id_type::ABEACON, beacon("altBeacon:", &d[2..]));
        }
        0x0000 => {}
        _ => {
            p.md_rssi = ref_tx;
            p.propose(id_type::MD, IdSpec::Md { cid, len, tx });
        }
    }
}

/// iBeacon layout on `d[2..]`: 0x02 0x15, uuid[16], major BE, minor BE, power.
fn beacon(prefix: &'static str, r: &[u8]) -> IdSpec<'static> {
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&r[2..18]);
    IdSpec::Beacon {
        prefix,
        uuid,
        major: u16::from_be_bytes([r[18], r[19]]),
        minor: u16::from_be_bytes([r[20], r[21]]),
    }
}

fn mitherm(s: &[u8]) -> Option<SensorReading> {
    match s.len() {
        // pvvx custom format, little-endian.
        15 => Some(SensorReading {
            temp: Some(i16::from_le_bytes([s[6], s[7]]) as f32 / 100.0),
            rh: Some(u16::from_le_bytes([s[8], s[9]]) as f32 / 100.0),
            mv: Some(u16::from_le_bytes([s[10], s[11]])),
            batt: Some(s[12]),
        }),
        // ATC1441 format, big-endian.
        13 => Some(SensorReading {
            temp: Some(i16::from_be_bytes([s[6], s[7]]) as f32 / 10.0),
            rh: Some(s[8] as f32),
            mv: Some(u16::from_be_bytes([s[10], s[11]])),
            batt: Some(s[9]),
        }),
        _ => None,
    }
}

fn eddystone<'a>(s: &[u8], p: &mut Proposal<'a>) {
    match s.first() {
        Some(0x00) if s.len() >= 18 => {
            p.cal_rssi = Some(-41 + s[1] as i8 as i16);
            // The firmware prints namespace byte 6 twice (22 hex digits): kept for id compatibility.
            let ns = [s[2], s[3], s[4], s[5], s[6], s[6], s[7], s[8], s[9], s[10], s[11]];
            let mut inst = [0u8; 6];
            inst.copy_from_slice(&s[12..18]);
            p.propose(id_type::EBEACON, IdSpec::Eddy(ns, inst));
        }
        Some(0x10) if s.len() >= 2 => p.cal_rssi = Some(-41 + s[1] as i8 as i16),
        Some(0x20) if s.len() >= 6 => {
            let reading = p.sensor.get_or_insert_with(SensorReading::default);
            reading.mv = Some(u16::from_be_bytes([s[2], s[3]]));
            reading.temp = Some(i16::from_be_bytes([s[4], s[5]]) as f32 / 256.0);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::AddressType;

    fn adv() -> Advertisement {
        Advertisement::new(
            0,
            Address::parse("4a:00:00:00:00:01").unwrap(),
            AddressType::Random,
            -60,
        )
    }

    fn best(a: &Advertisement) -> Option<(i16, String)> {
        propose(a, -65).best.map(|(t, s)| (t, s.format(&a.addr)))
    }

    #[test]
    fn apple_nearby_appends_the_negated_tx_power_without_separator() {
        let mut a = adv();
        a.mfg.push((0x004c, hex::decode("10050b182068dd").unwrap()));
        a.tx_power = Some(12);
        assert_eq!(best(&a), Some((150, "apple:1005:9-12".into())));
        a.tx_power = Some(-8);
        assert_eq!(best(&a), Some((150, "apple:1005:98".into())));
    }

    #[test]
    fn a_26_byte_ibeacon_is_not_an_ibeacon() {
        let mut a = adv();
        a.mfg.push((
            0x004c,
            hex::decode("0215ebefd08370a247c89837e7b5634df5257420591acb64").unwrap(),
        ));
        assert_eq!(best(&a), None);
    }

    #[test]
    fn ibeacon_power_is_the_calibrated_rssi_and_echo_lost_never_wins() {
        let mut a = adv();
        a.mfg
            .push((0x004c, hex::decode("02152f234454cf6d4a0fadf2f4911ba9ffa600010002cc").unwrap()));
        let p = propose(&a, -65);
        assert_eq!(p.cal_rssi, Some(-52));
        assert_eq!(
            best(&a),
            Some((180, "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-2".into()))
        );
        a.mfg[0].1[22] = 3;
        assert_eq!(best(&a), None);
    }

    #[test]
    fn the_uuid_list_rule_order_decides_and_unknown_lists_become_ad_ids() {
        let mut a = adv();
        a.uuids = vec![BleUuid::U16(0xffe0), BleUuid::U16(0xfeed)];
        assert_eq!(best(&a), Some((135, "tile:4a0000000001".into())));
        assert_eq!(propose(&a, -65).as_rssi, Some(-69));
        a.uuids = vec![BleUuid::U16(0x180d), BleUuid::U16(0x180f)];
        a.tx_power = Some(-4);
        assert_eq!(best(&a), Some((10, "ad:0x180d0x180f4".into())));
    }

    #[test]
    fn eddystone_uid_duplicates_namespace_byte_six() {
        let mut a = adv();
        let s = hex::decode("00e800112233445566778899aabbccddeeff").unwrap();
        a.svc_data.push((BleUuid::U16(0xfeaa), s));
        assert_eq!(best(&a), Some((170, "eddy:0011223344445566778899-aabbccddeeff".into())));
        assert_eq!(propose(&a, -65).cal_rssi, Some(-41 - 24));
    }

    #[test]
    fn altbeacon_is_recognised_only_with_the_firmwares_byte_offsets() {
        let mut a = adv();
        let mut rest = hex::decode("0215").unwrap();
        rest.extend_from_slice(&[0x11; 16]);
        rest.extend_from_slice(&[0, 1, 0, 2, 0xc5, 0]);
        a.mfg.push((0xbeac, rest));
        assert_eq!(
            best(&a),
            Some((175, "altBeacon:11111111-1111-1111-1111-111111111111-1-2".into()))
        );
    }

    #[test]
    fn highest_type_wins_within_one_advert() {
        let mut a = adv();
        a.name = Some("iPad".into());
        a.mfg.push((0x004c, hex::decode("10020704").unwrap()));
        assert_eq!(best(&a), Some((150, "apple:1002:6".into())));
    }
}
