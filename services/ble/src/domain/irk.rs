//! Identity Resolving Keys: parsing, the Core spec `ah` function, and resolving private addresses.

use std::fmt;

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};

use super::address::Address;
use super::hex;
use crate::error::IrkError;

/// An IRK, bytes most significant first: the order ESPresense (`irk:<hex>`) and Home Assistant use,
/// and the order AES takes the key in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Irk(pub [u8; 16]);

impl Irk {
    /// Parses `irk:<32 hex>`, `<32 hex>` (MSB first), or base64 as the macOS keychain stores it
    /// (LSB first, so reversed here).
    pub fn parse(s: &str) -> Result<Irk, IrkError> {
        let s = s.trim();
        let s = s.strip_prefix("irk:").unwrap_or(s);
        if let Some(b) = hex::decode_array::<16>(s) {
            return Ok(Irk(b));
        }
        let mut b = base64_16(s).ok_or(IrkError::Format)?;
        b.reverse();
        Ok(Irk(b))
    }

    /// The ESPresense id of a device resolved with this IRK: `irk:<32 hex>`.
    pub fn to_id(&self) -> String {
        let mut s = String::with_capacity(36);
        s.push_str("irk:");
        hex::push_hex(&mut s, &self.0);
        s
    }
}

impl fmt::Debug for Irk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are secrets: logs show only a short prefix.
        write!(f, "Irk({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// Decodes exactly 16 bytes of standard base64 (24 characters with `==` padding).
fn base64_16(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 24 || &b[22..] != b"==" {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = [0u8; 18];
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut n = 0;
    for &c in &b[..22] {
        bits = bits << 6 | val(c)?;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out[n] = (bits >> nbits) as u8;
            n += 1;
        }
    }
    let mut r = [0u8; 16];
    r.copy_from_slice(&out[..16]);
    Some(r)
}

/// The Core spec random address hash `ah(k, r) = e(k, 0^104 || r) mod 2^24` (Vol 3 Part H §2.2.2);
/// `prand` and the result most significant byte first.
pub fn ah(irk: &Irk, prand: [u8; 3]) -> [u8; 3] {
    let cipher = Aes128::new(GenericArray::from_slice(&irk.0));
    ah_with(&cipher, prand)
}

fn ah_with(cipher: &Aes128, prand: [u8; 3]) -> [u8; 3] {
    let mut block = GenericArray::from([0u8; 16]);
    block[13..].copy_from_slice(&prand);
    cipher.encrypt_block(&mut block);
    [block[13], block[14], block[15]]
}

/// The node's known IRKs, each with its AES key schedule expanded once.
#[derive(Clone, Default)]
pub struct IrkTable {
    keys: Vec<(Irk, Aes128)>,
}

impl fmt::Debug for IrkTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IrkTable").field("len", &self.keys.len()).finish()
    }
}

impl IrkTable {
    /// Adds `irk`; returns false if it was already known.
    pub fn insert(&mut self, irk: Irk) -> bool {
        if self.contains(&irk) {
            return false;
        }
        self.keys.push((irk, Aes128::new(GenericArray::from_slice(&irk.0))));
        true
    }

    /// Whether `irk` is known.
    pub fn contains(&self, irk: &Irk) -> bool {
        self.keys.iter().any(|(k, _)| k == irk)
    }

    /// Removes all keys.
    pub fn clear(&mut self) {
        self.keys.clear();
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The IRKs, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Irk> {
        self.keys.iter().map(|(k, _)| k)
    }

    /// The IRK that generated `addr`, if any. Only resolvable private addresses (top bits `01`)
    /// are tried: ESPresense also tries non-resolvable ones, which can never match, at AES cost.
    pub fn resolve(&self, addr: &Address) -> Option<Irk> {
        if !addr.is_resolvable() {
            return None;
        }
        let a = addr.0;
        let prand = [a[0], a[1], a[2]];
        let hash = [a[3], a[4], a[5]];
        self.keys.iter().find(|(_, c)| ah_with(c, prand) == hash).map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_IRK: &str = "ec0234a357c8ad05341010a60a397d9b";

    #[test]
    fn the_core_spec_sample_vector_holds() {
        let irk = Irk::parse(SPEC_IRK).unwrap();
        assert_eq!(ah(&irk, [0x70, 0x81, 0x94]), [0x0d, 0xfb, 0xaa]);
    }

    #[test]
    fn espresense_hex_and_keychain_base64_give_the_same_key() {
        let a = Irk::parse(&format!("irk:{SPEC_IRK}")).unwrap();
        assert_eq!(a, Irk::parse("m305CqYQEDQFrchXozQC7A==").unwrap());
        assert_eq!(a.to_id(), format!("irk:{SPEC_IRK}"));
    }

    #[test]
    fn malformed_irks_are_rejected() {
        for s in ["", "irk:00", "zz0234a357c8ad05341010a60a397d9b", "m305CqYQEDQFrchXozQC7A=!"] {
            assert_eq!(Irk::parse(s), Err(IrkError::Format), "{s}");
        }
    }

    #[test]
    fn the_table_resolves_only_addresses_of_its_keys() {
        let mut t = IrkTable::default();
        t.insert(Irk([0; 16]));
        t.insert(Irk::parse(SPEC_IRK).unwrap());
        assert!(!t.insert(Irk([0; 16])));
        assert_eq!(
            t.resolve(&Address::parse("70:81:94:0d:fb:aa").unwrap()),
            Irk::parse(SPEC_IRK).ok()
        );
        assert_eq!(t.resolve(&Address::parse("40:01:02:0a:c4:a6").unwrap()), Some(Irk([0; 16])));
        assert_eq!(t.resolve(&Address::parse("40:01:02:00:00:00").unwrap()), None);
    }

    #[test]
    fn debug_output_does_not_leak_the_key() {
        assert_eq!(format!("{:?}", Irk::parse(SPEC_IRK).unwrap()), "Irk(ec02…)");
    }
}
