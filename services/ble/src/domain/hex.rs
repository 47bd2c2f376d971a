//! Hex encoding and decoding without a dependency.

use crate::error::FieldError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits (either case) into bytes.
pub(crate) fn decode(s: &str) -> Result<Vec<u8>, FieldError> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(FieldError::Hex);
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks_exact(2) {
        let hi = nibble(pair[0]).ok_or(FieldError::Hex)?;
        let lo = nibble(pair[1]).ok_or(FieldError::Hex)?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

/// Decodes exactly `N` bytes of hex.
pub(crate) fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Appends the lower-case hex of `bytes` to `out`.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_accepts_both_cases_and_encode_is_lower_case() {
        assert_eq!(decode("0aFf").unwrap(), vec![0x0a, 0xff]);
        assert_eq!(encode(&[0x0a, 0xff]), "0aff");
    }

    #[test]
    fn odd_length_and_non_hex_digits_are_rejected() {
        assert_eq!(decode("abc"), Err(FieldError::Hex));
        assert_eq!(decode("zz"), Err(FieldError::Hex));
        assert_eq!(decode_array::<2>("00zz"), None);
    }
}
