//! The solver does not allocate per update in steady state: a counting allocator, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use roomsense_locate::{EstimatorKind, Handled, Locator, SimWalker, grid_house};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; the counter is a const-initialised thread-local
// `Cell`, which neither allocates nor needs a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_sees_an_allocation() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before && v.len() == 64);
}

#[test]
fn a_located_update_allocates_nothing_once_the_device_is_known() {
    for nodes in [6, 24] {
        let v = grid_house(nodes).validate().expect("valid");
        let house = Arc::new(v.house);
        let mut walker = SimWalker::new("phone:alloc", &house, 3);
        let msgs: Vec<(String, String)> =
            (0..2000).filter_map(|_| walker.step(&house, 100)).collect();
        for kind in EstimatorKind::ALL {
            let mut locator = Locator::new(house.clone(), v.settings.clone(), kind);
            let (warm, steady) = msgs.split_at(200);
            for (i, (t, p)) in warm.iter().enumerate() {
                locator.handle(t, p.as_bytes(), i as u64 * 100);
            }
            let before = allocations();
            let mut located = 0;
            for (i, (t, p)) in steady.iter().enumerate() {
                let now = (warm.len() + i) as u64 * 100;
                if matches!(locator.handle(t, p.as_bytes(), now), Handled::Located(_)) {
                    located += 1;
                }
                locator.tick(now, |_| {});
            }
            let spent = allocations() - before;
            assert_eq!(
                spent,
                0,
                "{} with {nodes} nodes: {spent} allocations in {located} updates",
                kind.name()
            );
            assert!(located > 1000);
        }
    }
}
