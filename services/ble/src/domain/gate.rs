//! ESPresense v4's report gating: wall-clock-aligned `skip_ms` slots per id, early reports on
//! movement.

/// Timing knobs of the gate, from the node settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateParams {
    /// Report period, ms.
    pub skip_ms: u64,
    /// Movement that allows an early report, metres.
    pub skip_distance: f32,
    /// Largest divisor of `skip_ms` for early reports.
    pub max_divisor: u8,
}

/// djb2 of the id, as the firmware slots ids (`hash * 33 + c`, from 5381, 32-bit).
pub fn djb2(s: &str) -> u32 {
    s.bytes().fold(5381u32, |h, c| h.wrapping_mul(33).wrapping_add(c as u32))
}

/// Per-device gate state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportGate {
    next_ms: u64,
    last_distance: Option<f32>,
    slot: u8,
}

impl ReportGate {
    /// A gate for `id`, first eligible in its slot of the current `skip_ms` period.
    pub fn new(id: &str, wall_ms: u64, skip_ms: u64) -> ReportGate {
        let slot = (djb2(id) % 64) as u8;
        let next_ms = wall_ms
            .checked_div(skip_ms)
            .map_or(0, |periods| periods * skip_ms + slot as u64 * skip_ms / 64);
        ReportGate { next_ms, last_distance: None, slot }
    }

    /// Whether any report could go out at `wall_ms`, whatever the movement (the earliest early
    /// report is `skip_ms / 2` before the slot): lets the caller skip the filter's work.
    pub fn could_fire(&self, wall_ms: u64, skip_ms: u64) -> bool {
        skip_ms == 0 || wall_ms + skip_ms / 2 >= self.next_ms
    }

    /// Whether a report of `distance` may go out at `wall_ms`; if so, records it and schedules the
    /// next slot.
    pub fn try_report(&mut self, distance: f32, wall_ms: u64, p: &GateParams) -> bool {
        if p.skip_ms == 0 {
            self.last_distance = Some(distance);
            return true;
        }
        let early = match self.last_distance {
            // First report of this id: as early as the largest move allows.
            None => p.skip_ms / 2,
            Some(last) => {
                let moved = (distance - last).abs();
                if p.skip_distance > 0.0 && moved >= p.skip_distance {
                    let k =
                        (2f32.powf(moved / p.skip_distance).round()).log2().floor().max(0.0) as i64;
                    let max = p.max_divisor.max(2) as i64;
                    let divisor = (max - k).clamp(2, max) as u64;
                    p.skip_ms / divisor
                } else {
                    0
                }
            }
        };
        if wall_ms + early < self.next_ms {
            return false;
        }
        self.last_distance = Some(distance);
        // Next slot of this id at least half a period away, so an early report never doubles up.
        let offset = self.slot as u64 * p.skip_ms / 64;
        let earliest = wall_ms + p.skip_ms / 2;
        let mut next = earliest.saturating_sub(offset) / p.skip_ms * p.skip_ms + offset;
        if next < earliest {
            next += p.skip_ms;
        }
        self.next_ms = next;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: GateParams = GateParams { skip_ms: 5000, skip_distance: 0.5, max_divisor: 10 };

    #[test]
    fn djb2_matches_the_reference_hash() {
        assert_eq!(djb2(""), 5381);
        assert_eq!(djb2("a"), 177670);
    }

    #[test]
    fn a_still_device_is_reported_once_per_period_in_its_slot() {
        let mut g = ReportGate::new("iBeacon:x", 1_000_000, 5000);
        let mut times = Vec::new();
        for t in (1_000_000..1_030_000).step_by(100) {
            if g.try_report(2.0, t, &P) {
                times.push(t);
            }
        }
        assert!(times.len() >= 5 && times.len() <= 7, "{times:?}");
        let slot = (djb2("iBeacon:x") % 64) as u64 * 5000 / 64;
        for t in &times[1..] {
            assert!(
                (slot..slot + 100).contains(&(t % 5000)),
                "first 100 ms step at or after the slot: {times:?}"
            );
        }
    }

    #[test]
    fn a_big_move_allows_an_early_report() {
        let mut g = ReportGate::new("a", 0, 5000);
        assert!(g.try_report(1.0, 5000, &P));
        let next = g.next_ms;
        assert!(!g.try_report(1.1, next - 1000, &P), "small move waits for the slot");
        assert!(g.try_report(5.0, next - 1000, &P), "5 m move may report up to skip_ms/2 early");
    }

    #[test]
    fn skip_ms_zero_reports_every_advert() {
        let p = GateParams { skip_ms: 0, ..P };
        let mut g = ReportGate::new("a", 0, 0);
        assert!(g.try_report(1.0, 1, &p) && g.try_report(1.0, 2, &p));
    }
}
