//! What `broker init` last wrote: one `sha256  name` line per file, so a later run can tell its
//! own unedited output (safe to rewrite) from a file the user changed (left alone).

use std::collections::BTreeMap;

/// File name → sha256 (hex) of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    entries: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads the manifest's text; lines that do not parse are ignored (the file is ours).
    pub(crate) fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once("  "))
            .filter(|(hash, name)| hash.len() == 64 && !name.is_empty())
            .map(|(hash, name)| (name.to_owned(), hash.to_owned()))
            .collect();
        Self { entries }
    }

    /// The manifest's text.
    pub(crate) fn render(&self) -> String {
        let mut text = String::from(
            "# roomsense broker init: what it last wrote here. A file whose hash differs was edited\n\
             # and is left alone (run `roomsense broker init --force` to overwrite it).\n",
        );
        for (name, hash) in &self.entries {
            text.push_str(&format!("{hash}  {name}\n"));
        }
        text
    }

    /// Whether `content` is exactly what was last written as `name`.
    pub(crate) fn is_ours(&self, name: &str, content: &[u8]) -> bool {
        self.entries.get(name).is_some_and(|h| *h == sha256_hex(content))
    }

    /// Records `content` as written to `name`.
    pub(crate) fn record(&mut self, name: &str, content: &[u8]) {
        self.entries.insert(name.to_owned(), sha256_hex(content));
    }
}

/// Lowercase hex sha256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_file_is_ours_until_a_byte_changes() {
        let mut m = Manifest::default();
        m.record("acl", b"user a\n");
        let m = Manifest::parse(&m.render());
        assert!(m.is_ours("acl", b"user a\n"));
        assert!(!m.is_ours("acl", b"user a\n# mine\n"));
        assert!(!m.is_ours("passwd", b"user a\n"));
    }

    #[test]
    fn sha256_matches_the_known_answer() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
