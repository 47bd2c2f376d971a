//! Memory per tracked device and under a flood of one-shot random addresses, measured with a
//! counting global allocator (its own test binary, so nothing else allocates concurrently).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use roomsense_ble::{Address, AddressType, Advertisement, NodeSettings, Now, Tracker};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn ibeacon(i: u32, ts: u64) -> Advertisement {
    let b = i.to_be_bytes();
    let mut a = Advertisement::new(
        ts,
        Address([0xc0, 0, b[0], b[1], b[2], b[3]]),
        AddressType::Random,
        -70,
    );
    let mut d = vec![0x02, 0x15];
    d.extend_from_slice(&[0x11; 12]);
    d.extend_from_slice(&b);
    d.extend_from_slice(&[0, 1, 0, 2, 0xc5]);
    a.mfg.push((0x004c, d));
    a
}

fn one_shot(i: u32, ts: u64) -> Advertisement {
    let b = i.to_be_bytes();
    Advertisement::new(ts, Address([0x4a, 0x5b, b[0], b[1], b[2], b[3]]), AddressType::Random, -85)
}

// One test per binary run, so measurements don't interleave.
#[test]
fn memory_per_device_is_bounded_and_a_random_address_flood_stays_flat() {
    // Steady state: 1,000 iBeacons, each heard every 500 ms for 20 s (a full 15 s window).
    let base = live();
    let mut t = Tracker::new(NodeSettings::default(), 10_000);
    let empty = live() - base;
    for round in 0..40u64 {
        for i in 0..1000u32 {
            let ts = 1_700_000_000_000 + round * 500 + i as u64 / 2;
            t.handle(&ibeacon(i, ts), Now::from_wall(ts));
        }
    }
    let per_device = (live() - base - empty) / 1000;
    eprintln!(
        "empty tracker (table for 10,000): {empty} B; per tracked iBeacon (30-sample window): {per_device} B"
    );
    assert!(per_device < 1500, "{per_device} B per device");
    drop(t);

    // Flood: 100,000 one-shot random addresses into a table bounded at 10,000.
    let base = live();
    let mut t = Tracker::new(NodeSettings::default(), 10_000);
    let mut at = Vec::new();
    for i in 0..100_000u32 {
        let ts = 1_700_000_000_000 + i as u64;
        t.handle(&one_shot(i, ts), Now::from_wall(ts));
        if (i + 1) % 10_000 == 0 {
            at.push(live() - base);
            assert!(t.len() <= 10_000);
        }
    }
    eprintln!("flood, live bytes after each 10,000 one-shot addresses: {at:?}");
    let first_full = at[0];
    let max = *at.iter().max().unwrap();
    assert!(max as f64 <= first_full as f64 * 1.15, "memory grew past its bound: {at:?}");
}
