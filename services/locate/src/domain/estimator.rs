//! The one interface every estimator implements, its input (readings) and output (a fix).

use std::fmt;

use super::house::House;
use crate::config::{EstimatorKind, LocatorSettings};

/// The latest report of one node about one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Distance (m).
    pub distance_m: f64,
    /// Distance variance (m²), if the node sent one.
    pub var_m2: Option<f64>,
    /// When it arrived (ms, the caller's monotonic clock).
    pub at_ms: u64,
}

/// What an estimator concluded for one device at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fix {
    /// Room index into [`House::rooms`], if one was decided.
    pub room: Option<usize>,
    /// Floor index into [`House::floors`], if known.
    pub floor: Option<usize>,
    /// Position (m), if the estimator computes one.
    pub point: Option<[f64; 3]>,
    /// How sure the estimator is of `room`, 0 to 1.
    pub confidence: f64,
}

/// A per-device estimator: folds the device's current readings into its own state.
///
/// `readings[i]` is node `i`'s current report (stale ones are already `None`). One instance
/// exists per tracked device, built once by [`build`]; `update` must not allocate.
pub trait Estimator: fmt::Debug + Send {
    /// Which estimator this is.
    fn kind(&self) -> EstimatorKind;
    /// Updates the device's state at `now_ms` and returns the fix; `None` without readings.
    fn update(&mut self, house: &House, readings: &[Option<Reading>], now_ms: u64) -> Option<Fix>;
}

/// Builds one device's estimator of `kind` for `house`.
pub fn build(kind: EstimatorKind, house: &House, settings: &LocatorSettings) -> Box<dyn Estimator> {
    match kind {
        EstimatorKind::NearestNode => Box::new(super::nearest::NearestNode),
        EstimatorKind::Multilateration => {
            Box::new(super::multilaterate::Multilateration::new(house, settings))
        }
        EstimatorKind::RoomFilter => Box::new(super::room_filter::RoomFilter::new(house, settings)),
    }
}
