//! Time per device update with 6, 12 and 24 nodes, every estimator against the nearest-node
//! baseline in the same run (ids `<nodes>_nodes/<estimator>`), and one second of a
//! 200-device × 20-node house (about 4000 messages) per estimator (`load_200x20/<estimator>`):
//! its time is the share of one core that load needs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roomsense_locate::{EstimatorKind, Handled, Locator, SimWalker, grid_house};

fn update(c: &mut Criterion) {
    let mut g = c.benchmark_group("update");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(1));
    for nodes in [6, 12, 24] {
        let v = grid_house(nodes).validate().expect("valid sim house");
        let house = Arc::new(v.house);
        let mut walker = SimWalker::new("phone:bench", &house, 42);
        let msgs: Vec<(String, String)> =
            (0..4096).filter_map(|_| walker.step(&house, 100)).collect();
        for kind in EstimatorKind::ALL {
            g.bench_function(BenchmarkId::new(format!("{nodes}_nodes"), kind.name()), |b| {
                let mut locator = Locator::new(house.clone(), v.settings.clone(), kind);
                let (mut i, mut now) = (0usize, 0u64);
                b.iter(|| {
                    let (topic, payload) = &msgs[i % msgs.len()];
                    i += 1;
                    now += 100;
                    black_box(matches!(
                        locator.handle(topic, payload.as_bytes(), now),
                        Handled::Located(_)
                    ))
                });
            });
        }
    }
    g.finish();
}

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_200x20");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    let v = grid_house(20).validate().expect("valid sim house");
    let house = Arc::new(v.house);
    // One simulated second: each of 200 devices reported 20 times (by random nodes in range).
    let seconds = 3u64;
    let mut walkers: Vec<SimWalker> =
        (0..200).map(|d| SimWalker::new(&format!("phone:{d:03}"), &house, 1000 + d)).collect();
    let mut per_second: Vec<Vec<(String, String)>> = Vec::new();
    for _ in 0..seconds {
        let mut batch = Vec::with_capacity(4000);
        for _ in 0..20 {
            for w in &mut walkers {
                batch.extend(w.step(&house, 50));
            }
        }
        per_second.push(batch);
    }
    for kind in EstimatorKind::ALL {
        g.bench_function(BenchmarkId::new("one_second", kind.name()), |b| {
            let mut locator = Locator::new(house.clone(), v.settings.clone(), kind);
            let mut second = 0u64;
            b.iter(|| {
                let batch = &per_second[(second % seconds) as usize];
                let base = second * 1000;
                for (j, (topic, payload)) in batch.iter().enumerate() {
                    let now = base + (j as u64 * 1000) / batch.len() as u64;
                    black_box(matches!(
                        locator.handle(topic, payload.as_bytes(), now),
                        Handled::Located(_)
                    ));
                }
                second += 1;
            });
        });
    }
    g.finish();
}

criterion_group!(benches, update, load);
criterion_main!(benches);
