//! Where audio comes from: one trait, [`AudioSource`], for WAV files ([`WavSource`]), the
//! demo's sample ([`sim`]) and, behind the `alsa` feature, an ALSA capture device read on its
//! own thread ([`CaptureSource`] over `alsa::AlsaDevice`). Hardware stays in this module.

mod capture;
pub(crate) mod sim;
pub(crate) mod wav;

#[cfg(feature = "alsa")]
mod alsa;

use std::path::PathBuf;
use std::time::Duration;

pub use capture::{CaptureSource, Device, Stream, StreamError};
pub use wav::{Encoding, WavFormat, WavReader, WavSource};

#[cfg(feature = "alsa")]
pub use self::alsa::AlsaDevice;

use crate::error::SourceError;

/// Mono audio as it came from the source, at the source's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBlock {
    /// Samples in [-1, 1].
    pub samples: Vec<f32>,
    /// Their rate.
    pub rate_hz: u32,
    /// Audio was lost just before this block (first block, overrun, reconnect): the stream
    /// restarts here, and so do the model's state and context.
    pub gap_before: bool,
}

/// What one [`AudioSource::read`] gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// Audio.
    Audio(AudioBlock),
    /// Nothing yet; ask again (returned at least every half second so callers can stop).
    Idle,
    /// The source has no more audio (the end of a file).
    End,
}

/// A microphone, or something that stands in for one. `read` blocks for at most about half a
/// second.
pub trait AudioSource: Send {
    /// The next audio.
    fn read(&mut self) -> Result<Read, SourceError>;
}

/// How often a capture device that is absent or went away is tried again.
pub const RETRY: Duration = Duration::from_secs(2);

/// Which source a microphone reads, opened by the service (and again after a failure).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SourceSpec {
    /// A WAV file, looped in real time (a microphone stand-in for testing a node).
    WavFile {
        /// The file.
        path: PathBuf,
    },
    /// The demo's sample: a CMU ARCTIC sentence, then quiet, looped in real time.
    Sample {
        /// Quiet between two sentences.
        pause: Duration,
    },
    /// An ALSA capture device (only with the `alsa` feature).
    Alsa {
        /// The PCM name: `default`, `dsnoop:CARD=Mic`, `plughw:1,0`, ...
        device: String,
        /// The rate to ask for; `None` takes the rate nearest 16 kHz the device offers.
        rate_hz: Option<u32>,
    },
}

impl SourceSpec {
    /// Opens the source. Capture devices open on their own thread and report problems
    /// through `read`, so this fails only for files.
    pub fn open(&self) -> Result<Box<dyn AudioSource>, SourceError> {
        match self {
            SourceSpec::WavFile { path } => {
                Ok(Box::new(WavSource::open(path)?.looped(Duration::ZERO).paced()))
            }
            SourceSpec::Sample { pause } => Ok(Box::new(sim::sample()?.looped(*pause).paced())),
            #[cfg(feature = "alsa")]
            SourceSpec::Alsa { device, rate_hz } => {
                Ok(Box::new(CaptureSource::spawn(AlsaDevice::new(device, *rate_hz), RETRY)))
            }
            #[cfg(not(feature = "alsa"))]
            SourceSpec::Alsa { device, .. } => Err(SourceError::Unavailable {
                device: device.clone(),
                message: "this roomsense was built without ALSA (cargo feature `alsa`)".into(),
                retry_ms: RETRY.as_millis() as u64,
            }),
        }
    }

    /// How a failed source is named in logs.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::WavFile { path } => format!("file {}", path.display()),
            SourceSpec::Sample { .. } => "demo sample".into(),
            SourceSpec::Alsa { device, .. } => format!("ALSA {device}"),
        }
    }
}
