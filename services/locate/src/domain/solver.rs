//! Weighted robust multilateration: Gauss-Newton with Huber weights, a warm start and priors.
//!
//! Minimises `Σ ρ((‖θ − node_i‖ − d_i) / σ_i)` over θ = (x, y, z), where
//! `σ_i² = var_i + (fraction · d_i)² + min²` (ESPresense `var` plus a range-proportional error),
//! ρ is Huber's loss, plus a weak prior pulling (x, y) to the start point (so one or two nodes
//! still give an answer) and a prior on z at the device's usual height. The 3×3 normal equations
//! are solved by hand; nothing allocates.

use super::estimator::Reading;
use super::house::House;
use crate::config::SolverConfig;

/// Standard deviation of the pull towards the start point (m): weak, only breaks ties.
const START_SIGMA_M: f64 = 4.0;
/// Largest step per iteration (m): keeps a bad linearisation from throwing the point away.
const MAX_STEP_M: f64 = 2.0;

/// The solver's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Solution {
    /// Position (m).
    pub(crate) point: [f64; 3],
    /// Covariance of `point` (m²), scaled up when the ranges disagree.
    pub(crate) cov: [[f64; 3]; 3],
    /// Readings used.
    pub(crate) used: usize,
    /// Root mean square of the normalised residuals (1 is what the noise model expects).
    pub(crate) rms: f64,
}

/// Solves for one device from its current `readings` (indexed like `house.nodes`).
///
/// `start` is the warm start (the previous estimate, or a weighted centroid) and `z_prior` the
/// height the device is expected at. `None` when there is no reading.
/// Every range is multiplied by `range_scale` first (the device's own bias, see the tracker).
pub(crate) fn solve(
    house: &House,
    readings: &[Option<Reading>],
    start: [f64; 3],
    z_prior: f64,
    range_scale: f64,
    cfg: &SolverConfig,
) -> Option<Solution> {
    let mut theta = start;
    let mut used = 0;
    let mut h = [[0.0; 3]; 3];
    let mut cost = 0.0;
    for _ in 0..cfg.iterations {
        (h, used, cost) = (priors(), 0, 0.0);
        let mut g = [
            (theta[0] - start[0]) / (START_SIGMA_M * START_SIGMA_M),
            (theta[1] - start[1]) / (START_SIGMA_M * START_SIGMA_M),
            (theta[2] - z_prior) / (cfg.height_sigma_m * cfg.height_sigma_m),
        ];
        h[2][2] = 1.0 / (cfg.height_sigma_m * cfg.height_sigma_m);
        for (node, reading) in house.nodes.iter().zip(readings) {
            let Some(r) = reading else { continue };
            let diff =
                [theta[0] - node.point[0], theta[1] - node.point[1], theta[2] - node.point[2]];
            let dist = norm(diff).max(1e-3);
            let range = r.distance_m * range_scale;
            let residual = dist - range;
            let j = [diff[0] / dist, diff[1] / dist, diff[2] / dist];
            let sigma2 = r.var_m2.unwrap_or(0.0) * range_scale * range_scale
                + (cfg.range_sigma_fraction * range).powi(2)
                + cfg.range_sigma_min_m * cfg.range_sigma_min_m;
            let u = residual.abs() / sigma2.sqrt();
            let huber = if u <= cfg.huber_k { 1.0 } else { cfg.huber_k / u };
            let w = huber / sigma2;
            cost += huber * u * u;
            for a in 0..3 {
                for b in 0..3 {
                    h[a][b] += w * j[a] * j[b];
                }
                g[a] += w * j[a] * residual;
            }
            used += 1;
        }
        if used == 0 {
            return None;
        }
        let Some(mut step) = solve3(&h, [-g[0], -g[1], -g[2]]) else { break };
        let len = norm(step);
        if len > MAX_STEP_M {
            step = step.map(|s| s * MAX_STEP_M / len);
        }
        for a in 0..3 {
            theta[a] += step[a];
        }
        // Projected Gauss-Newton: a device is inside the house. Long ranges (a body between
        // tag and node, walls) otherwise push fixes out through the walls.
        if let Some([lo, hi]) = house.bounds {
            theta[0] = theta[0].clamp(lo[0], hi[0]);
            theta[1] = theta[1].clamp(lo[1], hi[1]);
        }
        if len < 1e-4 {
            break;
        }
    }
    if used == 0 {
        return None;
    }
    let rms = (cost / used as f64).sqrt();
    let inflate = (rms * rms).clamp(1.0, 25.0);
    let cov = invert3(&h)?.map(|row| row.map(|v| v * inflate));
    Some(Solution { point: theta, cov, used, rms })
}

/// A start point for a device seen for the first time: node positions weighted by 1/(d² + 0.1).
pub(crate) fn weighted_centroid(house: &House, readings: &[Option<Reading>]) -> Option<[f64; 3]> {
    let mut sum = [0.0; 3];
    let mut total = 0.0;
    for (node, reading) in house.nodes.iter().zip(readings) {
        let Some(r) = reading else { continue };
        let w = 1.0 / (r.distance_m * r.distance_m + 0.1);
        for (s, p) in sum.iter_mut().zip(node.point) {
            *s += w * p;
        }
        total += w;
    }
    (total > 0.0).then(|| sum.map(|s| s / total))
}

fn priors() -> [[f64; 3]; 3] {
    let p = 1.0 / (START_SIGMA_M * START_SIGMA_M);
    [[p, 0.0, 0.0], [0.0, p, 0.0], [0.0, 0.0, 0.0]]
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// Inverse of a 3×3 matrix by cofactors; `None` when it is (nearly) singular.
pub(crate) fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = det3(m);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            // cofactor of m[c][r] (transposed for the adjugate)
            let (r1, r2) = ((c + 1) % 3, (c + 2) % 3);
            let (c1, c2) = ((r + 1) % 3, (r + 2) % 3);
            *v = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
        }
    }
    Some(inv)
}

fn solve3(m: &[[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let inv = invert3(m)?;
    Some([0, 1, 2].map(|r| inv[r][0] * b[0] + inv[r][1] * b[1] + inv[r][2] * b[2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::house::Node;

    fn square_house() -> House {
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
                node("b", 6.0, 0.0),
                node("c", 6.0, 6.0),
                node("d", 0.0, 6.0),
            ],
            &[],
        )
    }

    fn ranges(house: &House, truth: [f64; 3]) -> Vec<Option<Reading>> {
        house
            .nodes
            .iter()
            .map(|n| {
                let d = norm([truth[0] - n.point[0], truth[1] - n.point[1], truth[2] - n.point[2]]);
                Some(Reading { distance_m: d, var_m2: Some(0.01), at_ms: 0 })
            })
            .collect()
    }

    #[test]
    fn exact_ranges_give_back_the_true_position() {
        let house = square_house();
        let truth = [2.0, 4.0, 1.0];
        let readings = ranges(&house, truth);
        let start = weighted_centroid(&house, &readings).expect("readings");
        let s =
            solve(&house, &readings, start, 1.0, 1.0, &SolverConfig::default()).expect("solution");
        assert!(
            (s.point[0] - 2.0).abs() < 0.05 && (s.point[1] - 4.0).abs() < 0.05,
            "{:?}",
            s.point
        );
        assert_eq!(s.used, 4);
    }

    #[test]
    fn one_far_too_long_range_moves_the_answer_less_than_with_plain_least_squares() {
        let house = square_house();
        let truth = [2.0, 2.0, 1.0];
        let mut readings = ranges(&house, truth);
        // Through two walls a range comes out far too long (5.7 m true).
        readings[2] = Some(Reading { distance_m: 14.0, var_m2: Some(0.01), at_ms: 0 });
        // Warm start: the previous estimate, a metre off.
        let start = [3.0, 3.0, 1.0];
        let robust =
            solve(&house, &readings, start, 1.0, 1.0, &SolverConfig::default()).expect("solution");
        let plain = SolverConfig { huber_k: 1e9, ..SolverConfig::default() };
        let ls = solve(&house, &readings, start, 1.0, 1.0, &plain).expect("solution");
        let err = |p: [f64; 3]| ((p[0] - 2.0).powi(2) + (p[1] - 2.0).powi(2)).sqrt();
        assert!(err(robust.point) < err(ls.point), "robust {:?} ls {:?}", robust.point, ls.point);
    }

    #[test]
    fn no_readings_give_no_solution() {
        let house = square_house();
        assert!(solve(&house, &[None; 4], [0.0; 3], 1.0, 1.0, &SolverConfig::default()).is_none());
    }

    #[test]
    fn the_inverse_of_a_diagonal_matrix_is_its_reciprocal() {
        let m = [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 8.0]];
        let inv = invert3(&m).expect("regular");
        assert_eq!(inv[0][0], 0.5);
        assert_eq!(inv[2][2], 0.125);
        assert!(invert3(&[[1.0; 3]; 3]).is_none());
    }
}
