//! Cost per advertisement through parse → fingerprint → IRK lookup → filter → report decision,
//! with 0, 10 and 50 known IRKs, against the parse step alone and an uncached IRK scan.

// criterion_group! generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use roomsense_ble::{Advertisement, IrkTable, parse_ad_into};

#[path = "support/workload.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod workload;

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("advert");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);

    for n in [0usize, 10, 50] {
        let (mut t, phone) = workload::tracker(n);
        let mix = workload::mix(20_000, phone, 7);
        let mut i = 0usize;
        let mut now = 1_700_000_000_000u64;
        g.bench_function(format!("pipeline/irks_{n}"), |b| {
            b.iter(|| {
                let raw = &mix[i % mix.len()];
                i += 1;
                now += 5;
                black_box(workload::step(&mut t, raw, now))
            })
        });
    }

    // The parse step alone, so its share can be subtracted.
    let (_, phone) = workload::tracker(1);
    let mix = workload::mix(20_000, phone, 7);
    let mut i = 0usize;
    g.bench_function("parse_only/ours", |b| {
        b.iter(|| {
            let raw = &mix[i % mix.len()];
            i += 1;
            let mut adv = Advertisement::new(0, raw.addr, raw.addr_type, raw.rssi);
            black_box(parse_ad_into(&raw.ad, &mut adv).is_ok());
            black_box(adv)
        })
    });

    // The peer: ESPresense's approach of a linear AES scan over every IRK, with no address cache.
    let mut table = IrkTable::default();
    for k in workload::irks(50) {
        table.insert(k);
    }
    let mut i = 0usize;
    g.bench_function("irk_lookup_50/uncached_scan", |b| {
        b.iter(|| {
            let raw = &mix[i % mix.len()];
            i += 1;
            black_box(table.resolve(&raw.addr))
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
