//! The baseline: the room of the node that reports the shortest distance (HA's `mqtt_room`).

use super::estimator::{Estimator, Fix, Reading};
use super::house::House;
use crate::config::EstimatorKind;

/// Nearest-node estimator; stateless.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NearestNode;

impl Estimator for NearestNode {
    fn kind(&self) -> EstimatorKind {
        EstimatorKind::NearestNode
    }

    fn update(&mut self, house: &House, readings: &[Option<Reading>], _now_ms: u64) -> Option<Fix> {
        let (i, r) = readings
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|r| (i, r)))
            .min_by(|a, b| a.1.distance_m.total_cmp(&b.1.distance_m))?;
        let node = &house.nodes[i];
        Some(Fix {
            room: node.room,
            floor: node.floor,
            point: Some(node.point),
            // A node a metre away is convincing; one ten metres away is a guess.
            confidence: 1.0 / (1.0 + r.distance_m / 3.0),
        })
    }
}
