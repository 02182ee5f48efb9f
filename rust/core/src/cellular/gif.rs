//! Animated GIF of binary frames (dead cells white, live cells black).

use std::borrow::Cow;

use crate::error::{ensure, KleeneError, Result};

/// Encodes `count` frames of `[height, width]` cells (non-zero = alive), each cell drawn as a
/// `scale x scale` square, `delay_cs` hundredths of a second per frame, looping forever.
pub fn encode(
    frames: &[u8],
    count: usize,
    height: usize,
    width: usize,
    scale: usize,
    delay_cs: u16,
) -> Result<Vec<u8>> {
    ensure(count >= 1, "frames", || "needs at least one frame".into())?;
    ensure(frames.len() == count * height * width, "frames", || {
        "size mismatch".into()
    })?;
    ensure((1..=64).contains(&scale), "scale", || {
        format!("must be in 1..=64, got {scale}")
    })?;
    let (h, w) = (height * scale, width * scale);
    ensure(
        h >= 1 && w >= 1 && h <= 65535 && w <= 65535,
        "frames",
        || format!("scaled image {w}x{h} must fit in 65535x65535"),
    )?;
    let err = |e: ::gif::EncodingError| KleeneError::invalid("frames", e.to_string());
    let palette = [255u8, 255, 255, 0, 0, 0];
    let mut out = Vec::new();
    {
        let mut enc = ::gif::Encoder::new(&mut out, w as u16, h as u16, &palette).map_err(err)?;
        enc.set_repeat(::gif::Repeat::Infinite).map_err(err)?;
        let mut pixels = vec![0u8; h * w];
        for frame in frames.chunks(height * width) {
            for (y, line) in pixels.chunks_mut(w).enumerate() {
                let src = &frame[(y / scale) * width..][..width];
                for (x, px) in line.iter_mut().enumerate() {
                    *px = (src[x / scale] != 0) as u8;
                }
            }
            let f = ::gif::Frame {
                width: w as u16,
                height: h as u16,
                delay: delay_cs,
                buffer: Cow::Borrowed(&pixels),
                ..::gif::Frame::default()
            };
            enc.write_frame(&f).map_err(err)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_back_to_the_frames() {
        let frames: Vec<u8> = (0..2 * 3 * 5).map(|i| (i % 3 == 0) as u8).collect();
        let bytes = super::encode(&frames, 2, 3, 5, 2, 10).unwrap();
        let mut opts = ::gif::DecodeOptions::new();
        opts.set_color_output(::gif::ColorOutput::Indexed);
        let mut dec = opts.read_info(&bytes[..]).unwrap();
        let mut seen = 0;
        while let Some(f) = dec.read_next_frame().unwrap() {
            assert_eq!((f.width, f.height), (10, 6));
            for y in 0..6 {
                for x in 0..10 {
                    let want = frames[seen * 15 + (y / 2) * 5 + x / 2];
                    assert_eq!(f.buffer[y * 10 + x], want);
                }
            }
            seen += 1;
        }
        assert_eq!(seen, 2);
    }
}
