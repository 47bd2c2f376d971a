//! Image files and directories (JPEG, PNG) as a camera: one file per grab, in name order,
//! starting over at the end. For tests, the demo, and trying a photo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{FrameSource, SourceError};
use crate::domain::frame::Frame;

/// Files given or found in directories, read one per grab.
#[derive(Debug)]
pub struct ImageSource {
    files: Vec<PathBuf>,
    next: usize,
    describe: String,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

impl ImageSource {
    /// Every path given: files as they are, directories' `.jpg`/`.jpeg`/`.png` files sorted by
    /// name. Refused when nothing is left, or a path cannot be read.
    pub fn open(paths: &[PathBuf]) -> Result<Self, String> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let entries = std::fs::read_dir(path)
                    .map_err(|e| format!("cannot list {}: {e}", path.display()))?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_image(p))
                    .collect();
                found.sort();
                files.extend(found);
            } else if path.is_file() {
                files.push(path.clone());
            } else {
                return Err(format!("{} is neither a file nor a directory", path.display()));
            }
        }
        if files.is_empty() {
            return Err("no .jpg, .jpeg or .png files in the paths given".into());
        }
        let describe = format!(
            "images {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
        );
        Ok(Self { files, next: 0, describe })
    }

    /// The files, in the order they are served.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FrameSource for ImageSource {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn grab(&mut self, _now: Duration) -> Result<Frame, SourceError> {
        let path = &self.files[self.next];
        self.next = (self.next + 1) % self.files.len();
        let what = || path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| SourceError::BadFrame {
            what: what(),
            error: crate::domain::frame::FrameError::Decode(format!("cannot read: {e}")),
        })?;
        Frame::decode(&bytes).map_err(|error| SourceError::BadFrame { what: what(), error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_served_in_name_order_round_and_round_skipping_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for (name, level) in [("b.png", 20u8), ("a.png", 10)] {
            image::RgbImage::from_pixel(4, 4, image::Rgb([level; 3]))
                .save(dir.path().join(name))
                .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let mut s = ImageSource::open(&[dir.path().to_path_buf()]).unwrap();
        let levels: Vec<u8> = (0..3).map(|_| s.grab(Duration::ZERO).unwrap().rgb()[0]).collect();
        assert_eq!(levels, [10, 20, 10]);
    }

    #[test]
    fn a_corrupt_file_is_reported_by_name_and_the_next_grab_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a_broken.jpg"), b"\xff\xd8\xff\xe0 truncated").unwrap();
        image::RgbImage::from_pixel(4, 4, image::Rgb([7; 3]))
            .save(dir.path().join("b.png"))
            .unwrap();
        let mut s = ImageSource::open(&[dir.path().to_path_buf()]).unwrap();
        let err = s.grab(Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("a_broken.jpg"), "{err}");
        assert_eq!(s.grab(Duration::ZERO).unwrap().rgb()[0], 7);
    }

    #[test]
    fn nothing_to_read_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ImageSource::open(&[dir.path().to_path_buf()]).is_err());
        assert!(ImageSource::open(&[dir.path().join("missing.png")]).is_err());
    }
}
