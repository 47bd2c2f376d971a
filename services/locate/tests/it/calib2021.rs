//! Evaluation on `ble-rss-fingerprints-calib2021` (a real flat, 6 receivers, LiDAR ground truth).
//!
//! Each RSSI row becomes one ESPresense v4 device message per receiver that heard the tag
//! (`distance` from a path-loss model fitted on the dataset's *calibration* set, `var` over the
//! last 5 rows), written in `mosquitto_sub -v -F %j` form and replayed through every estimator
//! with the library's replay. Tuning used the calibration set only; the robot and walking tests
//! are reported as they came out. Shared by `examples/calib2021.rs` (prints the report) and the
//! test below (asserts the issue's bar).

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roomsense_locate::{EstimateLine, EstimatorKind, LocateConfig, Validated, format_tst, replay};

/// The flat as a roomsense house.
pub const HOUSE_TOML: &str = include_str!("../../eval/calib2021.toml");
/// Device id used for the tag.
const TAG: &str = "tag:calib2021";
/// Height of the tag on the robot (m).
const TAG_HEIGHT_M: f64 = 1.3;

/// Where the dataset is by default: `shared/` beside the repository.
pub fn default_dataset_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/ble-rss-fingerprints-calib2021")
}

/// One row: time, ground truth (absent in the walking test: interpolated), RSSI per anchor.
#[derive(Debug, Clone)]
pub struct Row {
    pub ts_ms: u64,
    pub truth: Option<[f64; 2]>,
    pub rssi: [Option<f64>; 6],
}

/// Reads one of the dataset's `*_df.csv` files.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (ts, x, y) = (col("ts").ok_or("no ts column")?, col("x"), col("y"));
    let rssi_cols: Vec<usize> = (1..=6)
        .map(|k| col(&format!("rssi_{k}")).ok_or("no rssi column"))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.trim().parse::<f64>().ok());
        let ts_ns = num(ts).ok_or_else(|| format!("{}: line {}: bad ts", path.display(), n + 2))?;
        let truth = match (x.and_then(num), y.and_then(num)) {
            (Some(x), Some(y)) => Some([x, y]),
            _ => None,
        };
        let mut rssi = [None; 6];
        for (k, &c) in rssi_cols.iter().enumerate() {
            rssi[k] = num(c);
        }
        rows.push(Row { ts_ms: (ts_ns / 1e6).round() as u64, truth, rssi });
    }
    Ok(rows)
}

/// Fills the walking test's ground truth, which the dataset does not time-stamp.
///
/// The walker went back and forth along `tests_path_reference.csv` (bedroom end near anchor 2,
/// kitchen end near anchor 6; the segments are joined where one does not start at the previous
/// end: the walker went into the bathroom and came back out). The turnarounds are timed by the
/// peaks of the two end anchors' RSSI (15-row moving average, ends told apart by a ±8 dB margin
/// between them); between turnarounds the speed is taken as constant. This is an approximation:
/// the walking numbers are less exact than the robot's, whose truth is LiDAR.
pub fn walk_truth(rows: &mut [Row], path_csv: &Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(path_csv).map_err(|e| format!("{}: {e}", path_csv.display()))?;
    let mut pts: Vec<[f64; 2]> = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        let [x0, y0, x1, y1] = v[..] else { continue };
        if pts.last() != Some(&[x0, y0]) {
            pts.push([x0, y0]);
        }
        pts.push([x1, y1]);
    }
    let seg_len: Vec<f64> = pts.windows(2).map(|w| dist2(w[0], w[1])).collect();
    let total: f64 = seg_len.iter().sum();
    let at = |mut s: f64| {
        s = s.clamp(0.0, total);
        for (i, &l) in seg_len.iter().enumerate() {
            if s <= l {
                let f = if l > 0.0 { s / l } else { 0.0 };
                return [
                    pts[i][0] + f * (pts[i + 1][0] - pts[i][0]),
                    pts[i][1] + f * (pts[i + 1][1] - pts[i][1]),
                ];
            }
            s -= l;
        }
        pts[pts.len() - 1]
    };

    let smooth = |a: usize| -> Vec<f64> {
        (0..rows.len())
            .map(|i| {
                let w: Vec<f64> = rows[i.saturating_sub(7)..(i + 8).min(rows.len())]
                    .iter()
                    .filter_map(|r| r.rssi[a])
                    .collect();
                if w.is_empty() { -100.0 } else { w.iter().sum::<f64>() / w.len() as f64 }
            })
            .collect()
    };
    let (bed, kitchen) = (smooth(1), smooth(5));
    // Turnarounds: (row, at the kitchen end?), the peak of the end's anchor in each episode.
    let mut turns: Vec<(usize, bool)> = Vec::new();
    let mut episode: Option<(bool, usize, usize)> = None;
    let close = |ep: (bool, usize, usize), turns: &mut Vec<(usize, bool)>| {
        let sig = if ep.0 { &kitchen } else { &bed };
        let peak = (ep.1..=ep.2).max_by(|&a, &b| sig[a].total_cmp(&sig[b])).unwrap_or(ep.1);
        turns.push((peak, ep.0));
    };
    for i in 0..rows.len() {
        let diff = kitchen[i] - bed[i];
        let end = if diff > 8.0 {
            Some(true)
        } else if diff < -8.0 {
            Some(false)
        } else {
            None
        };
        match (end, episode) {
            (Some(e), Some((cur, s, _))) if e == cur => episode = Some((cur, s, i)),
            (Some(e), prev) => {
                if let Some(p) = prev {
                    close(p, &mut turns);
                }
                episode = Some((e, i, i));
            }
            (None, _) => {}
        }
    }
    if let Some(p) = episode {
        close(p, &mut turns);
    }
    let legs: Vec<f64> =
        turns.windows(2).map(|w| (rows[w[1].0].ts_ms - rows[w[0].0].ts_ms) as f64).collect();
    let speed = total / (legs.iter().sum::<f64>() / legs.len().max(1) as f64);
    for i in 0..rows.len() {
        let t = rows[i].ts_ms as f64;
        let pos = match turns.iter().position(|&(r, _)| r > i) {
            // Before the first turnaround: at the bedroom end, where the walk starts.
            Some(0) => 0.0,
            Some(k) => {
                let (a, b) = (turns[k - 1], turns[k]);
                let f = (t - rows[a.0].ts_ms as f64)
                    / (rows[b.0].ts_ms as f64 - rows[a.0].ts_ms as f64);
                if b.1 { f * total } else { (1.0 - f) * total }
            }
            // After the last one: keep walking away from it at the mean speed.
            None => {
                let (r, at_kitchen) = turns.last().copied().unwrap_or((0, false));
                let walked = (t - rows[r].ts_ms as f64) * speed;
                if at_kitchen { total - walked } else { walked }
            }
        };
        rows[i].truth = Some(at(pos));
    }
    Ok(())
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Path-loss model `rssi = ref − 10·n·log10(d)`, fitted by least squares.
#[derive(Debug, Clone, Copy)]
pub struct PathLoss {
    pub ref_dbm: f64,
    pub n: f64,
}

/// Fits the model on rows with ground truth (the calibration set).
pub fn fit_path_loss(v: &Validated, rows: &[Row]) -> PathLoss {
    let (mut sx, mut sy, mut sxx, mut sxy, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for r in rows {
        let Some(t) = r.truth else { continue };
        for (a, rssi) in r.rssi.iter().enumerate() {
            let Some(rssi) = rssi else { continue };
            let x = -10.0 * anchor_distance(v, a, t).log10();
            sx += x;
            sy += rssi;
            sxx += x * x;
            sxy += x * rssi;
            k += 1.0;
        }
    }
    let n = (k * sxy - sx * sy) / (k * sxx - sx * sx);
    PathLoss { ref_dbm: (sy - n * sx) / k, n }
}

fn anchor_distance(v: &Validated, a: usize, t: [f64; 2]) -> f64 {
    let p = v.house.nodes[a].point;
    ((p[0] - t[0]).powi(2) + (p[1] - t[1]).powi(2) + (p[2] - TAG_HEIGHT_M).powi(2)).sqrt()
}

/// The rows as a `mosquitto_sub -v -F %j` capture of ESPresense v4 messages. Receivers report
/// 50 ms apart within a row, as unsynchronised nodes would.
pub fn to_capture(rows: &[Row], model: PathLoss) -> String {
    let mut out = String::new();
    let mut window: [Vec<f64>; 6] = Default::default();
    for r in rows {
        for (a, rssi) in r.rssi.iter().enumerate() {
            let Some(rssi) = *rssi else { continue };
            let d = 10f64.powf((model.ref_dbm - rssi) / (10.0 * model.n));
            let w = &mut window[a];
            w.push(d);
            if w.len() > 5 {
                w.remove(0);
            }
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / w.len() as f64;
            let payload = format!(
                r#"{{"id":"{TAG}","rssi@1m":{},"rssi":{rssi:.2},"rxAdj":0,"distance":{d:.2},"var":{var:.2}}}"#,
                model.ref_dbm.round()
            );
            let _ = writeln!(
                out,
                r#"{{"tst":"{}","topic":"espresense/devices/{TAG}/anchor_{}","qos":0,"retain":0,"payloadlen":{},"payload":{payload}}}"#,
                format_tst(r.ts_ms + 50 * a as u64),
                a + 1,
                payload.len()
            );
        }
    }
    out
}

/// Scores of one estimator on one test.
#[derive(Debug, Clone)]
pub struct Score {
    pub estimator: EstimatorKind,
    pub rows: usize,
    pub room_accuracy: f64,
    pub switches: usize,
    pub true_switches: usize,
    pub median_error_m: f64,
    pub p90_error_m: f64,
}

impl Score {
    /// Switches beyond the true ones.
    pub fn spurious(&self) -> usize {
        self.switches.saturating_sub(self.true_switches)
    }
}

/// Replays `rows` through `kind` and scores it against the ground truth.
pub fn score(
    v: &Validated,
    rows: &[Row],
    model: PathLoss,
    kind: EstimatorKind,
    name: &str,
) -> Score {
    let capture = to_capture(rows, model);
    let mut out = Vec::new();
    replay(Arc::new(v.house.clone()), v.settings.clone(), kind, capture.as_bytes(), &mut out)
        .expect("in-memory replay");
    // `CALIB2021_DUMP=DIR` keeps the capture, the estimates and the truth for a closer look.
    if let Some(dir) = std::env::var_os("CALIB2021_DUMP") {
        let dir = PathBuf::from(dir);
        let slug = name.split(' ').next().unwrap_or(name);
        let truth: String = rows
            .iter()
            .filter_map(|r| r.truth.map(|t| format!("{},{:.3},{:.3}\n", r.ts_ms, t[0], t[1])))
            .collect();
        let _ = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(format!("{slug}.capture.jsonl")), &capture))
            .and_then(|()| std::fs::write(dir.join(format!("{slug}.truth.csv")), truth))
            .and_then(|()| std::fs::write(dir.join(format!("{slug}.{}.jsonl", kind.name())), &out));
    }
    let lines: Vec<EstimateLine> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("estimate line"))
        .collect();
    let mut next = 0;
    let mut current: Option<&EstimateLine> = None;
    let (mut hits, mut errors) = (0usize, Vec::new());
    let (mut est_rooms, mut true_rooms) = (Vec::new(), Vec::new());
    for (i, r) in rows.iter().enumerate() {
        // The estimate in force just before the next row starts.
        let until = rows.get(i + 1).map_or(u64::MAX, |n| n.ts_ms);
        while next < lines.len() && lines[next].ts_ms < until {
            current = Some(&lines[next]);
            next += 1;
        }
        let t = r.truth.expect("ground truth");
        let truth_room = v
            .house
            .room_near(None, t, 1.0)
            .map(|i| v.house.rooms[i].id.as_str())
            .unwrap_or("unknown");
        true_rooms.push(truth_room);
        let Some(e) = current else { continue };
        est_rooms.push(e.room.as_str());
        if e.room == truth_room {
            hits += 1;
        }
        if let (Some(x), Some(y)) = (e.x, e.y) {
            errors.push(dist2([x, y], t));
        }
    }
    let switches = |s: &[&str]| s.windows(2).filter(|w| w[0] != w[1]).count();
    errors.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        errors.get(((errors.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
    };
    Score {
        estimator: kind,
        rows: rows.len(),
        room_accuracy: hits as f64 / rows.len() as f64,
        switches: switches(&est_rooms),
        true_switches: switches(&true_rooms),
        median_error_m: pct(0.5),
        p90_error_m: pct(0.9),
    }
}

/// Every estimator's scores on one test set.
pub type Report = Vec<(&'static str, Vec<Score>)>;

/// Every estimator on every test set, as (test name, scores).
pub fn evaluate(dataset: &Path) -> Result<(PathLoss, Report), String> {
    // `CALIB2021_EXTRA_TOML` appends settings (e.g. a `[locate.room_filter]` table) for sweeps.
    let text =
        format!("{HOUSE_TOML}\n{}", std::env::var("CALIB2021_EXTRA_TOML").unwrap_or_default());
    let v =
        LocateConfig::load(&text, Path::new("eval/calib2021.toml")).map_err(|e| e.to_string())?;
    let calib = read_rows(&dataset.join("calibration_df.csv"))?;
    let robot = read_rows(&dataset.join("tests_test_robot_df.csv"))?;
    let mut walk = read_rows(&dataset.join("tests_test_walk_df.csv"))?;
    walk_truth(&mut walk, &dataset.join("tests_path_reference.csv"))?;
    let model = fit_path_loss(&v, &calib);
    let mut report = Vec::new();
    for (name, rows) in [("walk", &walk), ("robot", &robot), ("calibration (tuning set)", &calib)] {
        let scores = EstimatorKind::ALL.iter().map(|&k| score(&v, rows, model, k, name)).collect();
        report.push((name, scores));
    }
    Ok((model, report))
}

/// The report as a markdown table.
pub fn to_markdown(model: PathLoss, report: &[(&str, Vec<Score>)]) -> String {
    let mut s = format!(
        "Path-loss model fitted on the calibration set: rssi@1m = {:.1} dBm, absorption n = {:.2}.\n\n",
        model.ref_dbm, model.n
    );
    s.push_str("| test | estimator | rows | room accuracy | room switches (true) | spurious switches | median error (m) | p90 error (m) |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, scores) in report {
        for sc in scores {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {:.1} % | {} ({}) | {} | {:.2} | {:.2} |",
                sc.estimator.name(),
                sc.rows,
                100.0 * sc.room_accuracy,
                sc.switches,
                sc.true_switches,
                sc.spurious(),
                sc.median_error_m,
                sc.p90_error_m
            );
        }
    }
    s
}

#[test]
fn on_the_calib2021_flat_the_room_filter_has_at_most_a_third_of_nearest_nodes_spurious_switches() {
    let dir = default_dataset_dir();
    if !dir.exists() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let (model, report) = evaluate(&dir).expect("dataset readable");
    eprintln!("{}", to_markdown(model, &report));
    for (name, scores) in &report {
        let get = |k| scores.iter().find(|s| s.estimator == k).expect("scored");
        let (nearest, filter) = (get(EstimatorKind::NearestNode), get(EstimatorKind::RoomFilter));
        assert!(
            3 * filter.spurious() <= nearest.spurious(),
            "{name}: spurious {filter:?} vs {nearest:?}"
        );
        // Room accuracy is asserted where the ground truth is measured (LiDAR), not on the
        // walking test, whose truth is interpolated (see `walk_truth` and EVALUATION.md).
        if *name != "walk" {
            assert!(
                filter.room_accuracy > nearest.room_accuracy,
                "{name}: accuracy {filter:?} vs {nearest:?}"
            );
        }
    }
}
