//! The pure core: frames, pre- and post-processing, zones, occupancy, motion gating, back-off.
//! Plain data in and out; time is passed in.

pub(crate) mod backoff;
pub(crate) mod camera;
pub(crate) mod frame;
pub(crate) mod motion;
pub(crate) mod occupancy;
pub(crate) mod postprocess;
pub(crate) mod preprocess;
pub(crate) mod zones;
