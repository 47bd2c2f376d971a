//! A capture device read on its own thread: blocking reads there, blocks handed over a bounded
//! queue, and the device reopened whenever it is absent or goes away. The device itself (ALSA)
//! is behind the [`Device`] trait, so this logic is tested without sound hardware.
//!
//! When the reader falls behind, the queue fills and the capture thread waits: the device's own
//! ring buffer then overruns, which ALSA reports and the stream marks as a gap. (An unpaced test
//! device, such as ALSA's `file` plugin over `null`, is thereby paced by the reader: no loss.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{AudioBlock, AudioSource, Read};
use crate::error::SourceError;

/// Something that can be opened for capture, again and again.
pub trait Device: Send + 'static {
    /// An open capture stream.
    type Stream: Stream;
    /// The device's name (for errors).
    fn name(&self) -> &str;
    /// Opens the device; the error says why not, in the driver's words.
    fn open(&mut self) -> Result<Self::Stream, String>;
}

/// An open capture stream.
pub trait Stream {
    /// The rate the device runs at.
    fn rate_hz(&self) -> u32;
    /// Blocks for one period and appends it, as mono, to `out`.
    fn read(&mut self, out: &mut Vec<f32>) -> Result<(), StreamError>;
}

/// Why a read gave no audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// Audio was lost (overrun), the stream goes on.
    Overrun,
    /// The device is gone; it must be reopened.
    Gone(String),
}

enum Captured {
    Block(AudioBlock),
    Lost(String),
}

/// Blocks in flight between the capture thread and the reader (about 3 s at 100 ms periods).
const QUEUE: usize = 32;
/// `read` returns `Idle` after this long without audio.
const IDLE: Duration = Duration::from_millis(250);

/// A [`Device`] captured on its own thread, as an [`AudioSource`].
#[derive(Debug)]
pub struct CaptureSource {
    name: String,
    rx: Receiver<Captured>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    retry: Duration,
}

impl CaptureSource {
    /// Starts capturing `device` on a new thread, reopening it every `retry` while it fails.
    pub fn spawn<D: Device>(device: D, retry: Duration) -> Self {
        let (tx, rx) = sync_channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let name = device.name().to_owned();
        let thread = {
            let (stop, dropped) = (stop.clone(), dropped.clone());
            std::thread::Builder::new()
                .name(format!("capture {name}"))
                .spawn(move || capture(device, tx, &stop, &dropped, retry))
                .ok()
        };
        Self { name, rx, stop, dropped, thread, retry }
    }

    /// Overruns: audio the device lost.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl AudioSource for CaptureSource {
    fn read(&mut self) -> Result<Read, SourceError> {
        match self.rx.recv_timeout(IDLE) {
            Ok(Captured::Block(block)) => Ok(Read::Audio(block)),
            Ok(Captured::Lost(message)) => Err(SourceError::Unavailable {
                device: self.name.clone(),
                message,
                retry_ms: self.retry.as_millis() as u64,
            }),
            Err(RecvTimeoutError::Timeout) => Ok(Read::Idle),
            Err(RecvTimeoutError::Disconnected) => {
                Err(SourceError::Stopped { device: self.name.clone() })
            }
        }
    }
}

impl Drop for CaptureSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread wakes within one period (a read) or one retry step; it may be waiting for
        // room in the queue, so keep emptying it until the thread is gone.
        if let Some(t) = self.thread.take() {
            while !t.is_finished() {
                let _ = self.rx.recv_timeout(Duration::from_millis(10));
            }
            let _ = t.join();
        }
    }
}

/// The capture thread: open, read until the device goes, report, wait, reopen.
fn capture<D: Device>(
    mut device: D,
    tx: SyncSender<Captured>,
    stop: &AtomicBool,
    dropped: &AtomicU64,
    retry: Duration,
) {
    let mut reported = false;
    while !stop.load(Ordering::Relaxed) {
        let mut stream = match device.open() {
            Ok(s) => s,
            Err(message) => {
                // Said once per outage, not at every retry.
                if !std::mem::replace(&mut reported, true) && !send(&tx, Captured::Lost(message)) {
                    return;
                }
                wait(stop, retry);
                continue;
            }
        };
        reported = false;
        let mut gap = true;
        let rate_hz = stream.rate_hz();
        while !stop.load(Ordering::Relaxed) {
            let mut samples = Vec::new();
            match stream.read(&mut samples) {
                Ok(()) => {
                    let block = AudioBlock { samples, rate_hz, gap_before: gap };
                    if !send(&tx, Captured::Block(block)) {
                        return;
                    }
                    gap = false;
                }
                Err(StreamError::Overrun) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    gap = true;
                }
                Err(StreamError::Gone(message)) => {
                    reported = true;
                    if !send(&tx, Captured::Lost(message)) {
                        return;
                    }
                    wait(stop, retry);
                    break;
                }
            }
        }
    }
}

/// Sends, waiting for room in the queue; false when the reader is gone.
fn send(tx: &SyncSender<Captured>, message: Captured) -> bool {
    tx.send(message).is_ok()
}

/// Sleeps for `total` in small steps, returning early when told to stop.
fn wait(stop: &AtomicBool, total: Duration) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let Some(left) = until.checked_duration_since(Instant::now()) else { return };
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// What the scripted device does on each `open`: fail, or give `n` blocks then vanish.
    #[derive(Debug, Clone)]
    enum Step {
        Absent,
        Blocks(usize),
        BlocksThenOverrun(usize),
    }

    struct Scripted {
        steps: Arc<Mutex<VecDeque<Step>>>,
    }

    struct ScriptedStream {
        left: usize,
        overrun: bool,
        value: f32,
    }

    impl Device for Scripted {
        type Stream = ScriptedStream;
        fn name(&self) -> &str {
            "hw:test"
        }
        fn open(&mut self) -> Result<ScriptedStream, String> {
            match self.steps.lock().unwrap().pop_front() {
                Some(Step::Blocks(n)) => Ok(ScriptedStream { left: n, overrun: false, value: 0.5 }),
                Some(Step::BlocksThenOverrun(n)) => {
                    Ok(ScriptedStream { left: n, overrun: true, value: 0.25 })
                }
                Some(Step::Absent) | None => Err("No such device".into()),
            }
        }
    }

    impl Stream for ScriptedStream {
        fn rate_hz(&self) -> u32 {
            48_000
        }
        fn read(&mut self, out: &mut Vec<f32>) -> Result<(), StreamError> {
            if self.left == 0 {
                return Err(StreamError::Gone("No such device".into()));
            }
            self.left -= 1;
            if self.overrun && self.left == 1 {
                return Err(StreamError::Overrun);
            }
            out.extend([self.value; 480]);
            Ok(())
        }
    }

    fn source(steps: &[Step]) -> CaptureSource {
        let steps = Arc::new(Mutex::new(steps.iter().cloned().collect()));
        CaptureSource::spawn(Scripted { steps }, Duration::from_millis(10))
    }

    /// Reads until `n` results that are not `Idle` have come.
    fn next(source: &mut CaptureSource, n: usize) -> Vec<Result<(f32, bool), String>> {
        let mut got = Vec::new();
        while got.len() < n {
            match source.read() {
                Ok(Read::Audio(b)) => got.push(Ok((b.samples[0], b.gap_before))),
                Ok(Read::Idle) => {}
                Ok(Read::End) => panic!("a device does not end"),
                Err(e) => got.push(Err(e.to_string())),
            }
        }
        got
    }

    #[test]
    fn a_device_that_vanishes_is_reported_and_reopened_with_a_gap() {
        let mut s = source(&[Step::Blocks(2), Step::Absent, Step::Absent, Step::Blocks(1)]);
        let got = next(&mut s, 4);
        assert_eq!(got[0], Ok((0.5, true)));
        assert_eq!(got[1], Ok((0.5, false)));
        assert_eq!(
            got[2],
            Err("microphone hw:test: No such device (retrying every 10 ms)".to_owned())
        );
        // Two failed opens later, the device is back: one report for the whole outage.
        assert_eq!(got[3], Ok((0.5, true)));
    }

    #[test]
    fn an_absent_device_is_reported_once_then_picked_up_when_it_appears() {
        let mut s = source(&[Step::Absent, Step::Absent, Step::Absent, Step::Blocks(1)]);
        let got = next(&mut s, 2);
        assert!(got[0].as_ref().unwrap_err().contains("No such device"));
        assert_eq!(got[1], Ok((0.5, true)));
    }

    #[test]
    fn an_overrun_marks_the_next_block_as_after_a_gap() {
        let mut s = source(&[Step::BlocksThenOverrun(4)]);
        let got = next(&mut s, 3);
        assert_eq!(got, vec![Ok((0.25, true)), Ok((0.25, false)), Ok((0.25, true))]);
        assert_eq!(s.dropped(), 1);
    }

    #[test]
    fn dropping_the_source_stops_its_thread() {
        let s = source(&[]);
        drop(s); // joins: would hang if the retry loop ignored the stop flag
    }
}
