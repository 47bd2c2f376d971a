//! Model output → people: threshold, clip, greedy non-maximum suppression.

use serde::Serialize;

/// A box in normalised image coordinates (0..1, origin top left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    /// Left edge.
    pub xmin: f32,
    /// Top edge.
    pub ymin: f32,
    /// Right edge.
    pub xmax: f32,
    /// Bottom edge.
    pub ymax: f32,
}

impl BBox {
    fn area(&self) -> f32 {
        (self.xmax - self.xmin).max(0.0) * (self.ymax - self.ymin).max(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.xmax.min(other.xmax) - self.xmin.max(other.xmin)).max(0.0);
        let h = (self.ymax.min(other.ymax) - self.ymin.max(other.ymin)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// Where the person stands: the middle of the box's bottom edge. Zones contain a person
    /// when they contain this point.
    pub fn foot(&self) -> (f32, f32) {
        ((self.xmin + self.xmax) / 2.0, self.ymax)
    }

    /// `[xmin, ymin, xmax, ymax]`.
    pub fn to_array(&self) -> [f32; 4] {
        [self.xmin, self.ymin, self.xmax, self.ymax]
    }
}

/// One person found in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The model's probability, 0..1.
    pub score: f32,
    /// Where, normalised.
    pub bbox: BBox,
}

/// Reads `[ymin, xmin, ymax, xmax]` boxes and one score per box, keeps the boxes scoring at
/// least `threshold` (clipped to the image; NaN scores and empty boxes dropped), best first.
/// Only the first `min(boxes.len() / 4, scores.len())` anchors are read.
pub fn decode_yxyx(boxes: &[f32], scores: &[f32], threshold: f32) -> Vec<Detection> {
    let mut out: Vec<Detection> = boxes
        .chunks_exact(4)
        .zip(scores)
        .filter(|(_, s)| **s >= threshold)
        .filter_map(|(b, &score)| {
            let c = |v: f32| v.clamp(0.0, 1.0);
            let bbox = BBox { ymin: c(b[0]), xmin: c(b[1]), ymax: c(b[2]), xmax: c(b[3]) };
            (bbox.area() > 0.0).then_some(Detection { score, bbox })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Greedy NMS on detections sorted best first: drops every box overlapping a better kept one
/// by more than `iou`.
pub fn nms(sorted: Vec<Detection>, iou: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::new();
    for d in sorted {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(xmin: f32, ymin: f32, xmax: f32, ymax: f32) -> BBox {
        BBox { xmin, ymin, xmax, ymax }
    }

    #[test]
    fn boxes_below_the_threshold_are_dropped_and_the_rest_sorted_best_first() {
        let boxes = [0.1, 0.1, 0.5, 0.5, 0.2, 0.2, 0.9, 0.9, 0.0, 0.0, 0.3, 0.3];
        let scores = [0.6, 0.9, 0.2];
        let d = decode_yxyx(&boxes, &scores, 0.5);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].score, 0.9);
        assert_eq!(d[0].bbox, b(0.2, 0.2, 0.9, 0.9));
    }

    #[test]
    fn coordinates_are_read_as_y_then_x_and_clipped() {
        let d = decode_yxyx(&[-0.1, 0.2, 0.5, 1.3], &[0.7], 0.5);
        assert_eq!(d[0].bbox, b(0.2, 0.0, 1.0, 0.5));
    }

    #[test]
    fn nan_scores_and_empty_boxes_never_count_as_people() {
        let d = decode_yxyx(&[0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9], &[f32::NAN, 0.9], 0.5);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn overlapping_boxes_of_one_person_collapse_to_the_best() {
        let dets = vec![
            Detection { score: 0.9, bbox: b(0.1, 0.1, 0.5, 0.9) },
            Detection { score: 0.8, bbox: b(0.12, 0.1, 0.52, 0.9) },
            Detection { score: 0.7, bbox: b(0.6, 0.1, 0.9, 0.9) },
        ];
        let kept = nms(dets, 0.5);
        assert_eq!(kept.iter().map(|d| d.score).collect::<Vec<_>>(), [0.9, 0.7]);
    }

    #[test]
    fn iou_of_disjoint_boxes_is_zero_and_of_equal_boxes_one() {
        let a = b(0.0, 0.0, 0.5, 0.5);
        assert_eq!(a.iou(&b(0.6, 0.6, 1.0, 1.0)), 0.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
    }
}
