//! One camera's view: people counted on the whole frame and per zone, each with its own
//! hold-time occupancy, and what changed since the last report.

use std::time::Duration;

use super::occupancy::{Occupancy, Presence};
use super::postprocess::Detection;
use super::zones::Zone;

/// What a camera says: the whole view, then each zone in configured order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CameraReport {
    /// The whole view.
    pub view: Presence,
    /// Each zone, in the order configured.
    pub zones: Vec<Presence>,
}

/// The state machine of one camera's counts.
#[derive(Debug, Clone)]
pub struct CameraView {
    zones: Vec<Zone>,
    view: Occupancy,
    zone_occupancy: Vec<Occupancy>,
    last: Option<CameraReport>,
}

impl CameraView {
    /// A view with these zones, each place holding for `hold`.
    pub fn new(zones: Vec<Zone>, hold: Duration) -> Self {
        let zone_occupancy = zones.iter().map(|_| Occupancy::new(hold)).collect();
        Self { zones, view: Occupancy::new(hold), zone_occupancy, last: None }
    }

    /// The zones.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// Takes the people of a frame (`None` when the model did not run on it) and returns the
    /// report when it differs from the last one returned (always the first time).
    pub fn handle(&mut self, people: Option<&[Detection]>, now: Duration) -> Option<CameraReport> {
        let view = self.view.handle(people.map(|p| p.len() as u32), now);
        let zones = self
            .zones
            .iter()
            .zip(&mut self.zone_occupancy)
            .map(|(zone, occ)| occ.handle(people.map(|p| zone.count(p)), now))
            .collect();
        let report = CameraReport { view, zones };
        if self.last.as_ref() == Some(&report) {
            return None;
        }
        self.last = Some(report.clone());
        Some(report)
    }

    /// The last report returned.
    pub fn current(&self) -> Option<&CameraReport> {
        self.last.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::postprocess::BBox;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn halves() -> Vec<Zone> {
        let z = |id: &str, x0: f32, x1: f32| Zone {
            id: id.into(),
            name: id.into(),
            polygon: vec![(x0, 0.0), (x1, 0.0), (x1, 1.0), (x0, 1.0)],
        };
        vec![z("left", 0.0, 0.5), z("right", 0.5, 1.0)]
    }

    fn person_at(x: f32) -> Detection {
        Detection { score: 0.9, bbox: BBox { xmin: x - 0.1, ymin: 0.2, xmax: x + 0.1, ymax: 0.9 } }
    }

    #[test]
    fn people_are_counted_in_the_view_and_in_their_zone() {
        let mut v = CameraView::new(halves(), S(30));
        let r = v.handle(Some(&[person_at(0.25), person_at(0.3), person_at(0.8)]), S(0)).unwrap();
        assert_eq!(r.view, Presence { count: 3, occupied: true });
        assert_eq!(
            r.zones,
            [Presence { count: 2, occupied: true }, Presence { count: 1, occupied: true }]
        );
    }

    #[test]
    fn an_unchanged_report_is_not_returned_twice() {
        let mut v = CameraView::new(halves(), S(30));
        assert!(v.handle(Some(&[]), S(0)).is_some());
        assert!(v.handle(Some(&[]), S(1)).is_none());
        assert!(v.handle(None, S(2)).is_none());
    }

    #[test]
    fn a_zone_stays_occupied_through_the_hold_after_its_person_leaves() {
        let mut v = CameraView::new(halves(), S(10));
        v.handle(Some(&[person_at(0.25)]), S(0));
        let r = v.handle(Some(&[person_at(0.75)]), S(1)).unwrap();
        assert_eq!(r.zones[0], Presence { count: 0, occupied: true });
        let r = v.handle(None, S(11)).unwrap();
        assert_eq!(r.zones[0], Presence { count: 0, occupied: false });
        assert!(r.view.occupied && r.zones[1].occupied);
    }
}
