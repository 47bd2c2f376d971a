//! The node service's pure logic.

pub(crate) mod requests;
