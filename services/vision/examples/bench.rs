//! roomsense's side of the vision benchmark (`bench/run` drives it next to onnxruntime):
//! per-frame milliseconds of decode, resize, inference and NMS on the shipped photographs, and
//! the CPU one camera at 2 fps costs with and without motion gating. JSON lines on stdout.
//!
//! `cargo run --release -p roomsense-vision --example bench -- [RUNS]`

use std::time::{Duration, Instant};

use roomsense_vision::{
    CameraWorker, Frame, FrameSource, MotionSettings, PersonDetector, SourceError,
    sample_images_dir, source_models_dir,
};

const IMAGES: [&str; 5] =
    ["astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time this thread has used: the first field of /proc/thread-self/schedstat, nanoseconds.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// A camera replaying frames from memory, as GStreamer's appsink hands them over.
struct Replay {
    frames: Vec<Frame>,
    next: usize,
}

impl FrameSource for Replay {
    fn describe(&self) -> String {
        "replay".into()
    }
    fn grab(&mut self, _now: Duration) -> Result<Frame, SourceError> {
        let f = self.frames[self.next % self.frames.len()].clone();
        self.next += 1;
        Ok(f)
    }
}

/// A 640×480 frame of `photo` with sensor-like noise (±3 grey levels, fixed seed).
fn camera_frame(photo: &Frame, seed: u32) -> Frame {
    let (w, h) = (640usize, 480usize);
    let mut rgb = Vec::with_capacity(w * h * 3);
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for y in 0..h {
        for x in 0..w {
            let sx = x * photo.width() as usize / w;
            let sy = y * photo.height() as usize / h;
            let p = &photo.rgb()[(sy * photo.width() as usize + sx) * 3..][..3];
            for c in p {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (state % 7) as i16 - 3;
                rgb.push((*c as i16 + noise).clamp(0, 255) as u8);
            }
        }
    }
    Frame::from_rgb(w as u32, h as u32, rgb).expect("sizes match")
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let t = Instant::now();
    let detector = PersonDetector::load(&source_models_dir(), "person").expect("model should load");
    println!("{{\"load_ms\":{:.1}}}", t.elapsed().as_secs_f64() * 1000.0);
    let mut photos = Vec::new();
    for name in IMAGES {
        let bytes = std::fs::read(sample_images_dir().join(name)).expect("photo");
        let frame = Frame::decode(&bytes).expect("decodes");
        let (mut dec, mut res, mut inf, mut nms, mut tot) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut top = 0.0;
        for i in 0..runs + 3 {
            let t0 = Instant::now();
            let f = Frame::decode(&bytes).expect("decodes");
            let decode = t0.elapsed().as_secs_f64() * 1000.0;
            let (people, timings) = detector.detect(&f).expect("runs");
            let total = t0.elapsed().as_secs_f64() * 1000.0;
            top = people.first().map_or(0.0, |d| d.score);
            if i >= 3 {
                dec.push(decode);
                res.push(timings.resize_ms);
                inf.push(timings.infer_ms);
                nms.push(timings.nms_ms);
                tot.push(total);
            }
        }
        println!(
            "{{\"image\":\"{name}\",\"decode_ms\":{:.3},\"resize_ms\":{:.3},\"infer_ms\":{:.3},\"nms_ms\":{:.3},\"total_ms\":{:.3},\"person_score\":{top:.3}}}",
            median(dec),
            median(res),
            median(inf),
            median(nms),
            median(tot)
        );
        photos.push(frame);
    }

    // One camera at 2 fps for two minutes of camera time, per scene, gate on and off.
    let frames = 240usize;
    let still = vec![camera_frame(&photos[0], 1), camera_frame(&photos[0], 2)];
    let busy: Vec<Frame> =
        photos.iter().enumerate().map(|(i, p)| camera_frame(p, i as u32)).collect();
    for (scene, source) in [("static", still), ("busy", busy)] {
        for gating in [true, false] {
            let motion = MotionSettings {
                pixel_delta: 12,
                changed_fraction: 0.01,
                idle_interval: Duration::from_secs(5),
                enabled: gating,
            };
            let replay = Replay { frames: source.clone(), next: 0 };
            let mut worker =
                CameraWorker::new(Box::new(replay), vec![], motion, Duration::from_secs(30));
            let cpu0 = thread_cpu();
            let mut inferences = 0;
            for i in 0..frames {
                let step = worker.step(Duration::from_millis(500 * i as u64), &detector, false);
                inferences += usize::from(step.ran_model);
            }
            let cpu = (thread_cpu() - cpu0).as_secs_f64();
            let camera_s = frames as f64 * 0.5;
            println!(
                "{{\"scene\":\"{scene}\",\"gating\":{gating},\"frames\":{frames},\"inferences\":{inferences},\"cpu_ms_per_frame\":{:.3},\"cpu_s_per_camera_hour\":{:.1},\"core_pct\":{:.2}}}",
                cpu * 1000.0 / frames as f64,
                cpu / camera_s * 3600.0,
                cpu / camera_s * 100.0
            );
        }
    }
}
