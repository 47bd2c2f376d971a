//! ESPresense's name normalisations: `kebabify` for `name:` ids, `slugify` for room topics.

fn collapse(s: &str, sep: char) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending && !out.is_empty() {
                out.push(sep);
            }
            pending = false;
            out.push(c);
        } else {
            pending = true;
        }
    }
    out
}

/// Lower-case; runs of characters other than `[a-z0-9_]` become one `-`; trimmed.
/// `Oral-B Toothbrush` → `oral-b-toothbrush`.
pub fn kebabify(s: &str) -> String {
    collapse(s, '-')
}

/// Lower-case; runs of characters other than `[a-z0-9_]` become one `_`; trimmed.
/// `Living Room` → `living_room`: the `<room>` topic segment.
pub fn slugify(s: &str) -> String {
    collapse(s, '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebabify_collapses_runs_and_trims() {
        assert_eq!(kebabify("Oral-B Toothbrush"), "oral-b-toothbrush");
        assert_eq!(kebabify("GVH5075_1234"), "gvh5075_1234");
        assert_eq!(kebabify("ClearGrass Temp & RH"), "cleargrass-temp-rh");
        assert_eq!(kebabify("  Skale I/II  "), "skale-i-ii");
        assert_eq!(kebabify("¡!"), "");
    }

    #[test]
    fn slugify_uses_underscores() {
        assert_eq!(slugify("Living Room"), "living_room");
        assert_eq!(slugify("Büro 2"), "b_ro_2");
    }
}
