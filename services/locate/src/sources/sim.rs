//! A simulated house and walkers producing ESPresense device messages, deterministic per seed.

use std::fmt::Write as _;

use crate::config::{FloorConfig, LocateConfig, NodeConfig, RoomConfig};
use crate::domain::house::House;

/// Room size of the simulated grid (m).
const ROOM_M: f64 = 4.0;

/// A house of `nodes` square 4 m rooms in a grid (as square as possible), one ceiling node per
/// room, a door between every pair of neighbouring rooms.
pub fn grid_house(nodes: usize) -> LocateConfig {
    let nodes = nodes.max(1);
    let cols = (nodes as f64).sqrt().ceil() as usize;
    let mut c = LocateConfig::default();
    c.floors.insert("ground".into(), FloorConfig { name: None, z_min_m: 0.0, z_max_m: 3.0 });
    let id = |i: usize| format!("room_{i:02}");
    for i in 0..nodes {
        let (col, row) = ((i % cols) as f64, (i / cols) as f64);
        let (x0, y0) = (col * ROOM_M, row * ROOM_M);
        let mut connects = Vec::new();
        if i % cols + 1 < cols && i + 1 < nodes {
            connects.push(id(i + 1));
        }
        if i + cols < nodes {
            connects.push(id(i + cols));
        }
        c.rooms.insert(
            id(i),
            RoomConfig {
                name: None,
                floor: "ground".into(),
                polygon: vec![
                    [x0, y0],
                    [x0 + ROOM_M, y0],
                    [x0 + ROOM_M, y0 + ROOM_M],
                    [x0, y0 + ROOM_M],
                ],
                connects,
            },
        );
        // Off-centre, as real nodes sit on a shelf or a wall.
        let point = [x0 + 0.3 * ROOM_M, y0 + 0.6 * ROOM_M, 2.2];
        c.nodes.insert(id(i), NodeConfig { name: None, point, room: None, floor: None });
    }
    c
}

/// A device walking between random points of the house, heard by the nodes around it.
#[derive(Debug, Clone)]
pub struct SimWalker {
    id: String,
    pos: [f64; 2],
    target: [f64; 2],
    rng: u64,
    /// Walking speed (m/s).
    pub speed_m_s: f64,
}

impl SimWalker {
    /// A walker named `id`, starting at a random point chosen by `seed`.
    pub fn new(id: &str, house: &House, seed: u64) -> Self {
        let mut w = SimWalker {
            id: id.to_owned(),
            pos: [0.0; 2],
            target: [0.0; 2],
            rng: seed | 1,
            speed_m_s: 0.8,
        };
        w.pos = w.random_point(house);
        w.target = w.random_point(house);
        w
    }

    /// Current true position (m).
    pub fn position(&self) -> [f64; 2] {
        self.pos
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: good enough for noise, and the same everywhere.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn random_point(&mut self, house: &House) -> [f64; 2] {
        let [lo, hi] = house.bounds.unwrap_or([[0.0, 0.0], [ROOM_M, ROOM_M]]);
        let m = 1.0;
        [
            lo[0] + m + self.uniform() * (hi[0] - lo[0] - 2.0 * m),
            lo[1] + m + self.uniform() * (hi[1] - lo[1] - 2.0 * m),
        ]
    }

    /// Walks for `dt_ms`, then one node within 12 m (chosen at random) reports the device.
    /// Returns the topic and payload of that report; `None` when no node is in range.
    pub fn step(&mut self, house: &House, dt_ms: u64) -> Option<(String, String)> {
        let step = self.speed_m_s * dt_ms as f64 / 1000.0;
        let (dx, dy) = (self.target[0] - self.pos[0], self.target[1] - self.pos[1]);
        let d = (dx * dx + dy * dy).sqrt();
        if d <= step {
            self.pos = self.target;
            self.target = self.random_point(house);
        } else {
            self.pos = [self.pos[0] + dx / d * step, self.pos[1] + dy / d * step];
        }
        let in_range: usize =
            house.nodes.iter().filter(|n| self.distance_to(n.point) <= 12.0).count();
        if in_range == 0 {
            return None;
        }
        let pick = (self.next_u64() % in_range as u64) as usize;
        let node = house.nodes.iter().filter(|n| self.distance_to(n.point) <= 12.0).nth(pick)?;
        // Log-normal range error, as a path-loss model with 3 dB of RSSI noise gives.
        let true_d = self.distance_to(node.point);
        let measured = true_d * (0.25 * self.gaussian()).exp();
        let var = (0.25 * measured).powi(2);
        let mut payload = String::with_capacity(96);
        let _ = write!(
            payload,
            r#"{{"id":"{}","rssi@1m":-65,"rssi":{:.2},"rxAdj":0,"distance":{measured:.2},"var":{var:.2}}}"#,
            self.id,
            -65.0 - 27.0 * measured.max(0.1).log10()
        );
        Some((format!("espresense/devices/{}/{}", self.id, node.id), payload))
    }

    fn distance_to(&self, p: [f64; 3]) -> f64 {
        ((self.pos[0] - p[0]).powi(2) + (self.pos[1] - p[1]).powi(2) + (1.0 - p[2]).powi(2)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_house_of_any_size_is_valid() {
        for n in [1, 6, 12, 24] {
            let v = grid_house(n).validate().expect("valid");
            assert_eq!(v.house.nodes.len(), n);
            assert!(v.house.nodes.iter().all(|node| node.room.is_some()));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_messages() {
        let house = grid_house(6).validate().expect("valid").house;
        let run = || {
            let mut w = SimWalker::new("phone:sim", &house, 7);
            (0..50).filter_map(|_| w.step(&house, 200)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
        assert!(run().len() > 40);
    }
}
