//! GPIO lines through the kernel's character device (gpiocdev): uAPI v2 where the kernel has
//! it, v1 on the Coral's 4.14 kernel. Lines are found by name, else by chip label + offset.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, Value};
use gpiocdev::{AbiVersion, Request};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use super::{DigitalIn, DigitalOut, Edge, EdgeFuture};
use crate::config::{InputPlan, LineRef, Pull};
use crate::error::Error;

/// The consumer name the kernel shows for our lines (`gpioinfo`).
const CONSUMER: &str = "roomsense";
/// Events older than this are stamped "now": the clocks disagree, not the edge.
const MAX_EVENT_AGE: Duration = Duration::from_secs(1);

/// A line found on the system.
#[derive(Debug, Clone)]
pub(crate) struct FoundLine {
    pub(crate) chip: PathBuf,
    pub(crate) offset: u32,
}

fn describe(line: &LineRef) -> String {
    match (&line.name, &line.chip, line.offset) {
        (Some(n), Some(c), Some(o)) => format!("{n} or {c}:{o}"),
        (Some(n), _, _) => n.clone(),
        (None, Some(c), Some(o)) => format!("{c}:{o}"),
        _ => "no line".into(),
    }
}

fn line_error(part: &str, line: &LineRef, reason: impl Into<String>) -> Error {
    Error::Line {
        part: part.to_owned(),
        pin: line.pin,
        line: describe(line),
        reason: reason.into(),
    }
}

/// The kernel's ABI, detected once: v2 when it is there, else v1.
pub(crate) fn detect_abi() -> Result<AbiVersion, String> {
    gpiocdev::detect_abi_version().map_err(|e| {
        format!("{e} (no GPIO character device: is this a board with GPIO, and is /dev/gpiochip* readable?)")
    })
}

/// Finds a line by name, else by chip (label or `gpiochipN`) and offset.
pub(crate) fn find(part: &str, line: &LineRef) -> Result<FoundLine, Error> {
    if let Some(name) = &line.name
        && let Some(found) = gpiocdev::find_named_line(name)
    {
        return Ok(FoundLine { chip: found.chip, offset: found.info.offset });
    }
    let (Some(chip), Some(offset)) = (&line.chip, line.offset) else {
        return Err(line_error(part, line, "no line of that name on any gpiochip"));
    };
    let chips = gpiocdev::chip::chips()
        .map_err(|e| line_error(part, line, format!("cannot list gpiochips: {e}")))?;
    let mut seen = Vec::new();
    for path in chips {
        let Ok(c) = gpiocdev::Chip::from_path(&path) else { continue };
        let Ok(info) = c.info() else { continue };
        if info.label == *chip || info.name == *chip {
            if offset >= info.num_lines {
                return Err(line_error(
                    part,
                    line,
                    format!("{} has {} lines, no offset {offset}", info.name, info.num_lines),
                ));
            }
            return Ok(FoundLine { chip: path, offset });
        }
        seen.push(format!("{} [{}]", info.name, info.label));
    }
    Err(line_error(
        part,
        line,
        format!(
            "no gpiochip `{chip}` (found: {}); is the board profile the right one?",
            if seen.is_empty() { "none".into() } else { seen.join(", ") }
        ),
    ))
}

/// An output line.
#[derive(Debug)]
pub(crate) struct CdevOut {
    req: Request,
    offset: u32,
    part: String,
    line: LineRef,
}

/// Requests `line` as an output at `initial`.
pub(crate) fn output(
    abi: AbiVersion,
    part: &str,
    line: &LineRef,
    active_low: bool,
    initial: bool,
) -> Result<CdevOut, Error> {
    let found = find(part, line)?;
    let mut b = Request::builder();
    b.using_abi_version(abi)
        .on_chip(&found.chip)
        .with_consumer(CONSUMER)
        .with_line(found.offset)
        .as_output(Value::from(initial));
    if active_low {
        b.as_active_low();
    }
    let req = b.request().map_err(|e| line_error(part, line, request_reason(&e)))?;
    Ok(CdevOut { req, offset: found.offset, part: part.to_owned(), line: line.clone() })
}

fn request_reason(e: &gpiocdev::Error) -> String {
    match e {
        gpiocdev::Error::Uapi(_, inner) if inner.to_string().contains("busy") => {
            format!("{e}: another program holds the line (gpioinfo shows which)")
        }
        _ => e.to_string(),
    }
}

impl DigitalOut for CdevOut {
    fn set(&mut self, on: bool) -> Result<(), Error> {
        self.req
            .set_value(self.offset, Value::from(on))
            .map_err(|e| line_error(&self.part, &self.line, e.to_string()))
    }
}

/// An input line with edge events, read through tokio's reactor.
#[derive(Debug)]
pub(crate) struct CdevIn {
    fd: AsyncFd<Request>,
    offset: u32,
    debounced: bool,
    part: String,
    line: LineRef,
}

/// Requests `input`'s line for both edges: with kernel debounce and bias on uAPI v2; on v1
/// (no debounce; bias only from Linux 5.5) software debounces, and a bias the kernel refuses
/// is left to the wiring's resistor, with a warning.
pub(crate) fn input(abi: AbiVersion, part: &str, input: &InputPlan) -> Result<CdevIn, Error> {
    let line = &input.line;
    let found = find(part, line)?;
    let bias = match input.pull {
        Pull::None => None,
        Pull::Up => Some(Bias::PullUp),
        Pull::Down => Some(Bias::PullDown),
    };
    let kernel_debounce = abi == AbiVersion::V2 && !input.debounce.is_zero();
    let build = |with_bias: bool| {
        let mut b = Request::builder();
        b.using_abi_version(abi)
            .on_chip(&found.chip)
            .with_consumer(CONSUMER)
            .with_line(found.offset)
            .as_input()
            .with_edge_detection(EdgeDetection::BothEdges);
        if input.active_low {
            b.as_active_low();
        }
        if with_bias {
            b.with_bias(bias);
        }
        if kernel_debounce {
            b.with_debounce_period(input.debounce);
        }
        b.request()
    };
    let req = match build(bias.is_some()) {
        Ok(r) => r,
        Err(e) if bias.is_some() && abi == AbiVersion::V1 => {
            tracing::warn!(
                device = part,
                error = %e,
                "the kernel cannot set the pull resistor (GPIO uAPI v1 before Linux 5.5): fit one on the wiring"
            );
            build(false).map_err(|e| line_error(part, line, request_reason(&e)))?
        }
        Err(e) => return Err(line_error(part, line, request_reason(&e))),
    };
    // SAFETY: the request owns its file for as long as it lives and always returns that
    // file's descriptor; the AsyncFd owns the request, so the descriptor outlives the
    // registration.
    let fd = unsafe { AsyncFd::register_with_interest(req, Interest::READABLE) }
        .map_err(|e| line_error(part, line, format!("cannot watch the line: {e}")))?;
    Ok(CdevIn {
        fd,
        offset: found.offset,
        debounced: kernel_debounce,
        part: part.to_owned(),
        line: line.clone(),
    })
}

/// When an event stamped `timestamp_ns` happened, on tokio's clock. v1 on old kernels stamps
/// with CLOCK_REALTIME, v2 with CLOCK_MONOTONIC: the realtime reading is used when it is
/// plausible, else the event is taken as just now (it was read as soon as it arrived).
fn stamp(timestamp_ns: u64) -> Instant {
    let now = Instant::now();
    let realtime = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    match realtime.checked_sub(Duration::from_nanos(timestamp_ns)) {
        Some(age) if age <= MAX_EVENT_AGE => now.checked_sub(age).unwrap_or(now),
        _ => now,
    }
}

impl DigitalIn for CdevIn {
    fn level(&mut self) -> Result<bool, Error> {
        self.fd
            .get_ref()
            .value(self.offset)
            .map(|v| v == Value::Active)
            .map_err(|e| line_error(&self.part, &self.line, e.to_string()))
    }

    fn debounced(&self) -> bool {
        self.debounced
    }

    fn next_edge(&mut self) -> EdgeFuture<'_> {
        Box::pin(async move {
            loop {
                let mut guard = self
                    .fd
                    .readable()
                    .await
                    .map_err(|e| line_error(&self.part, &self.line, e.to_string()))?;
                let req = self.fd.get_ref();
                let pending = req
                    .has_edge_event()
                    .map_err(|e| line_error(&self.part, &self.line, e.to_string()))?;
                if !pending {
                    guard.clear_ready();
                    continue;
                }
                // Readiness is cleared only when nothing more waits, so no event is missed.
                let event = req.read_edge_event();
                if !req.has_edge_event().unwrap_or(false) {
                    guard.clear_ready();
                }
                let event = event.map_err(|e| line_error(&self.part, &self.line, e.to_string()))?;
                return Ok(Edge {
                    level: event.kind == EdgeKind::Rising,
                    at: stamp(event.timestamp_ns),
                });
            }
        })
    }
}
