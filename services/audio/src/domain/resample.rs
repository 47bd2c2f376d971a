//! Any sample rate to the model's 16 kHz: a polyphase windowed-sinc resampler (rational L/M).
//!
//! The prototype low-pass is a Kaiser-windowed sinc designed at the upsampled rate: flat to
//! `min(in, out) / 2 - TRANSITION`, at least [`STOPBAND_DB`] down from `min(in, out) / 2`, so
//! nothing above the output's Nyquist frequency folds back (48 kHz → 16 kHz is the usual case;
//! 44.1 kHz and 11.025 kHz work the same way). Each output sample is one contiguous dot product
//! of `taps` input samples with one phase of the filter, stored reversed.

/// Attenuation of everything that would alias.
pub(crate) const STOPBAND_DB: f64 = 70.0;
/// Width of the transition band as a fraction of the lower of the two rates (1 kHz at 16 kHz).
const TRANSITION: f64 = 0.0625;

/// A streaming resampler from one rate to another; blocks of any size in, as many samples out
/// as the input so far allows.
#[derive(Debug, Clone)]
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    /// Upsampling factor.
    l: u64,
    /// Downsampling factor.
    m: u64,
    taps: usize,
    /// `phases[p]` holds `h[p + k·L]` for k = taps-1 … 0 (reversed, for a forward dot product).
    phases: Vec<Vec<f32>>,
    /// Input not yet fully used, starting at absolute input index `start` (negative indices
    /// are the zeros before the stream began).
    buf: Vec<f32>,
    start: i64,
    /// The next output sample's index.
    next: u64,
}

impl Resampler {
    /// A resampler from `from_hz` to `to_hz`. Both must be positive.
    pub fn new(from_hz: u32, to_hz: u32) -> Self {
        let g = gcd(u64::from(from_hz.max(1)), u64::from(to_hz.max(1)));
        let (l, m) = (u64::from(to_hz.max(1)) / g, u64::from(from_hz.max(1)) / g);
        let low = f64::from(from_hz.min(to_hz).max(1));
        let upsampled = f64::from(from_hz.max(1)) * l as f64;
        // Stop band starts at the lower Nyquist frequency; the pass band ends TRANSITION below.
        let stop = low / 2.0;
        let pass = stop - TRANSITION * low;
        let cutoff = (pass + stop) / 2.0 / upsampled; // cycles per upsampled sample
        let width = (stop - pass) / upsampled;
        // Kaiser's estimates for length and beta.
        let n_est = ((STOPBAND_DB - 7.95) / (14.36 * width)).ceil() as usize + 1;
        let taps = n_est.div_ceil(l as usize).max(1);
        let n = taps * l as usize;
        let beta = 0.1102 * (STOPBAND_DB - 8.7);
        let centre = (n as f64 - 1.0) / 2.0;
        let mut h: Vec<f64> = (0..n)
            .map(|j| {
                let x = j as f64 - centre;
                let sinc = if x == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let r = x / (centre.max(0.5));
                sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
            })
            .collect();
        // Unity gain at DC for every phase: the prototype sums to L.
        let sum: f64 = h.iter().sum();
        for v in &mut h {
            *v *= l as f64 / sum;
        }
        let phases = (0..l as usize)
            .map(|p| (0..taps).rev().map(|k| h[p + k * l as usize] as f32).collect())
            .collect();
        Self {
            from_hz,
            to_hz,
            l,
            m,
            taps,
            phases,
            buf: vec![0.0; taps - 1],
            start: -(taps as i64 - 1),
            next: 0,
        }
    }

    /// The input rate.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// The output rate.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Filter taps per output sample (the cost of one output sample).
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// The delay the filter adds, in output samples.
    pub fn delay_out(&self) -> f64 {
        (self.taps * self.l as usize) as f64 / 2.0 / self.m as f64
    }

    /// Feeds `input`, appends what can be computed to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.l == 1 && self.m == 1 {
            out.extend_from_slice(input);
            return;
        }
        self.buf.extend_from_slice(input);
        let end = self.start + self.buf.len() as i64; // one past the last input index held
        loop {
            let t = self.next * self.m;
            let base = (t / self.l) as i64;
            if base >= end {
                break;
            }
            let phase = &self.phases[(t % self.l) as usize];
            let from = (base - self.taps as i64 + 1 - self.start) as usize;
            let window = &self.buf[from..from + self.taps];
            out.push(dot(phase, window));
            self.next += 1;
        }
        // Keep what the next output still needs.
        let base = (self.next * self.m / self.l) as i64;
        let keep_from = (base - self.taps as i64 + 1).max(self.start);
        let drop = (keep_from - self.start) as usize;
        if drop > 0 {
            self.buf.drain(..drop.min(self.buf.len()));
            self.start += drop as i64;
        }
    }

    /// Forgets the stream: the next input starts a new one (after a gap).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.resize(self.taps - 1, 0.0);
        self.start = -(self.taps as i64 - 1);
        self.next = 0;
    }
}

/// Eight independent accumulators, so the compiler vectorises the loop.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()) as f32
            })
            .collect()
    }

    /// RMS of the steady part (filter start-up left out).
    fn rms(x: &[f32]) -> f64 {
        let tail = &x[x.len() / 4..x.len() * 3 / 4];
        (tail.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / tail.len() as f64).sqrt()
    }

    fn through(from: u32, to: u32, input: &[f32], block: usize) -> Vec<f32> {
        let mut r = Resampler::new(from, to);
        let mut out = Vec::new();
        for chunk in input.chunks(block) {
            r.process(chunk, &mut out);
        }
        out
    }

    #[test]
    fn a_tone_in_the_pass_band_keeps_its_level_and_the_output_its_length() {
        for (from, block) in
            [(48_000, 480), (44_100, 441), (11_025, 100), (8_000, 77), (22_050, 1000)]
        {
            let input = tone(from, 1000.0, 2.0);
            let out = through(from, 16_000, &input, block);
            let expected = 32_000.0;
            assert!((out.len() as f64 - expected).abs() < 20.0, "{from}: {} samples", out.len());
            let db = 20.0 * (rms(&out) / rms(&input)).log10();
            assert!(db.abs() < 0.1, "{from} Hz: {db:.3} dB");
        }
    }

    #[test]
    fn what_would_alias_is_attenuated_by_the_stop_band() {
        // 10 kHz at 48 kHz would fold to 6 kHz at 16 kHz without the low-pass.
        for hz in [8_200.0, 10_000.0, 15_000.0, 23_000.0] {
            let input = tone(48_000, hz, 1.0);
            let out = through(48_000, 16_000, &input, 512);
            let db = 20.0 * (rms(&out) / rms(&input)).log10();
            assert!(db < -STOPBAND_DB + 3.0, "{hz} Hz came through at {db:.1} dB");
        }
    }

    #[test]
    fn upsampling_leaves_no_images() {
        // 11.025 kHz → 16 kHz: a 4 kHz tone's image at 7.025 kHz must be gone.
        let input = tone(11_025, 4000.0, 1.0);
        let out = through(11_025, 16_000, &input, 256);
        // Measure the 7025 Hz component by correlation.
        let tail = &out[4000..12_000];
        let (mut s, mut c) = (0.0, 0.0);
        for (i, v) in tail.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * 7025.0 * i as f64 / 16_000.0;
            s += f64::from(*v) * w.sin();
            c += f64::from(*v) * w.cos();
        }
        let amp = 2.0 * (s * s + c * c).sqrt() / tail.len() as f64;
        assert!(20.0 * (amp / 0.5).log10() < -60.0, "image at {amp}");
    }

    #[test]
    fn block_size_does_not_change_the_output() {
        let input = tone(44_100, 440.0, 0.5);
        let a = through(44_100, 16_000, &input, 1);
        let b = through(44_100, 16_000, &input, 4410);
        assert_eq!(a, b);
    }

    #[test]
    fn the_same_rate_passes_samples_through_untouched() {
        let input = tone(16_000, 440.0, 0.1);
        assert_eq!(through(16_000, 16_000, &input, 100), input);
    }

    #[test]
    fn reset_starts_a_new_stream() {
        let input = tone(48_000, 440.0, 0.1);
        let mut r = Resampler::new(48_000, 16_000);
        let mut first = Vec::new();
        r.process(&input, &mut first);
        r.reset();
        let mut second = Vec::new();
        r.process(&input, &mut second);
        assert_eq!(first, second);
    }
}
