//! The person model's inference alone, with and without tract's `conv_nhwc` rewrite, in
//! alternating rounds: the evidence for `PersonDetector`'s plan (see `bench/PROFILE.md`).
//!
//! `cargo run --release -p roomsense-vision --example variants -- [RUNS] [VARIANT...]`
//! VARIANT is `plain` (NCHW plan, into_optimized) or `conv_nhwc`; default both, twice. One
//! variant alone is what `perf record` profiles.

use std::time::Instant;

use roomsense_vision::{Frame, sample_images_dir, source_models_dir};
use tract::prelude::*;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let mut variants: Vec<String> = args.collect();
    if variants.is_empty() {
        variants = ["plain", "conv_nhwc", "plain", "conv_nhwc"].map(String::from).to_vec();
    }
    let path = source_models_dir().join("ssdlite_mobilenetv2_pedestrian.onnx");
    // The astronaut, nearest-neighbour to 300×300 (the input's content does not change the time).
    let photo = Frame::decode(&std::fs::read(sample_images_dir().join("astronaut.png"))?)?;
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    let x: Vec<f32> = (0..300 * 300 * 3)
        .map(|i| {
            let (px, c) = (i / 3, i % 3);
            let (sx, sy) = ((px % 300) * w / 300, (px / 300) * h / 300);
            f32::from(photo.rgb()[(sy * w + sx) * 3 + c])
        })
        .collect();
    let mut first: Option<Vec<f32>> = None;
    for variant in &variants {
        let t0 = Instant::now();
        let mut model = tract::onnx()?.load(&path)?;
        model.set_input_fact(0, "1,300,300,3,f32")?;
        let mut typed = model.into_model()?;
        if variant != "plain" {
            typed.transform(variant.as_str())?;
        }
        let plan = typed.into_runnable()?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut ms = Vec::with_capacity(runs);
        let mut scores = vec![];
        for _ in 0..runs + 3 {
            let input = Tensor::from_slice(&[1, 300, 300, 3], &x)?;
            let t = Instant::now();
            let out = plan.run([input])?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            scores = out[1].as_slice::<f32>()?.to_vec();
        }
        let ms = &mut ms[3..];
        ms.sort_by(f64::total_cmp);
        let diff = first.get_or_insert_with(|| scores.clone());
        let max_diff = diff.iter().zip(&scores).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        let top = scores.iter().copied().fold(0.0, f32::max);
        println!(
            "{{\"variant\":\"{variant}\",\"load_ms\":{load_ms:.0},\"median_ms\":{:.2},\"min_ms\":{:.2},\"top_score\":{top:.4},\"max_score_diff\":{max_diff:.2e}}}",
            ms[ms.len() / 2],
            ms[0]
        );
    }
    Ok(())
}
