//! ALSA capture (cargo feature `alsa`): a named PCM (`dsnoop` shares the microphone with other
//! programs), interleaved S16 or S32 at whatever rate and channel count the device takes,
//! downmixed to mono here and resampled to 16 kHz by the pipeline. Run by [`CaptureSource`]
//! on its own thread, which reopens the device when it goes away.
//!
//! [`CaptureSource`]: super::CaptureSource

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use super::capture::{Device, Stream, StreamError};

/// Linux errno values ALSA reports (`alsa::Error::errno`).
const EPIPE: i32 = 32;
const ESTRPIPE: i32 = 86;
const EINTR: i32 = 4;
const EAGAIN: i32 = 11;

/// Period asked of the device: 100 ms (also how often the capture thread wakes).
const PERIOD_MS: u32 = 100;

/// An ALSA capture PCM by name.
#[derive(Debug, Clone)]
pub struct AlsaDevice {
    name: String,
    rate_hz: Option<u32>,
}

impl AlsaDevice {
    /// The PCM `name` (`default`, `dsnoop:CARD=Mic`, `plughw:1,0`), asked for `rate_hz` or, by
    /// default, the rate nearest 16 kHz it offers.
    pub fn new(name: &str, rate_hz: Option<u32>) -> Self {
        Self { name: name.to_owned(), rate_hz }
    }
}

/// The sample format the device agreed to.
#[derive(Debug, Clone, Copy)]
enum Sample {
    S16,
    S32,
}

/// An open capture PCM.
pub struct AlsaStream {
    pcm: PCM,
    rate_hz: u32,
    channels: usize,
    sample: Sample,
    period: usize,
    buf16: Vec<i16>,
    buf32: Vec<i32>,
}

impl std::fmt::Debug for AlsaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaStream")
            .field("rate_hz", &self.rate_hz)
            .field("channels", &self.channels)
            .field("sample", &self.sample)
            .finish_non_exhaustive()
    }
}

impl Device for AlsaDevice {
    type Stream = AlsaStream;

    fn name(&self) -> &str {
        &self.name
    }

    fn open(&mut self) -> Result<AlsaStream, String> {
        let pcm = PCM::new(&self.name, Direction::Capture, false)
            .map_err(|e| format!("cannot open ALSA capture device: {e}"))?;
        let (rate_hz, channels, sample, period) = {
            let hw = HwParams::any(&pcm).map_err(|e| format!("no hardware parameters: {e}"))?;
            hw.set_access(Access::RWInterleaved)
                .map_err(|e| format!("interleaved access refused: {e}"))?;
            let sample = if hw.test_format(Format::s16()).is_ok() {
                hw.set_format(Format::s16()).map(|_| Sample::S16)
            } else {
                hw.set_format(Format::s32()).map(|_| Sample::S32)
            }
            .map_err(|e| format!("neither S16 nor S32 samples: {e}"))?;
            // Mono when the device can; otherwise its fewest channels, downmixed here.
            let channels = hw.get_channels_min().unwrap_or(1).max(1);
            hw.set_channels(channels).map_err(|e| format!("{channels} channels refused: {e}"))?;
            let rate = hw
                .set_rate_near(self.rate_hz.unwrap_or(16_000), ValueOr::Nearest)
                .map_err(|e| format!("no usable sample rate: {e}"))?;
            let period = hw
                .set_period_size_near(
                    alsa::pcm::Frames::from(rate * PERIOD_MS / 1000),
                    ValueOr::Nearest,
                )
                .map_err(|e| format!("period refused: {e}"))?;
            // Four periods of buffer: the thread only has to wake every 100 ms.
            let _ = hw.set_buffer_size_near(period * 4);
            pcm.hw_params(&hw).map_err(|e| format!("hardware parameters refused: {e}"))?;
            (rate, channels as usize, sample, period.max(1) as usize)
        };
        pcm.prepare().map_err(|e| format!("cannot prepare: {e}"))?;
        tracing::info!(device = %self.name, rate_hz, count = channels, "microphone open");
        Ok(AlsaStream {
            pcm,
            rate_hz,
            channels,
            sample,
            period,
            buf16: Vec::new(),
            buf32: Vec::new(),
        })
    }
}

impl Stream for AlsaStream {
    fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    fn read(&mut self, out: &mut Vec<f32>) -> Result<(), StreamError> {
        let n = self.period * self.channels;
        let frames = match self.sample {
            Sample::S16 => {
                self.buf16.resize(n, 0);
                self.pcm.io_i16().and_then(|io| io.readi(&mut self.buf16))
            }
            Sample::S32 => {
                self.buf32.resize(n, 0);
                self.pcm.io_i32().and_then(|io| io.readi(&mut self.buf32))
            }
        };
        let frames = match frames {
            Ok(f) => f,
            Err(e) => {
                return match e.errno() {
                    EINTR | EAGAIN => Ok(()),
                    // Overrun, or the system was suspended: recover and go on after a gap.
                    EPIPE | ESTRPIPE => match self.pcm.try_recover(e, true) {
                        Ok(()) => Err(StreamError::Overrun),
                        Err(e) => Err(StreamError::Gone(format!("cannot recover: {e}"))),
                    },
                    _ => Err(StreamError::Gone(format!("capture failed: {e}"))),
                };
            }
        };
        let scale = 1.0 / self.channels as f32;
        let c = self.channels;
        match self.sample {
            Sample::S16 => out.extend(
                self.buf16[..frames * c]
                    .chunks_exact(c)
                    .map(|f| f.iter().map(|s| f32::from(*s) / 32_768.0).sum::<f32>() * scale),
            ),
            Sample::S32 => out.extend(
                self.buf32[..frames * c]
                    .chunks_exact(c)
                    .map(|f| f.iter().map(|s| *s as f32 / 2_147_483_648.0).sum::<f32>() * scale),
            ),
        }
        Ok(())
    }
}
