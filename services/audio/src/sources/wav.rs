//! WAV files: a streaming RIFF/WAVE decoder (PCM 8/16/24/32-bit, float 32/64-bit, any channel
//! count, downmixed to mono) and [`WavSource`], which plays a file as a microphone would.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{AudioBlock, AudioSource, Read as SourceRead};
use crate::error::{SourceError, WavError};

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Integer PCM of this many bits (8 is unsigned, the others signed).
    Pcm(u16),
    /// IEEE float of this many bits.
    Float(u16),
}

/// A WAV stream's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Interleaved channels.
    pub channels: u16,
    /// Frames per second.
    pub rate_hz: u32,
    /// Sample encoding.
    pub encoding: Encoding,
}

impl WavFormat {
    fn bytes_per_sample(&self) -> usize {
        match self.encoding {
            Encoding::Pcm(bits) | Encoding::Float(bits) => usize::from(bits / 8),
        }
    }

    fn block_align(&self) -> usize {
        self.bytes_per_sample() * usize::from(self.channels)
    }
}

/// Reads a WAV stream's header, then its frames as mono f32 in [-1, 1].
#[derive(Debug)]
pub struct WavReader<R> {
    r: R,
    format: WavFormat,
    /// Declared bytes of audio (None: "until the end", as streaming writers leave it).
    declared: Option<u64>,
    read: u64,
    raw: Vec<u8>,
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

impl<R: Read> WavReader<R> {
    /// Reads the header up to the start of the audio.
    pub fn new(mut r: R) -> Result<Self, WavError> {
        let mut riff = [0u8; 12];
        if fill(&mut r, &mut riff)? < 12 || &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(WavError::NotWav);
        }
        let mut format = None;
        loop {
            let mut header = [0u8; 8];
            let n = fill(&mut r, &mut header)?;
            if n < 8 {
                return Err(WavError::MissingChunk(if format.is_none() { "fmt " } else { "data" }));
            }
            let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            match &header[0..4] {
                b"fmt " => {
                    let mut body = vec![0u8; size as usize];
                    if fill(&mut r, &mut body)? < body.len() || body.len() < 16 {
                        return Err(WavError::Unsupported(
                            "a `fmt ` chunk shorter than 16 bytes".into(),
                        ));
                    }
                    format = Some(parse_fmt(&body)?);
                    skip(&mut r, u64::from(size % 2))?;
                }
                b"data" => {
                    let format = format.ok_or(WavError::MissingChunk("fmt "))?;
                    let declared = (size != u32::MAX && size != 0).then_some(u64::from(size));
                    return Ok(Self { r, format, declared, read: 0, raw: Vec::new() });
                }
                _ => skip(&mut r, u64::from(size) + u64::from(size % 2))?,
            }
        }
    }

    /// The stream's format.
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Seconds of audio the header declares, when it does.
    pub fn duration_s(&self) -> Option<f64> {
        self.declared
            .map(|d| d as f64 / self.format.block_align() as f64 / f64::from(self.format.rate_hz))
    }

    /// Appends up to `max_frames` mono frames to `out`; returns how many (0 at the end).
    pub fn read_frames(
        &mut self,
        max_frames: usize,
        out: &mut Vec<f32>,
    ) -> Result<usize, WavError> {
        let align = self.format.block_align();
        let mut want = (max_frames * align) as u64;
        if let Some(declared) = self.declared {
            want = want.min(declared - self.read);
        }
        self.raw.resize(want as usize, 0);
        let got = fill(&mut self.r, &mut self.raw)?;
        self.read += got as u64;
        let whole = got / align * align;
        if got < want as usize
            && let Some(declared) = self.declared
        {
            return Err(WavError::Truncated { declared, present: self.read });
        }
        // A stream without a declared size may end in the middle of a frame: that frame is lost.
        let frames = whole / align;
        let bps = self.format.bytes_per_sample();
        let channels = usize::from(self.format.channels);
        let scale = 1.0 / channels as f32;
        out.reserve(frames);
        for frame in self.raw[..whole].chunks_exact(align) {
            let sum: f32 = frame.chunks_exact(bps).map(|s| decode(self.format.encoding, s)).sum();
            out.push(sum * scale);
        }
        Ok(frames)
    }
}

fn parse_fmt(body: &[u8]) -> Result<WavFormat, WavError> {
    let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let rate_hz = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if tag == WAVE_FORMAT_EXTENSIBLE {
        if body.len() < 26 {
            return Err(WavError::Unsupported("WAVE_FORMAT_EXTENSIBLE without a subformat".into()));
        }
        tag = u16_at(24);
    }
    let encoding = match (tag, bits) {
        (WAVE_FORMAT_PCM, 8 | 16 | 24 | 32) => Encoding::Pcm(bits),
        (WAVE_FORMAT_IEEE_FLOAT, 32 | 64) => Encoding::Float(bits),
        (WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT, _) => {
            return Err(WavError::Unsupported(format!("{bits}-bit samples")));
        }
        (tag, _) => {
            return Err(WavError::Unsupported(format!("format tag {tag} ({})", tag_name(tag))));
        }
    };
    let format = WavFormat { channels, rate_hz, encoding };
    if channels == 0 || !(1000..=768_000).contains(&rate_hz) {
        return Err(WavError::Unsupported(format!("{channels} channels at {rate_hz} Hz")));
    }
    if usize::from(block_align) != format.block_align() {
        return Err(WavError::Unsupported(format!(
            "block align {block_align} for {channels} channels of {bits} bits"
        )));
    }
    Ok(format)
}

fn tag_name(tag: u16) -> &'static str {
    match tag {
        2 => "MS ADPCM",
        6 => "A-law",
        7 => "µ-law",
        0x11 => "IMA ADPCM",
        0x55 => "MP3",
        _ => "compressed",
    }
}

fn decode(encoding: Encoding, s: &[u8]) -> f32 {
    match encoding {
        Encoding::Pcm(8) => (f32::from(s[0]) - 128.0) / 128.0,
        Encoding::Pcm(16) => f32::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0,
        Encoding::Pcm(24) => (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0,
        Encoding::Pcm(_) => i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0,
        Encoding::Float(32) => f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        Encoding::Float(_) => {
            f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]) as f32
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn skip(r: &mut impl Read, n: u64) -> std::io::Result<()> {
    std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    Ok(())
}

/// What a [`WavSource`] reads from.
#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    Bytes { name: PathBuf, bytes: &'static [u8] },
}

type Reader = WavReader<Box<dyn Read + Send>>;

/// A WAV file (or bytes compiled in) as an audio source: blocks of 100 ms, optionally looped
/// with a pause between plays, optionally paced to real time as a microphone would be.
pub struct WavSource {
    origin: Origin,
    reader: Reader,
    block_frames: usize,
    /// Loop with this much quiet between plays.
    pause: Option<Duration>,
    paced: bool,
    started: Option<(Instant, u64)>,
    pause_left: usize,
    noise: u32,
    first: bool,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl WavSource {
    /// Opens a WAV file; reads it once, as fast as asked.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        Self::from_origin(Origin::File(path.to_path_buf()))
    }

    /// WAV bytes compiled into the binary (the demo's sample), `name` for errors.
    pub fn from_static(name: &str, bytes: &'static [u8]) -> Result<Self, SourceError> {
        Self::from_origin(Origin::Bytes { name: PathBuf::from(name), bytes })
    }

    fn from_origin(origin: Origin) -> Result<Self, SourceError> {
        let reader = open_reader(&origin)?;
        let block_frames = (reader.format().rate_hz / 10).max(1) as usize;
        Ok(Self {
            origin,
            reader,
            block_frames,
            pause: None,
            paced: false,
            started: None,
            pause_left: 0,
            noise: 0x1234_5678,
            first: true,
        })
    }

    /// Plays the file again and again, with `pause` of faint noise in between.
    pub fn looped(mut self, pause: Duration) -> Self {
        self.pause = Some(pause);
        self
    }

    /// Delivers audio no faster than real time.
    pub fn paced(mut self) -> Self {
        self.paced = true;
        self
    }

    /// The file's format.
    pub fn format(&self) -> WavFormat {
        self.reader.format()
    }

    /// Seconds of audio the header declares.
    pub fn duration_s(&self) -> Option<f64> {
        self.reader.duration_s()
    }

    fn path(&self) -> &Path {
        match &self.origin {
            Origin::File(p) | Origin::Bytes { name: p, .. } => p,
        }
    }

    /// Faint noise (−60 dBFS), so the level sensor shows a room, not digital silence.
    fn quiet(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                // xorshift32, seeded with a constant: the demo is the same every run.
                self.noise ^= self.noise << 13;
                self.noise ^= self.noise >> 17;
                self.noise ^= self.noise << 5;
                (self.noise as f32 / u32::MAX as f32 - 0.5) * 0.003
            })
            .collect()
    }

    fn pace(&mut self, frames: usize) {
        if !self.paced {
            return;
        }
        let rate = u64::from(self.reader.format().rate_hz);
        let (start, done) = self.started.get_or_insert((Instant::now(), 0));
        *done += frames as u64;
        let due = *start + Duration::from_micros(*done * 1_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

fn open_reader(origin: &Origin) -> Result<Reader, SourceError> {
    let (path, input): (&Path, Box<dyn Read + Send>) = match origin {
        Origin::File(path) => match File::open(path) {
            Ok(f) => (path, Box::new(BufReader::new(f))),
            Err(e) => return Err(SourceError::Wav { path: path.clone(), source: WavError::Io(e) }),
        },
        Origin::Bytes { name, bytes } => (name, Box::new(Cursor::new(*bytes))),
    };
    WavReader::new(input).map_err(|source| SourceError::Wav { path: path.to_path_buf(), source })
}

impl AudioSource for WavSource {
    fn read(&mut self) -> Result<SourceRead, SourceError> {
        let rate_hz = self.reader.format().rate_hz;
        let gap_before = std::mem::take(&mut self.first);
        if self.pause_left > 0 {
            let n = self.pause_left.min(self.block_frames);
            self.pause_left -= n;
            let samples = self.quiet(n);
            self.pace(n);
            return Ok(SourceRead::Audio(AudioBlock { samples, rate_hz, gap_before }));
        }
        let mut samples = Vec::with_capacity(self.block_frames);
        let n = self
            .reader
            .read_frames(self.block_frames, &mut samples)
            .map_err(|source| SourceError::Wav { path: self.path().to_path_buf(), source })?;
        if n == 0 {
            let Some(pause) = self.pause else { return Ok(SourceRead::End) };
            self.reader = open_reader(&self.origin)?;
            self.pause_left = (pause.as_secs_f64() * f64::from(rate_hz)) as usize;
            return self.read();
        }
        self.pace(n);
        Ok(SourceRead::Audio(AudioBlock { samples, rate_hz, gap_before }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV header and data, as a writer would make them.
    pub(crate) fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(b"abc\0"); // odd chunk with its pad byte
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    fn all(bytes: &[u8]) -> Result<(WavFormat, Vec<f32>), WavError> {
        let mut r = WavReader::new(bytes)?;
        let mut out = Vec::new();
        while r.read_frames(3, &mut out)? > 0 {}
        Ok((r.format(), out))
    }

    #[test]
    fn sixteen_bit_stereo_is_downmixed_to_mono() {
        let data: Vec<u8> =
            [16384i16, -16384, 32767, 32767].iter().flat_map(|s| s.to_le_bytes()).collect();
        let (format, samples) = all(&wav(1, 2, 48_000, 16, &data)).unwrap();
        assert_eq!(format, WavFormat { channels: 2, rate_hz: 48_000, encoding: Encoding::Pcm(16) });
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0], 0.0);
        assert!((samples[1] - 1.0).abs() < 1e-4);
    }

    #[test]
    fn eight_bit_is_unsigned_and_24_bit_and_float_decode() {
        assert_eq!(
            all(&wav(1, 1, 11_025, 8, &[128, 0, 255])).unwrap().1,
            vec![0.0, -1.0, 127.0 / 128.0]
        );
        let s24 = all(&wav(1, 1, 16_000, 24, &[0, 0, 0xC0])).unwrap().1;
        assert_eq!(s24, vec![-0.5]);
        let f: Vec<u8> = 0.25f32.to_le_bytes().to_vec();
        assert_eq!(all(&wav(3, 1, 16_000, 32, &f)).unwrap().1, vec![0.25]);
    }

    #[test]
    fn a_compressed_wav_is_refused_by_name() {
        let err = all(&wav(2, 1, 11_025, 4, &[0; 8])).unwrap_err().to_string();
        assert_eq!(
            err,
            "unsupported WAV encoding: format tag 2 (MS ADPCM) (use PCM 8/16/24/32-bit or 32/64-bit float)"
        );
    }

    #[test]
    fn a_truncated_file_says_how_much_is_missing() {
        let mut bytes = wav(1, 1, 16_000, 16, &[0; 100]);
        bytes.truncate(bytes.len() - 40);
        let err = all(&bytes).unwrap_err().to_string();
        assert_eq!(
            err,
            "truncated: the header declares 100 bytes of audio, the file ends after 60"
        );
    }

    #[test]
    fn something_else_is_not_a_wav() {
        assert!(matches!(all(b"ID3\x03 an mp3"), Err(WavError::NotWav)));
        assert!(matches!(all(b""), Err(WavError::NotWav)));
        let header_only = &wav(1, 1, 16_000, 16, &[])[..12];
        assert!(matches!(all(header_only), Err(WavError::MissingChunk("fmt "))));
    }

    #[test]
    fn a_looped_source_plays_again_after_a_quiet_pause() {
        let bytes: &'static [u8] =
            Box::leak(wav(1, 1, 1000, 16, &[0x00, 0x40].repeat(250)).into_boxed_slice());
        let mut s =
            WavSource::from_static("t.wav", bytes).unwrap().looped(Duration::from_millis(200));
        let mut lens = Vec::new();
        for _ in 0..9 {
            match s.read().unwrap() {
                SourceRead::Audio(b) => {
                    lens.push((b.samples.len(), b.samples[0] == 0.5, b.gap_before))
                }
                other => panic!("{other:?}"),
            }
        }
        // 250 frames in blocks of 100, then 200 of quiet, then the file again.
        let expected = [
            (100, true, true),
            (100, true, false),
            (50, true, false),
            (100, false, false),
            (100, false, false),
            (100, true, false),
        ];
        assert_eq!(lens[..6], expected);
    }
}
