//! Bluetooth UUIDs in the three advertised sizes, printed the way NimBLE (hence ESPresense) does.

use std::fmt;

use super::hex;
use crate::error::FieldError;

/// The Bluetooth base UUID `00000000-0000-1000-8000-00805f9b34fb`, big-endian.
const BASE: [u8; 16] = [0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5f, 0x9b, 0x34, 0xfb];

/// A service UUID as advertised: 16-, 32- or 128-bit. 128-bit bytes are big-endian (printed order).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BleUuid {
    /// A 16-bit SIG-assigned UUID.
    U16(u16),
    /// A 32-bit UUID.
    U32(u32),
    /// A full 128-bit UUID.
    U128([u8; 16]),
}

impl BleUuid {
    /// Parses `180d`, `0x180d`, `0000fe9f` (32-bit) or the dashed 128-bit form (either case).
    pub fn parse(s: &str) -> Result<BleUuid, FieldError> {
        let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
        match s.len() {
            4 => hex::decode_array::<2>(s).map(|b| BleUuid::U16(u16::from_be_bytes(b))),
            8 => hex::decode_array::<4>(s).map(|b| BleUuid::U32(u32::from_be_bytes(b))),
            36 => {
                let b = s.as_bytes();
                if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                    return Err(FieldError::Uuid);
                }
                let mut digits = String::with_capacity(32);
                for part in s.split('-') {
                    digits.push_str(part);
                }
                hex::decode_array::<16>(&digits).map(BleUuid::U128)
            }
            _ => None,
        }
        .ok_or(FieldError::Uuid)
    }

    /// A 128-bit UUID as BlueZ reports every UUID; shortened to 16/32 bits when it is in the
    /// Bluetooth base range, because that is how the device advertised it.
    pub fn from_u128_be(b: [u8; 16]) -> BleUuid {
        if b[4..] == BASE[4..] {
            let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            match u16::try_from(v) {
                Ok(v16) => BleUuid::U16(v16),
                Err(_) => BleUuid::U32(v),
            }
        } else {
            BleUuid::U128(b)
        }
    }

    /// Decodes the little-endian bytes of an AD structure (2, 4 or 16 bytes).
    pub fn from_le_slice(b: &[u8]) -> Option<BleUuid> {
        match b.len() {
            2 => Some(BleUuid::U16(u16::from_le_bytes([b[0], b[1]]))),
            4 => Some(BleUuid::U32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                a.reverse();
                Some(BleUuid::U128(a))
            }
            _ => None,
        }
    }

    /// The 16-bit value, if this is a 16-bit UUID.
    pub fn as_u16(&self) -> Option<u16> {
        match self {
            BleUuid::U16(v) => Some(*v),
            _ => None,
        }
    }

    /// The trace-format spelling: `180d`, `0000fe9f`, or the dashed 128-bit form.
    pub fn to_trace_string(&self) -> String {
        match self {
            BleUuid::U16(v) => format!("{v:04x}"),
            BleUuid::U32(v) => format!("{v:08x}"),
            BleUuid::U128(_) => self.to_string(),
        }
    }
}

/// NimBLE's `ble_uuid_to_str`: `0x%04x`, `0x%08x`, or canonical lower-case dashed 128-bit.
impl fmt::Display for BleUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BleUuid::U16(v) => write!(f, "0x{v:04x}"),
            BleUuid::U32(v) => write!(f, "0x{v:08x}"),
            BleUuid::U128(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for BleUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BleUuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_uuids_parse_with_or_without_0x_and_print_as_nimble_does() {
        assert_eq!(BleUuid::parse("180D").unwrap(), BleUuid::U16(0x180d));
        assert_eq!(BleUuid::parse("0x180d").unwrap(), BleUuid::U16(0x180d));
        assert_eq!(BleUuid::U16(0x180d).to_string(), "0x180d");
        assert_eq!(BleUuid::U16(0x180d).to_trace_string(), "180d");
    }

    #[test]
    fn dashed_128_bit_uuids_round_trip() {
        let s = "6acc5540-e631-4069-944d-b8ca7598ad50";
        let u = BleUuid::parse(s).unwrap();
        assert_eq!(u.to_string(), s);
        assert_eq!(u.to_trace_string(), s);
        assert_eq!(BleUuid::parse(&s.to_uppercase()).unwrap(), u);
    }

    #[test]
    fn malformed_uuids_are_rejected() {
        for s in [
            "",
            "18",
            "180g",
            "6acc5540e631-4069-944d-b8ca7598ad50-",
            "6acc5540-e631-4069-944d-b8ca7598ad5z",
        ] {
            assert_eq!(BleUuid::parse(s), Err(FieldError::Uuid), "{s}");
        }
    }

    #[test]
    fn base_range_128_bit_uuids_from_bluez_are_shortened() {
        let u = BleUuid::parse("0000feed-0000-1000-8000-00805f9b34fb").unwrap();
        let BleUuid::U128(b) = u else { panic!("dashed form parses as 128-bit") };
        assert_eq!(BleUuid::from_u128_be(b), BleUuid::U16(0xfeed));
    }

    #[test]
    fn ad_bytes_are_little_endian() {
        assert_eq!(BleUuid::from_le_slice(&[0xe0, 0xff]), Some(BleUuid::U16(0xffe0)));
        assert_eq!(BleUuid::from_le_slice(&[1, 2, 3]), None);
    }
}
