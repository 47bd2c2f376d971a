//! Plane geometry on room polygons: containment, distance to a room, area.

/// A 2-D point in metres, `[x, y]`.
pub(crate) type Point2 = [f64; 2];

/// Whether `p` lies inside `polygon` (even-odd rule; points on an edge may go either way).
pub(crate) fn contains(polygon: &[Point2], p: Point2) -> bool {
    let mut inside = false;
    let n = polygon.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x_cross = (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0];
            if p[0] < x_cross {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// Distance in metres from `p` to the closest edge of `polygon`.
pub(crate) fn distance_to_edge(polygon: &[Point2], p: Point2) -> f64 {
    let n = polygon.len();
    let mut best = f64::INFINITY;
    for i in 0..n {
        let a = polygon[i];
        let b = polygon[(i + 1) % n];
        best = best.min(distance_to_segment(a, b, p));
    }
    best
}

/// Distance in metres from `p` to `polygon`: zero inside, the edge distance outside.
pub(crate) fn distance_outside(polygon: &[Point2], p: Point2) -> f64 {
    if contains(polygon, p) { 0.0 } else { distance_to_edge(polygon, p) }
}

/// Signed area in m² (positive when counter-clockwise).
pub(crate) fn signed_area(polygon: &[Point2]) -> f64 {
    let n = polygon.len();
    let mut twice = 0.0;
    for i in 0..n {
        let a = polygon[i];
        let b = polygon[(i + 1) % n];
        twice += a[0] * b[1] - b[0] * a[1];
    }
    twice / 2.0
}

/// The point of `polygon`'s outline closest to `p`, or `None` when `p` is inside.
pub(crate) fn closest_point_if_outside(polygon: &[Point2], p: Point2) -> Option<Point2> {
    if contains(polygon, p) {
        return None;
    }
    let n = polygon.len();
    let mut best = (f64::INFINITY, p);
    for i in 0..n {
        let c = closest_on_segment(polygon[i], polygon[(i + 1) % n], p);
        let d2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
        if d2 < best.0 {
            best = (d2, c);
        }
    }
    Some(best.1)
}

fn closest_on_segment(a: Point2, b: Point2, p: Point2) -> Point2 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    [a[0] + t * dx, a[1] + t * dy]
}

fn distance_to_segment(a: Point2, b: Point2, p: Point2) -> f64 {
    let c = closest_on_segment(a, b, p);
    ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: [Point2; 4] = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];

    #[test]
    fn a_point_in_the_middle_of_a_square_is_inside_and_at_distance_zero() {
        assert!(contains(&SQUARE, [1.0, 1.0]));
        assert_eq!(distance_outside(&SQUARE, [1.0, 1.0]), 0.0);
    }

    #[test]
    fn a_point_beyond_a_wall_is_outside_at_its_distance_to_that_wall() {
        assert!(!contains(&SQUARE, [3.0, 1.0]));
        assert!((distance_outside(&SQUARE, [3.0, 1.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_counter_clockwise_square_has_positive_area() {
        assert!((signed_area(&SQUARE) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn an_l_shaped_room_does_not_contain_its_missing_corner() {
        let l = [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]];
        assert!(contains(&l, [0.5, 1.5]));
        assert!(!contains(&l, [1.5, 1.5]));
    }
}
