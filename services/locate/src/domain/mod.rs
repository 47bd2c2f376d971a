//! The pure core: decoding, geometry, estimators, the locator, calibration, the lease.

pub(crate) mod calibration;
pub(crate) mod estimator;
pub(crate) mod geometry;
pub(crate) mod house;
pub(crate) mod lease;
pub(crate) mod locator;
pub(crate) mod message;
pub(crate) mod motion;
pub(crate) mod multilaterate;
pub(crate) mod nearest;
pub(crate) mod room_filter;
pub(crate) mod solver;
