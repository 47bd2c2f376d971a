//! One JSONL trace line → parser: nothing may panic, and what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roomsense_ble::{format_line, parse_line};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data)
        && let Ok(adv) = parse_line(line)
    {
        assert_eq!(parse_line(&format_line(&adv)), Ok(adv), "a parsed line should round-trip");
    }
});
