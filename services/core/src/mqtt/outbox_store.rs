//! The outbox on disk: one file per unacknowledged message in the service's state directory,
//! so a restart of the process (or of the board) loses nothing that was accepted.
//!
//! File `<id>.msg`: a first line of JSON `{"topic":…,"retain":…}`, then the payload bytes.
//! Written to a temporary name, synced, then renamed, so a crash leaves the old file or the new
//! one, never half of one. A file that cannot be read back is moved aside and counted.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::message::Outgoing;
use super::outbox::OutboxId;
use crate::topic::Topic;

/// The outbox directory of one link.
#[derive(Debug, Clone)]
pub struct OutboxStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Header {
    topic: String,
    retain: bool,
}

/// What [`OutboxStore::load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Messages in id order.
    pub messages: Vec<(OutboxId, Outgoing)>,
    /// Files that could not be read back; renamed to `*.corrupt`.
    pub corrupt: usize,
}

impl OutboxStore {
    /// Opens (creating it with mode 0700) the directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every message left by an earlier run.
    pub fn load(&self) -> io::Result<Loaded> {
        let mut loaded = Loaded::default();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(id) = message_id(&path) else { continue };
            match read_message(&path) {
                Some(message) => loaded.messages.push((id, message)),
                None => {
                    loaded.corrupt += 1;
                    // Kept for a human to look at, out of the way of the next load.
                    let _ = fs::rename(&path, path.with_extension("corrupt"));
                }
            }
        }
        loaded.messages.sort_by_key(|(id, _)| *id);
        Ok(loaded)
    }

    /// Writes a message durably.
    pub fn save(&self, id: OutboxId, message: &Outgoing) -> io::Result<()> {
        let header = Header { topic: message.topic.as_str().to_owned(), retain: message.retain };
        let tmp = self.dir.join(format!("{id:020}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        serde_json::to_writer(&mut file, &header)?;
        file.write_all(b"\n")?;
        file.write_all(&message.payload)?;
        file.sync_data()?;
        fs::rename(&tmp, self.path(id))
    }

    /// Forgets a delivered message.
    pub fn remove(&self, id: OutboxId) -> io::Result<()> {
        match fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn path(&self, id: OutboxId) -> PathBuf {
        self.dir.join(format!("{id:020}.msg"))
    }
}

fn message_id(path: &Path) -> Option<OutboxId> {
    if path.extension()? != "msg" {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

fn read_message(path: &Path) -> Option<Outgoing> {
    let bytes = fs::read(path).ok()?;
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&bytes[..newline]).ok()?;
    let topic = Topic::new(header.topic).ok()?;
    Some(Outgoing { topic, payload: bytes[newline + 1..].to_vec(), retain: header.retain })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(topic: &str, payload: &[u8]) -> Outgoing {
        Outgoing { topic: Topic::new(topic).unwrap(), payload: payload.to_vec(), retain: true }
    }

    #[test]
    fn saved_messages_come_back_in_id_order_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutboxStore::open(dir.path().join("outbox")).unwrap();
        store.save(12, &m("a/b", b"\n\x00binary\n")).unwrap();
        store.save(3, &m("c", b"{}")).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.messages, vec![(3, m("c", b"{}")), (12, m("a/b", b"\n\x00binary\n"))]);
        assert_eq!(loaded.corrupt, 0);
    }

    #[test]
    fn removed_messages_stay_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutboxStore::open(dir.path()).unwrap();
        store.save(1, &m("a", b"1")).unwrap();
        store.remove(1).unwrap();
        store.remove(1).unwrap();
        assert!(store.load().unwrap().messages.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_set_aside_and_counted_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = OutboxStore::open(dir.path()).unwrap();
        store.save(1, &m("a", b"1")).unwrap();
        fs::write(dir.path().join(format!("{:020}.msg", 2)), b"not json").unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.messages.len(), 1);
        assert_eq!(loaded.corrupt, 1);
        assert!(
            store.load().unwrap().corrupt == 0,
            "the corrupt file should have been moved aside"
        );
    }
}
