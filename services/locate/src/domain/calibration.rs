//! Per-node calibration proposals from node-to-node beacons (`node:<tx>` heard at `<rx>`).
//!
//! Both nodes are stationary with known positions, so the true distance is known. ESPresense
//! ranges with `d = 10^((rssi@1m − rssi) / (10·n))`; per receiver we fit
//! `rssi@1m − rssi = c + n · 10·log10(true distance)` by least squares over its transmitters.
//! `n` is the proposed `absorption`; `c` is how many dB the receiver hears weaker than the model,
//! and since the firmware adds `rx_adj_rssi` to the 1 m reference, the proposal lowers
//! `rx_adj_rssi` by `c`. Proposals are only data: they are published for the user, and applied
//! (as `espresense/rooms/<node>/{absorption,rx_adj_rssi}/set`) only when the user asks.

use super::house::House;
use super::message::{Rejection, Report};

/// ESPresense's default path-loss exponent, used when the data cannot fit one.
pub(crate) const DEFAULT_ABSORPTION: f64 = 2.7;
/// Range allowed for a proposed absorption (ESPresense-companion's optimiser limits).
pub(crate) const ABSORPTION_RANGE: (f64, f64) = (2.0, 4.0);

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PairStats {
    count: u64,
    /// Running mean of `rssi@1m − rssi` (dB).
    mean_loss_db: f64,
    /// Latest `rxAdj` echo (dB).
    rx_adj_db: Option<f64>,
    /// Absorption the node used, recovered from its distance (if distance ≠ 1 m).
    absorption: Option<f64>,
    last_ms: u64,
}

/// Every (receiver, transmitter) pair's running statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct BeaconLog {
    n: usize,
    pairs: Vec<PairStats>,
}

/// A proposed setting change for one node.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationProposal {
    /// Receiver node slug.
    pub node: String,
    /// Proposed `rx_adj_rssi` (dB, rounded as the firmware takes integers).
    pub rx_adj_rssi: i32,
    /// Proposed `absorption`.
    pub absorption: f64,
    /// The node's current values, when it reported them.
    pub current_rx_adj_rssi: Option<f64>,
    /// The node's current absorption, as recovered from its reports.
    pub current_absorption: Option<f64>,
    /// Transmitters the fit used.
    pub transmitters: usize,
    /// RMS range error over those transmitters with current settings (m).
    pub rmse_before_m: f64,
    /// RMS range error with the proposal (m).
    pub rmse_after_m: f64,
}

impl BeaconLog {
    /// An empty log for `house`.
    pub fn new(house: &House) -> Self {
        let n = house.nodes.len();
        BeaconLog { n, pairs: vec![PairStats::default(); n * n] }
    }

    /// Records `tx`'s beacon as heard by `rx`.
    pub fn record(
        &mut self,
        house: &House,
        tx: &str,
        rx: &str,
        report: &Report,
        now_ms: u64,
    ) -> Result<(), Rejection> {
        let (Some(t), Some(r)) = (house.node(tx), house.node(rx)) else {
            return Err(Rejection::UnknownBeacon);
        };
        let (Some(rssi), Some(reference)) = (report.rssi_dbm, report.rssi_at_1m_dbm) else {
            return Err(Rejection::MissingDistance);
        };
        if t == r || self.pairs.len() != self.n * self.n {
            return Err(Rejection::UnknownBeacon);
        }
        let p = &mut self.pairs[r * self.n + t];
        let loss = reference - rssi;
        p.count += 1;
        p.mean_loss_db += (loss - p.mean_loss_db) / p.count as f64;
        p.rx_adj_db = report.rx_adj_db.or(p.rx_adj_db);
        if (report.distance_m - 1.0).abs() > 0.2 && report.distance_m > 0.0 {
            p.absorption = Some(loss / (10.0 * report.distance_m.log10()));
        }
        p.last_ms = now_ms;
        Ok(())
    }

    /// Proposals for every receiver that heard at least `min_transmitters` other nodes.
    pub fn propose(&self, house: &House, min_transmitters: usize) -> Vec<CalibrationProposal> {
        let mut out = Vec::new();
        for r in 0..self.n {
            let pts: Vec<(f64, f64, &PairStats)> = (0..self.n)
                .filter(|&t| t != r && self.pairs[r * self.n + t].count > 0)
                .map(|t| {
                    let d = dist(house.nodes[r].point, house.nodes[t].point).max(0.1);
                    (
                        10.0 * d.log10(),
                        self.pairs[r * self.n + t].mean_loss_db,
                        &self.pairs[r * self.n + t],
                    )
                })
                .collect();
            if pts.len() < min_transmitters.max(1) {
                continue;
            }
            let k = pts.len() as f64;
            let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
            let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
            let sxx = pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
            let sxy = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
            // Transmitters at nearly one distance cannot separate slope from offset: keep n.
            let n = if pts.len() >= 3 && sxx > 4.0 { sxy / sxx } else { DEFAULT_ABSORPTION };
            let n = n.clamp(ABSORPTION_RANGE.0, ABSORPTION_RANGE.1);
            let c = my - n * mx;
            let current_rx_adj = pts.iter().find_map(|p| p.2.rx_adj_db);
            let current_n = {
                let v: Vec<f64> = pts.iter().filter_map(|p| p.2.absorption).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            let rmse = |c: f64, n: f64| {
                (pts.iter()
                    .map(|p| (10f64.powf((p.1 - c) / (10.0 * n)) - 10f64.powf(p.0 / 10.0)).powi(2))
                    .sum::<f64>()
                    / k)
                    .sqrt()
            };
            out.push(CalibrationProposal {
                node: house.nodes[r].id.clone(),
                rx_adj_rssi: (current_rx_adj.unwrap_or(0.0) - c).round() as i32,
                absorption: (n * 100.0).round() / 100.0,
                current_rx_adj_rssi: current_rx_adj,
                current_absorption: current_n,
                transmitters: pts.len(),
                rmse_before_m: rmse(0.0, current_n.unwrap_or(DEFAULT_ABSORPTION)),
                rmse_after_m: rmse(c, n),
            });
        }
        out
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::house::Node;

    fn house() -> House {
        let node = |id: &str, x: f64, y: f64| Node {
            id: id.into(),
            name: id.into(),
            point: [x, y, 2.0],
            room: None,
            floor: None,
        };
        House::new(
            vec![],
            vec![],
            vec![
                node("a", 0.0, 0.0),
                node("b", 2.0, 0.0),
                node("c", 0.0, 5.0),
                node("d", 9.0, 9.0),
            ],
            &[],
        )
    }

    fn beacon(rssi: f64) -> Report {
        Report {
            distance_m: 3.0,
            var_m2: None,
            rssi_dbm: Some(rssi),
            rssi_at_1m_dbm: Some(-59.0),
            rx_adj_db: Some(0.0),
        }
    }

    #[test]
    fn a_receiver_that_hears_six_db_weak_is_told_to_lower_rx_adj_by_six() {
        let h = house();
        let mut log = BeaconLog::new(&h);
        for (tx, p) in [("b", h.nodes[1].point), ("c", h.nodes[2].point), ("d", h.nodes[3].point)] {
            let d = dist(h.nodes[0].point, p);
            // Truth: n = 3.0 and the receiver hears 6 dB weaker than its reference says.
            let rssi = -59.0 - 30.0 * d.log10() - 6.0;
            log.record(&h, tx, "a", &beacon(rssi), 0).expect("known nodes");
        }
        let props = log.propose(&h, 2);
        assert_eq!(props.len(), 1);
        let p = &props[0];
        assert_eq!(p.node, "a");
        assert_eq!(p.rx_adj_rssi, -6);
        assert!((p.absorption - 3.0).abs() < 0.01, "{p:?}");
        assert!(p.rmse_after_m < 0.01 && p.rmse_before_m > p.rmse_after_m);
    }

    #[test]
    fn a_beacon_from_an_unknown_node_is_rejected() {
        let h = house();
        let mut log = BeaconLog::new(&h);
        assert_eq!(log.record(&h, "zz", "a", &beacon(-70.0), 0), Err(Rejection::UnknownBeacon));
    }

    #[test]
    fn a_receiver_with_too_few_transmitters_gets_no_proposal() {
        let h = house();
        let mut log = BeaconLog::new(&h);
        log.record(&h, "b", "a", &beacon(-70.0), 0).expect("known");
        assert!(log.propose(&h, 2).is_empty());
    }
}
