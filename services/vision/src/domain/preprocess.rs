//! Frame → model input: bilinear resize of the whole frame (stretched, aspect ratio not kept,
//! as the person detector was fed in training), RGB, NHWC, `pixel * scale + offset`.

use super::frame::Frame;

/// Where each output column or row samples the source: two neighbours and the weight of the
/// second. Half-pixel centres, edges clamped (scikit-image `resize(order=1)`'s mapping).
fn taps(src: u32, dst: usize) -> Vec<(usize, usize, f32)> {
    let ratio = src as f32 / dst as f32;
    let last = src as usize - 1;
    (0..dst)
        .map(|i| {
            let x = ((i as f32 + 0.5) * ratio - 0.5).max(0.0);
            let x0 = (x.floor() as usize).min(last);
            let x1 = (x0 + 1).min(last);
            (x0, x1, x - x0 as f32)
        })
        .collect()
}

/// Fills `out` (`out_h × out_w × 3` floats, NHWC without the batch axis) from `frame`.
///
/// # Panics
/// When `out` is not `out_w * out_h * 3` long: the caller sizes it from the model's input.
pub fn resize_into(
    frame: &Frame,
    out_w: usize,
    out_h: usize,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    assert_eq!(out.len(), out_w * out_h * 3, "input buffer should match the model input");
    let xs = taps(frame.width(), out_w);
    let ys = taps(frame.height(), out_h);
    let stride = frame.width() as usize * 3;
    let rgb = frame.rgb();
    for (oy, &(y0, y1, wy)) in ys.iter().enumerate() {
        let r0 = &rgb[y0 * stride..(y0 + 1) * stride];
        let r1 = &rgb[y1 * stride..(y1 + 1) * stride];
        let row = &mut out[oy * out_w * 3..(oy + 1) * out_w * 3];
        for (px, &(x0, x1, wx)) in row.chunks_exact_mut(3).zip(&xs) {
            for c in 0..3 {
                let a = r0[x0 * 3 + c] as f32;
                let b = r0[x1 * 3 + c] as f32;
                let d = r1[x0 * 3 + c] as f32;
                let e = r1[x1 * 3 + c] as f32;
                let top = a + (b - a) * wx;
                let bottom = d + (e - d) * wx;
                px[c] = (top + (bottom - top) * wy) * scale + offset;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_frame_stays_flat_at_any_size() {
        let frame = Frame::from_rgb(7, 5, [10u8, 20, 30].repeat(35)).unwrap();
        let mut out = vec![0.0; 3 * 4 * 3];
        resize_into(&frame, 3, 4, 1.0, 0.0, &mut out);
        for px in out.chunks(3) {
            assert_eq!(px, [10.0, 20.0, 30.0]);
        }
    }

    #[test]
    fn halving_a_two_pixel_ramp_averages_it() {
        let frame = Frame::from_rgb(2, 1, vec![0, 0, 0, 100, 100, 100]).unwrap();
        let mut out = vec![0.0; 3];
        resize_into(&frame, 1, 1, 1.0, 0.0, &mut out);
        assert_eq!(out, [50.0, 50.0, 50.0]);
    }

    #[test]
    fn scale_and_offset_apply_after_interpolation() {
        let frame = Frame::from_rgb(1, 1, vec![255, 0, 127]).unwrap();
        let mut out = vec![0.0; 3];
        resize_into(&frame, 1, 1, 2.0 / 255.0, -1.0, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] + 1.0).abs() < 1e-6, "{out:?}");
    }
}
