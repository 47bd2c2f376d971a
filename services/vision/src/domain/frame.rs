//! One camera frame as the detector takes it: packed 8-bit RGB, row after row.

use std::fmt;

/// A frame: `width × height` RGB pixels, 3 bytes each, no row padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}×{})", self.width, self.height)
    }
}

/// Why bytes are not a usable frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A side is zero or absurdly large.
    #[error("frame size {width}×{height} is not usable (1 to 8192 pixels a side)")]
    Size {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// Fewer or more bytes than the size needs (a truncated buffer).
    #[error("frame of {width}×{height} needs {expected} bytes of RGB, got {got}")]
    Length {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The image file or buffer does not decode.
    #[error("cannot decode image: {0}")]
    Decode(String),
}

/// The largest side accepted, so a corrupt header cannot make us allocate gigabytes.
const MAX_SIDE: u32 = 8192;

impl Frame {
    /// A frame from packed RGB bytes; refused when the length does not match the size.
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self, FrameError> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(FrameError::Size { width, height });
        }
        let expected = width as usize * height as usize * 3;
        if rgb.len() != expected {
            return Err(FrameError::Length { width, height, expected, got: rgb.len() });
        }
        Ok(Self { width, height, rgb })
    }

    /// Decodes a JPEG or PNG (grey, grey+alpha, RGB, RGBA; 8 or 16 bits) into RGB.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        let format = image::guess_format(bytes).map_err(|e| FrameError::Decode(e.to_string()))?;
        if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
            return Err(FrameError::Decode(format!("{format:?} is not JPEG or PNG")));
        }
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        reader.limits(limits);
        let img = reader.decode().map_err(|e| FrameError::Decode(e.to_string()))?;
        let rgb = img.into_rgb8();
        let (w, h) = rgb.dimensions();
        Self::from_rgb(w, h, rgb.into_raw())
    }

    /// Encodes the frame as a JPEG (for the snapshot entity).
    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
        enc.encode(&self.rgb, self.width, self.height, image::ExtendedColorType::Rgb8)
            .map_err(|e| FrameError::Decode(e.to_string()))?;
        Ok(out)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The packed RGB bytes.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_buffer_is_refused_with_both_lengths() {
        let err = Frame::from_rgb(4, 4, vec![0; 47]).unwrap_err();
        assert_eq!(err, FrameError::Length { width: 4, height: 4, expected: 48, got: 47 });
    }

    #[test]
    fn an_empty_size_is_refused() {
        assert!(matches!(Frame::from_rgb(0, 4, vec![]), Err(FrameError::Size { .. })));
    }

    #[test]
    fn garbage_and_a_truncated_png_do_not_decode() {
        assert!(matches!(Frame::decode(b"not an image at all"), Err(FrameError::Decode(_))));
        let frame = Frame::from_rgb(8, 8, vec![200; 192]).unwrap();
        let mut png = Vec::new();
        image::RgbImage::from_raw(8, 8, frame.rgb().to_vec())
            .unwrap()
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(Frame::decode(&png).unwrap(), frame);
        assert!(Frame::decode(&png[..png.len() / 2]).is_err());
    }

    #[test]
    fn a_jpeg_round_trips_to_the_same_size() {
        let frame = Frame::from_rgb(16, 8, vec![90; 16 * 8 * 3]).unwrap();
        let back = Frame::decode(&frame.to_jpeg(90).unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (16, 8));
    }
}
