//! `roomsense vision detect`: the people in image files, one JSON object per image.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::domain::frame::Frame;
use crate::model::PersonDetector;

/// One person as `detect` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonJson {
    /// Probability, 0..1.
    pub score: f32,
    /// `[xmin, ymin, xmax, ymax]`, normalised 0..1.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

/// One image as `detect` prints it: the people, or why the image was refused.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    /// The path given.
    pub image: String,
    /// The people found, best first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persons: Option<Vec<PersonJson>>,
    /// Milliseconds for decode, resize, inference and NMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    /// Why the image was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads, decodes and looks at one image file.
pub fn detect_file(detector: &PersonDetector, path: &Path) -> ImageReport {
    let image = path.display().to_string();
    let refused = |error: String| ImageReport {
        image: image.clone(),
        persons: None,
        ms: None,
        error: Some(error),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return refused(format!("cannot read: {e}")),
    };
    let t0 = Instant::now();
    let frame = match Frame::decode(&bytes) {
        Ok(f) => f,
        Err(e) => return refused(e.to_string()),
    };
    match detector.detect(&frame) {
        Ok((people, _)) => ImageReport {
            image,
            persons: Some(
                people
                    .iter()
                    .map(|d| PersonJson { score: d.score, bbox: d.bbox.to_array() })
                    .collect(),
            ),
            ms: Some((t0.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0),
            error: None,
        },
        Err(e) => refused(e.to_string()),
    }
}
