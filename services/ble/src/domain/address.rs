//! Bluetooth device addresses and their kinds (public, static random, resolvable, non-resolvable).

use std::fmt;

use super::hex;
use crate::error::FieldError;

/// A 48-bit device address, bytes in printed order (most significant first: `aa:..:ff` is
/// `[0xaa, .., 0xff]`). BLE sends them little-endian on air; sources convert at the edge.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 6]);

/// Whether the advertiser used its public address or a random one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// A public (IEEE-assigned) address.
    Public,
    /// A random address: static, resolvable private or non-resolvable private.
    Random,
}

impl Address {
    /// Parses `aa:bb:cc:dd:ee:ff` (either case; `-` also accepted as separator) or 12 hex digits.
    pub fn parse(s: &str) -> Result<Address, FieldError> {
        let b = s.as_bytes();
        let mut out = [0u8; 6];
        match b.len() {
            17 => {
                for (i, chunk) in b.chunks(3).enumerate() {
                    if chunk.len() == 3 && chunk[2] != b':' && chunk[2] != b'-' {
                        return Err(FieldError::Address);
                    }
                    let pair = std::str::from_utf8(&chunk[..2]).map_err(|_| FieldError::Address)?;
                    out[i] = hex::decode_array::<1>(pair).ok_or(FieldError::Address)?[0];
                }
                Ok(Address(out))
            }
            12 => hex::decode_array::<6>(s).map(Address).ok_or(FieldError::Address),
            _ => Err(FieldError::Address),
        }
    }

    /// Builds an address from the little-endian byte order used on air and by NimBLE.
    pub fn from_le_bytes(mut le: [u8; 6]) -> Address {
        le.reverse();
        Address(le)
    }

    /// The random address is static (top two bits `11`).
    pub fn is_static_random(&self) -> bool {
        self.0[0] >> 6 == 0b11
    }

    /// The random address carries the resolvable-private marker (top two bits `01`).
    pub fn is_resolvable(&self) -> bool {
        self.0[0] >> 6 == 0b01
    }

    /// 12 lower-case hex digits without separators, as ESPresense prints `mac` and MAC ids.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The address as a `u64` (for hashing).
    pub fn to_u64(&self) -> u64 {
        let a = self.0;
        u64::from_be_bytes([0, 0, a[0], a[1], a[2], a[3], a[4], a[5]])
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[0], a[1], a[2], a[3], a[4], a[5])
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_form_and_bare_hex_parse_to_the_same_address() {
        let a = Address::parse("AA:bb:cc:dd:ee:0f").unwrap();
        assert_eq!(a, Address::parse("aabbccddee0f").unwrap());
        assert_eq!(a.to_string(), "aa:bb:cc:dd:ee:0f");
        assert_eq!(a.to_hex(), "aabbccddee0f");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for s in [
            "",
            "aa:bb",
            "aa:bb:cc:dd:ee:fg",
            "aa;bb;cc;dd;ee;ff",
            "aa:bb:cc:dd:ee:ff:00",
            "é:bb:cc:dd:ee:f",
        ] {
            assert_eq!(Address::parse(s), Err(FieldError::Address), "{s}");
        }
    }

    #[test]
    fn top_two_bits_tell_static_from_resolvable() {
        assert!(Address::parse("c0:00:00:00:00:00").unwrap().is_static_random());
        assert!(Address::parse("70:81:94:0d:fb:aa").unwrap().is_resolvable());
        assert!(!Address::parse("80:01:02:b2:12:da").unwrap().is_resolvable());
    }

    #[test]
    fn little_endian_bytes_are_reversed() {
        let a = Address::from_le_bytes([0xaa, 0xfb, 0x0d, 0x94, 0x81, 0x70]);
        assert_eq!(a.to_string(), "70:81:94:0d:fb:aa");
    }
}
