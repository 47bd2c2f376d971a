//! Zones: polygons in normalised image coordinates; a person is in a zone when the middle of
//! the bottom of their box (where they stand or sit) is inside it.

use super::postprocess::Detection;

/// A named polygon of at least three `(x, y)` points, 0..1, origin top left.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The zone's id (a topic level).
    pub id: String,
    /// Its name in Home Assistant.
    pub name: String,
    /// The corners, in order.
    pub polygon: Vec<(f32, f32)>,
}

impl Zone {
    /// Whether `(x, y)` is inside (even-odd rule; points on an edge may fall either way).
    pub fn contains(&self, (x, y): (f32, f32)) -> bool {
        let p = &self.polygon;
        let mut inside = false;
        let mut j = p.len().wrapping_sub(1);
        for i in 0..p.len() {
            let (xi, yi) = p[i];
            let (xj, yj) = p[j];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// How many of `people` are in the zone.
    pub fn count(&self, people: &[Detection]) -> u32 {
        people.iter().filter(|d| self.contains(d.bbox.foot())).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::postprocess::BBox;

    fn left_half() -> Zone {
        Zone {
            id: "left".into(),
            name: "Left".into(),
            polygon: vec![(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)],
        }
    }

    #[test]
    fn a_point_inside_a_square_is_in_and_one_outside_is_not() {
        let z = left_half();
        assert!(z.contains((0.25, 0.5)));
        assert!(!z.contains((0.75, 0.5)));
    }

    #[test]
    fn a_concave_polygon_leaves_its_notch_out() {
        // An L: the top-right quarter is the notch.
        let z = Zone {
            id: "l".into(),
            name: "L".into(),
            polygon: vec![(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)],
        };
        assert!(!z.contains((0.75, 0.25)));
        assert!(z.contains((0.75, 0.75)));
        assert!(z.contains((0.25, 0.25)));
    }

    #[test]
    fn people_are_counted_by_where_they_stand() {
        let person =
            |xmin, xmax| Detection { score: 0.9, bbox: BBox { xmin, ymin: 0.1, xmax, ymax: 0.9 } };
        // The second box reaches into the left half but stands in the right one.
        let people = [person(0.1, 0.3), person(0.4, 0.9)];
        assert_eq!(left_half().count(&people), 1);
    }
}
