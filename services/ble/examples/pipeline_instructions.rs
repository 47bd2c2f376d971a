//! Runs N adverts of the bench mix through the pipeline with K known IRKs, for callgrind:
//! `valgrind --tool=callgrind target/release/examples/pipeline_instructions N K`; the difference
//! between two N gives instructions per advert without the setup.

#[path = "../benches/support/workload.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod workload;

fn main() {
    let mut args =
        std::env::args().skip(1).map(|a| a.parse::<usize>().expect("N and K should be numbers"));
    let n = args.next().unwrap_or(10_000);
    let k = args.next().unwrap_or(0);
    let (mut t, phone) = workload::tracker(k);
    let mix = workload::mix(n, phone, 7);
    let mut reports = 0usize;
    let mut now = 1_700_000_000_000u64;
    for raw in &mix {
        now += 5;
        reports += workload::step(&mut t, raw, now) as usize;
    }
    println!("adverts={n} irks={k} reports={reports} tracked={}", t.len());
}
