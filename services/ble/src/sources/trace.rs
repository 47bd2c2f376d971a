//! The JSONL trace format, one advertisement per line, read and written exactly as the issue
//! specifies (other tools write it too):
//! `{"ts_ms":…,"addr":"aa:…","addr_type":"public"|"random","rssi":-67,"tx_power":-8|null,`
//! `"name":"…"|null,"mfg":{"004c":"0215…"},"svc_data":{"fe9f":"…"},"uuids":["180d","6acc…"]}`.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::address::{Address, AddressType};
use crate::domain::advert::Advertisement;
use crate::domain::hex;
use crate::domain::uuid::BleUuid;
use crate::error::FieldError;

/// A JSON object's entries in file order (serde_json's map would sort them, and ESPresense looks
/// only at the first manufacturer-data entry).
#[derive(Debug, Default)]
struct Pairs<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of hex strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'a>, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<Cow<'a, str>, Cow<'a, str>>()? {
                    v.push((k, val));
                }
                Ok(Pairs(v))
            }
            fn visit_unit<E>(self) -> Result<Pairs<'a>, E> {
                Ok(Pairs::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
struct Record<'a> {
    ts_ms: u64,
    #[serde(borrow)]
    addr: Cow<'a, str>,
    #[serde(borrow)]
    addr_type: Cow<'a, str>,
    rssi: i64,
    #[serde(default)]
    tx_power: Option<i64>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    mfg: Pairs<'a>,
    #[serde(default, borrow)]
    svc_data: Pairs<'a>,
    #[serde(default, borrow)]
    uuids: Option<Vec<Cow<'a, str>>>,
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s)
}

fn to_i8(v: i64) -> Result<i8, FieldError> {
    i8::try_from(v).map_err(|_| FieldError::Range)
}

/// Parses one trace line.
pub fn parse_line(line: &str) -> Result<Advertisement, FieldError> {
    let r: Record<'_> = serde_json::from_str(line).map_err(|_| FieldError::Json)?;
    let addr_type = match r.addr_type.as_ref() {
        "public" => AddressType::Public,
        "random" => AddressType::Random,
        _ => return Err(FieldError::AddressType),
    };
    let mut adv = Advertisement::new(r.ts_ms, Address::parse(&r.addr)?, addr_type, to_i8(r.rssi)?);
    adv.tx_power = r.tx_power.map(to_i8).transpose()?;
    adv.name = r.name.map(Cow::into_owned);
    for (k, v) in r.mfg.0 {
        let cid = hex::decode_array::<2>(strip_0x(&k)).ok_or(FieldError::CompanyId)?;
        adv.mfg.push((u16::from_be_bytes(cid), hex::decode(strip_0x(&v))?));
    }
    for (k, v) in r.svc_data.0 {
        adv.svc_data.push((BleUuid::parse(&k)?, hex::decode(strip_0x(&v))?));
    }
    for u in r.uuids.unwrap_or_default() {
        adv.uuids.push(BleUuid::parse(&u)?);
    }
    Ok(adv)
}

struct MfgOut<'a>(&'a [(u16, Vec<u8>)]);
impl Serialize for MfgOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (cid, d) in self.0 {
            m.serialize_entry(&format!("{cid:04x}"), &hex::encode(d))?;
        }
        m.end()
    }
}

struct SvcOut<'a>(&'a [(BleUuid, Vec<u8>)]);
impl Serialize for SvcOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (u, d) in self.0 {
            m.serialize_entry(&u.to_trace_string(), &hex::encode(d))?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct RecordOut<'a> {
    ts_ms: u64,
    addr: String,
    addr_type: &'static str,
    rssi: i8,
    tx_power: Option<i8>,
    name: Option<&'a str>,
    mfg: MfgOut<'a>,
    svc_data: SvcOut<'a>,
    uuids: Vec<String>,
}

/// Formats `adv` as one trace line (without the newline).
pub fn format_line(adv: &Advertisement) -> String {
    let r = RecordOut {
        ts_ms: adv.ts_ms,
        addr: adv.addr.to_string(),
        addr_type: match adv.addr_type {
            AddressType::Public => "public",
            AddressType::Random => "random",
        },
        rssi: adv.rssi,
        tx_power: adv.tx_power,
        name: adv.name.as_deref(),
        mfg: MfgOut(&adv.mfg),
        svc_data: SvcOut(&adv.svc_data),
        uuids: adv.uuids.iter().map(BleUuid::to_trace_string).collect(),
    };
    serde_json::to_string(&r).expect("trace record should always serialise")
}

/// Writes advertisements as trace lines (`roomsense ble record FILE`).
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    out: W,
}

impl<W: Write> TraceWriter<W> {
    /// Writes to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> TraceWriter<W> {
        TraceWriter { out }
    }

    /// Appends one line.
    pub fn write(&mut self, adv: &Advertisement) -> std::io::Result<()> {
        self.out.write_all(format_line(adv).as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Flushes what was written so far (a recorder killed later still leaves whole lines).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"ts_ms":1700000000000,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"random","rssi":-67,"tx_power":-8,"name":"Tag","mfg":{"004c":"0215aa","0x0075":"01"},"svc_data":{"fe9f":"00"},"uuids":["180d","6acc5540-e631-4069-944d-b8ca7598ad50"]}"#;

    #[test]
    fn the_issue_format_parses_with_order_kept_and_0x_accepted() {
        let a = parse_line(LINE).unwrap();
        assert_eq!(a.ts_ms, 1_700_000_000_000);
        assert_eq!(a.addr.to_string(), "aa:bb:cc:dd:ee:ff");
        assert_eq!((a.rssi, a.tx_power, a.name.as_deref()), (-67, Some(-8), Some("Tag")));
        assert_eq!(a.mfg, vec![(0x004c, vec![0x02, 0x15, 0xaa]), (0x0075, vec![1])]);
        assert_eq!(a.svc_data, vec![(BleUuid::U16(0xfe9f), vec![0])]);
        assert_eq!(a.uuids.len(), 2);
    }

    #[test]
    fn writing_then_reading_gives_the_same_advertisement() {
        let a = parse_line(LINE).unwrap();
        let line = format_line(&a);
        assert_eq!(parse_line(&line).unwrap(), a);
        assert!(line.contains(r#""mfg":{"004c":"0215aa","0075":"01"}"#), "{line}");
    }

    #[test]
    fn nulls_and_missing_optional_fields_are_accepted() {
        let a = parse_line(r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"public","rssi":-1,"tx_power":null,"name":null,"mfg":null,"uuids":null}"#)
            .unwrap();
        assert_eq!((a.tx_power, a.name, a.mfg.len()), (None, None, 0));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            ("not json", FieldError::Json),
            (r#"{"ts_ms":1,"addr":"zz","addr_type":"public","rssi":-1}"#, FieldError::Address),
            (
                r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"x","rssi":-1}"#,
                FieldError::AddressType,
            ),
            (
                r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"public","rssi":-300}"#,
                FieldError::Range,
            ),
            (
                r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"public","rssi":-1,"mfg":{"4c":"00"}}"#,
                FieldError::CompanyId,
            ),
            (
                r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"public","rssi":-1,"mfg":{"004c":"0"}}"#,
                FieldError::Hex,
            ),
            (
                r#"{"ts_ms":1,"addr":"aa:bb:cc:dd:ee:ff","addr_type":"public","rssi":-1,"uuids":["18"]}"#,
                FieldError::Uuid,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), Err(want), "{line}");
        }
    }
}
