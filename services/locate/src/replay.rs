//! Offline replay: a `mosquitto_sub -v -F %j` capture through a locator into estimate lines.
//!
//! Deterministic and broker-free: time is the capture's `tst`, so two runs give the same bytes.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{EstimatorKind, LocateConfig, LocatorSettings};
use crate::domain::house::House;
use crate::domain::locator::{Counters, DeviceLocation, Handled, Locator};
use crate::error::{Error, Result};

/// One line of ESTIMATES.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateLine {
    /// Capture time of the message that caused it (ms since the Unix epoch).
    pub ts_ms: u64,
    /// Device id.
    pub id: String,
    /// Room id, `unknown` or `not_home`.
    pub room: String,
    /// Floor id, if known.
    pub floor: Option<String>,
    /// Position (m), if known.
    pub x: Option<f64>,
    /// Position (m), if known.
    pub y: Option<f64>,
    /// Position (m), if known.
    pub z: Option<f64>,
    /// 0 to 1.
    pub confidence: f64,
}

impl EstimateLine {
    /// The line for `loc` at `ts_ms`.
    pub fn new(house: &House, loc: &DeviceLocation, ts_ms: u64) -> Self {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        EstimateLine {
            ts_ms,
            id: loc.id.clone(),
            room: loc.state(house).to_owned(),
            floor: loc.floor.map(|f| house.floors[f].id.clone()),
            x: loc.point.map(|p| round(p[0])),
            y: loc.point.map(|p| round(p[1])),
            z: loc.point.map(|p| round(p[2])),
            confidence: (loc.confidence * 1000.0).round() / 1000.0,
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Lines read.
    pub lines: u64,
    /// Lines that were not a `-F %j` record (bad JSON, no topic, bad `tst`).
    pub bad_lines: u64,
    /// Estimate lines written.
    pub estimates: u64,
    /// The locator's counters at the end.
    pub counters: Counters,
}

#[derive(Deserialize)]
struct CaptureLine {
    tst: String,
    topic: String,
    payload: serde_json::Value,
}

/// Replays `input` through a locator of `kind`, writing one [`EstimateLine`] per located update
/// and per device going `not_home`.
pub fn replay(
    house: Arc<House>,
    settings: LocatorSettings,
    kind: EstimatorKind,
    input: impl BufRead,
    mut out: impl Write,
) -> std::io::Result<ReplayStats> {
    let mut locator = Locator::new(house.clone(), settings, kind);
    let mut stats = ReplayStats::default();
    let mut next_tick = 0u64;
    let mut pending = Vec::new();
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        stats.lines += 1;
        let Ok(rec) = serde_json::from_str::<CaptureLine>(&line) else {
            stats.bad_lines += 1;
            continue;
        };
        let Some(ts_ms) = parse_tst(&rec.tst) else {
            stats.bad_lines += 1;
            continue;
        };
        if ts_ms >= next_tick {
            locator.tick(ts_ms, |loc| pending.push(EstimateLine::new(&house, loc, ts_ms)));
            next_tick = ts_ms + 1000;
        }
        for e in pending.drain(..) {
            write_line(&mut out, &e)?;
            stats.estimates += 1;
        }
        // `-F %j` embeds a JSON payload as-is and anything else as a string.
        let payload = match &rec.payload {
            serde_json::Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        if let Handled::Located(loc) = locator.handle(&rec.topic, &payload, ts_ms) {
            let e = EstimateLine::new(&house, loc, ts_ms);
            write_line(&mut out, &e)?;
            stats.estimates += 1;
        }
    }
    stats.counters = locator.counters().clone();
    out.flush()?;
    Ok(stats)
}

/// `roomsense locate replay --config HOUSE.toml --input CAPTURE --out ESTIMATES.jsonl
/// [--estimator NAME]`: the estimator defaults to the config's.
pub fn replay_files(
    config: &Path,
    input: &Path,
    output: &Path,
    estimator: Option<EstimatorKind>,
) -> Result<ReplayStats> {
    fn io(file: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io { file: file.to_path_buf(), source }
    }
    let text = std::fs::read_to_string(config).map_err(io(config))?;
    let v = LocateConfig::load(&text, config)?;
    let reader = std::io::BufReader::new(std::fs::File::open(input).map_err(io(input))?);
    let writer = std::io::BufWriter::new(std::fs::File::create(output).map_err(io(output))?);
    replay(Arc::new(v.house), v.settings, estimator.unwrap_or(v.estimator), reader, writer)
        .map_err(io(output))
}

fn write_line(out: &mut impl Write, e: &EstimateLine) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, e)?;
    out.write_all(b"\n")
}

/// Parses mosquitto_sub's `%j` time, `2023-11-27T19:47:59.913652-0500` (also `Z`, `+05:30`, no
/// fraction), into ms since the Unix epoch.
pub fn parse_tst(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        let ms: String = digits.chars().chain("000".chars()).take(3).collect();
        frac_ms = ms.parse().ok()?;
    }
    let offset_min = match b.get(i) {
        None | Some(b'Z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = s[i + 1..].replace(':', "");
            if rest.len() != 4 {
                return None;
            }
            let (h, m) = (num_str(&rest[..2])?, num_str(&rest[2..])?);
            let v = h * 60 + m;
            if sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + frac_ms).ok()
}

fn num_str(s: &str) -> Option<i64> {
    s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats ms since the epoch as `%j`'s UTC form, `2021-08-03T12:00:00.000000+0000`.
pub fn format_tst(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        (ms % 1000) * 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mosquitto_times_with_offsets_parse_to_utc_milliseconds() {
        // 2023-11-28T00:47:59.913Z
        assert_eq!(parse_tst("2023-11-27T19:47:59.913652-0500"), Some(1_701_132_479_913));
        assert_eq!(parse_tst("2023-11-28T00:47:59.913Z"), Some(1_701_132_479_913));
        assert_eq!(parse_tst("2023-11-28T06:17:59+05:30"), Some(1_701_132_479_000));
        assert_eq!(parse_tst("yesterday"), None);
        assert_eq!(parse_tst("2023-13-28T00:47:59Z"), None);
    }

    #[test]
    fn formatted_times_parse_back() {
        for ms in [0, 1_627_997_452_227, 1_701_132_479_913] {
            assert_eq!(parse_tst(&format_tst(ms)), Some(ms));
        }
    }

    #[test]
    fn a_replay_is_deterministic_and_counts_bad_lines() {
        let text = r#"
[locate.floors.ground]
z_min_m = 0.0
z_max_m = 3.0
[locate.rooms.kitchen]
floor = "ground"
polygon = [[0, 0], [4, 0], [4, 4], [0, 4]]
[locate.nodes.kitchen]
point = [2.0, 2.0, 2.0]
[locate.nodes.hall]
point = [6.0, 2.0, 2.0]
"#;
        let v = LocateConfig::load(text, Path::new("h.toml")).expect("valid");
        let capture = concat!(
            r#"{"tst":"2023-11-27T19:47:59.913652-0500","topic":"espresense/devices/a/kitchen","qos":0,"retain":0,"payloadlen":14,"payload":{"distance":1.2}}"#,
            "\n",
            "garbage\n",
            r#"{"tst":"2023-11-27T19:48:00.013652-0500","topic":"espresense/devices/a/hall","qos":0,"retain":0,"payloadlen":5,"payload":"oops!"}"#,
            "\n",
            r#"{"tst":"2023-11-27T19:48:00.113652-0500","topic":"espresense/devices/a/hall","qos":0,"retain":0,"payloadlen":14,"payload":{"distance":3.1}}"#,
            "\n",
        );
        let run = || {
            let mut out = Vec::new();
            let stats = replay(
                Arc::new(v.house.clone()),
                v.settings.clone(),
                EstimatorKind::RoomFilter,
                capture.as_bytes(),
                &mut out,
            )
            .expect("in memory");
            (stats, out)
        };
        let (stats, out) = run();
        assert_eq!(run().1, out);
        assert_eq!(stats.bad_lines, 1);
        assert_eq!(stats.estimates, 2);
        assert_eq!(stats.counters.rejected(crate::Rejection::MalformedJson), 1);
        let first: EstimateLine =
            serde_json::from_slice(out.split(|&b| b == b'\n').next().expect("line")).expect("json");
        assert_eq!(first.room, "kitchen");
        assert_eq!(first.ts_ms, 1_701_132_479_913);
    }
}
