//! Replays a JSONL trace as an [`AdvertisementSource`], paced by the trace's own timestamps.

use std::io::BufRead;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

use super::trace::parse_line;
use super::{AdvertisementSource, SourceEvent};
use crate::error::Error;

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the pipeline goes.
    Max,
    /// `N` times real time (1 = as recorded).
    Factor(f64),
}

impl FromStr for Speed {
    type Err = String;

    /// `max` or a positive number.
    fn from_str(s: &str) -> Result<Speed, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(Speed::Factor(v)),
            _ => Err(format!("speed must be a positive number or max, got {s:?}")),
        }
    }
}

/// A trace being replayed. Bad lines become [`SourceEvent::Rejected`] with their line number and
/// the replay goes on; the trace's `ts_ms` is the clock ([`AdvertisementSource::trace_clock`]).
#[derive(Debug)]
pub struct ReplaySource<R> {
    reader: R,
    path: String,
    speed: Speed,
    line_no: u64,
    buf: String,
    start: Option<(Instant, u64)>,
    rejected: u64,
}

impl<R: BufRead> ReplaySource<R> {
    /// Replays lines from `reader`; `path` names it in errors.
    pub fn new(reader: R, path: impl Into<String>, speed: Speed) -> ReplaySource<R> {
        ReplaySource {
            reader,
            path: path.into(),
            speed,
            line_no: 0,
            buf: String::new(),
            start: None,
            rejected: 0,
        }
    }

    /// Lines rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The next event without pacing (for synchronous use: tests, benches, `--speed max`).
    pub fn next_unpaced(&mut self) -> Result<Option<SourceEvent>, Error> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|source| Error::TraceIo { path: self.path.clone(), source })?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let line = self.buf.trim();
            if line.is_empty() {
                continue;
            }
            return Ok(Some(match parse_line(line) {
                Ok(adv) => SourceEvent::Advert(adv),
                Err(kind) => {
                    self.rejected += 1;
                    tracing::debug!(count = self.rejected, error = %kind, "trace line rejected");
                    SourceEvent::Rejected(Error::TraceLine { line: self.line_no, kind })
                }
            }));
        }
    }

    /// When the advert stamped `ts_ms` is due, for speed `Factor`.
    fn due(&mut self, ts_ms: u64, factor: f64) -> Instant {
        let (start, first_ts) = *self.start.get_or_insert((Instant::now(), ts_ms));
        let offset_ms = ts_ms.saturating_sub(first_ts) as f64 / factor;
        start + Duration::from_secs_f64(offset_ms / 1000.0)
    }
}

impl<R: BufRead + Send> AdvertisementSource for ReplaySource<R> {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, Error> {
        let ev = self.next_unpaced()?;
        match (&ev, self.speed) {
            (Some(SourceEvent::Advert(adv)), Speed::Factor(f)) => {
                let due = self.due(adv.ts_ms, f);
                tokio::time::sleep_until(due).await;
            }
            (Some(_), Speed::Max) if self.line_no.is_multiple_of(256) => {
                tokio::task::yield_now().await
            }
            _ => {}
        }
        Ok(ev)
    }

    fn trace_clock(&self) -> bool {
        true
    }
}

/// A trace held in memory, replayed over and over (the demo's BLE node). Each pass is shifted
/// in time to follow the previous one, so the trace clock never runs backwards.
#[derive(Debug)]
pub struct ReplayLoop {
    trace: &'static str,
    name: &'static str,
    speed: Speed,
    pass: ReplaySource<&'static [u8]>,
    offset_ms: u64,
    first_ts: Option<u64>,
    last_ts: u64,
    passes: u64,
}

/// Trace time between the last advert of a pass and the first of the next.
const LOOP_GAP_MS: u64 = 1000;

impl ReplayLoop {
    /// Replays `trace` (JSONL text, `name` in errors) forever at `speed`.
    pub fn new(trace: &'static str, name: &'static str, speed: Speed) -> ReplayLoop {
        ReplayLoop {
            trace,
            name,
            speed,
            pass: ReplaySource::new(trace.as_bytes(), name, speed),
            offset_ms: 0,
            first_ts: None,
            last_ts: 0,
            passes: 0,
        }
    }

    /// Passes completed so far.
    pub fn passes(&self) -> u64 {
        self.passes
    }
}

impl AdvertisementSource for ReplayLoop {
    async fn next_event(&mut self) -> Result<Option<SourceEvent>, Error> {
        // Two tries: the end of one pass, then the first line of the next. A trace without a
        // single advert ends the replay instead of spinning.
        for _ in 0..2 {
            match self.pass.next_event().await? {
                Some(SourceEvent::Advert(mut adv)) => {
                    let first = *self.first_ts.get_or_insert(adv.ts_ms);
                    self.last_ts = self.last_ts.max(adv.ts_ms);
                    adv.ts_ms = adv.ts_ms.saturating_sub(first) + self.offset_ms;
                    return Ok(Some(SourceEvent::Advert(adv)));
                }
                Some(other) => return Ok(Some(other)),
                None => {
                    let Some(first) = self.first_ts else { return Ok(None) };
                    self.offset_ms += self.last_ts - first + LOOP_GAP_MS;
                    self.passes += 1;
                    self.pass = ReplaySource::new(self.trace.as_bytes(), self.name, self.speed);
                }
            }
        }
        Ok(None)
    }

    fn trace_clock(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = concat!(
        r#"{"ts_ms":1000,"addr":"aa:bb:cc:dd:ee:01","addr_type":"public","rssi":-60}"#,
        "\n",
        "garbage\n",
        "\n",
        r#"{"ts_ms":3000,"addr":"aa:bb:cc:dd:ee:02","addr_type":"public","rssi":-60}"#,
        "\n",
    );

    #[test]
    fn speed_parses_max_and_positive_numbers() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert!("0".parse::<Speed>().is_err() && "x".parse::<Speed>().is_err());
    }

    #[test]
    fn a_bad_line_is_rejected_with_its_number_and_the_replay_goes_on() {
        let mut r = ReplaySource::new(TRACE.as_bytes(), "t.jsonl", Speed::Max);
        assert!(matches!(r.next_unpaced().unwrap(), Some(SourceEvent::Advert(_))));
        match r.next_unpaced().unwrap() {
            Some(SourceEvent::Rejected(Error::TraceLine { line, .. })) => assert_eq!(line, 2),
            other => panic!("expected a rejected line, got {other:?}"),
        }
        assert!(
            matches!(r.next_unpaced().unwrap(), Some(SourceEvent::Advert(a)) if a.ts_ms == 3000)
        );
        assert!(r.next_unpaced().unwrap().is_none());
        assert_eq!(r.rejected(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn speed_two_replays_at_twice_the_recorded_pace() {
        let mut r = ReplaySource::new(TRACE.as_bytes(), "t.jsonl", Speed::Factor(2.0));
        let t0 = Instant::now();
        while r.next_event().await.unwrap().is_some() {}
        assert_eq!(t0.elapsed(), Duration::from_secs(1), "2 s of trace at speed 2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_replays_the_trace_again_with_time_running_on() {
        let mut r = ReplayLoop::new(TRACE, "t.jsonl", Speed::Max);
        let mut ts = Vec::new();
        while ts.len() < 4 {
            if let Some(SourceEvent::Advert(a)) = r.next_event().await.unwrap() {
                ts.push(a.ts_ms);
            }
        }
        // Pass 1 at 0 and 2000 (rebased to the first advert); pass 2 one gap later.
        assert_eq!(ts, [0, 2000, 3000, 5000]);
        assert_eq!(r.passes(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_over_a_trace_without_adverts_ends() {
        let mut r = ReplayLoop::new("garbage\n", "t.jsonl", Speed::Max);
        assert!(matches!(r.next_event().await.unwrap(), Some(SourceEvent::Rejected(_))));
        assert!(r.next_event().await.unwrap().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn speed_max_does_not_wait() {
        let mut r = ReplaySource::new(TRACE.as_bytes(), "t.jsonl", Speed::Max);
        let t0 = Instant::now();
        while r.next_event().await.unwrap().is_some() {}
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
