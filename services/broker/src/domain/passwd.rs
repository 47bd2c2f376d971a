//! Mosquitto 2's password file: `user:$7$<iterations>$<salt>$<hash>`, PBKDF2-HMAC-SHA512 with a
//! 12-byte salt and a 64-byte hash, both standard base64 (what `mosquitto_passwd` writes).

use ring::pbkdf2;

/// Mosquitto's own iteration count (`PW_DEFAULT_ITERATIONS`).
pub(crate) const ITERATIONS: u32 = 101;
/// Mosquitto's salt length.
pub(crate) const SALT_LEN: usize = 12;
const HASH_LEN: usize = 64;

/// One line of the password file, without the newline.
pub(crate) fn hash_line(user: &str, password: &str, salt: &[u8; SALT_LEN]) -> String {
    let hash = derive(password, salt, ITERATIONS);
    format!("{user}:$7${ITERATIONS}${}${}", encode(salt), encode(&hash))
}

/// Whether `line` is `user`'s entry and matches `password`.
pub(crate) fn line_matches(line: &str, user: &str, password: &str) -> bool {
    let Some((name, rest)) = line.split_once(':') else { return false };
    let mut parts = rest.split('$');
    let (Some(""), Some("7"), Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(iterations), Some(salt), Some(hash)) =
        (iterations.parse::<u32>(), decode(salt), decode(hash))
    else {
        return false;
    };
    name == user
        && iterations > 0
        && std::num::NonZeroU32::new(iterations).is_some_and(|n| {
            pbkdf2::verify(pbkdf2::PBKDF2_HMAC_SHA512, n, &salt, password.as_bytes(), &hash).is_ok()
        })
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    let n = std::num::NonZeroU32::new(iterations).expect("the iteration count should be non-zero");
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA512, n, salt, password.as_bytes(), &mut out);
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` on anything else.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(decode("Zm9v!"), None);
    }

    #[test]
    fn a_line_written_by_mosquitto_passwd_verifies() {
        // `mosquitto_passwd -b passwd a secret`, Mosquitto 2.0.11 (Debian bookworm).
        let line = "a:$7$101$X+p1LYrCg2HJ9Woa$sQfBHCCpaQNkuGjRd1+g3uhxkAZr51G4TN0UI8Ld4IuFzB1cDxqja7lcxoZzZEMDr+XPBhdpfABr5LSvFKKNSA==";
        assert!(line_matches(line, "a", "secret"));
        assert!(!line_matches(line, "a", "Secret"));
        assert!(!line_matches(line, "b", "secret"));
        // The same salt gives mosquitto_passwd's exact bytes.
        let salt: [u8; SALT_LEN] = decode("X+p1LYrCg2HJ9Woa").unwrap().try_into().unwrap();
        assert_eq!(hash_line("a", "secret", &salt), line);
    }

    #[test]
    fn our_lines_verify_and_malformed_lines_do_not() {
        let line = hash_line("hall-ble", "pw", &[7; SALT_LEN]);
        assert!(line_matches(&line, "hall-ble", "pw"));
        for bad in
            ["hall-ble", "hall-ble:$6$101$a$b", "hall-ble:$7$0$AAAA$AAAA", "hall-ble:$7$x$a$b"]
        {
            assert!(!line_matches(bad, "hall-ble", "pw"), "{bad}");
        }
    }
}
