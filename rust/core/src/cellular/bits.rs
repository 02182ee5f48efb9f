//! Packing cells (one `u8` per cell, 0 or 1) into `u64` words and back.
//!
//! Layout: cell `i` of a row is bit `i % 64` of word `i / 64` (LSB first); bits past the row's
//! width in its last word are always 0.

use std::mem::MaybeUninit;

/// Number of `u64` words holding `width` cells.
#[inline]
pub fn words_for(width: usize) -> usize {
    width.div_ceil(64)
}

/// Mask of the valid bits of the last word of a `width`-cell row.
#[inline]
pub fn tail_mask(width: usize) -> u64 {
    match width % 64 {
        0 => !0,
        r => (1u64 << r) - 1,
    }
}

/// Packs `cells` (non-zero = alive) into `out` (`words_for(cells.len())` words).
pub fn pack_row(cells: &[u8], out: &mut [u64]) {
    for (word, chunk) in out.iter_mut().zip(cells.chunks(64)) {
        let mut w = 0u64;
        let mut bytes = chunk.chunks_exact(8);
        for (k, eight) in (&mut bytes).enumerate() {
            w |= gather8(eight) << (8 * k);
        }
        let base = chunk.len() - bytes.remainder().len();
        for (i, &c) in bytes.remainder().iter().enumerate() {
            w |= ((c != 0) as u64) << (base + i);
        }
        *word = w;
    }
}

/// Eight cells (non-zero = alive) as the low eight bits of a word.
#[inline(always)]
pub fn gather8(eight: &[u8]) -> u64 {
    gather8_word(u64::from_le_bytes(eight.try_into().expect("8 bytes")))
}

/// The eight bytes of `x` (little-endian) as eight bits: bit `i` set iff byte `i` is non-zero.
#[inline(always)]
fn gather8_word(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // High bit of each byte set iff the byte is non-zero, then moved to the byte's bit 0.
    let ones = ((((x & LOW7) + LOW7) | x) & !LOW7) >> 7;
    // Byte i (value 0/1) times 2^(7k + 7) with k = 7 - i lands on bit 56 + i; no other
    // product reaches bits 56..63 and all exponents differ, so there are no carries.
    ones.wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Byte `b` spread to eight cells, as the little-endian bytes of a `u64`.
const fn spread_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut v = 0u64;
        let mut i = 0;
        while i < 8 {
            v |= (((b >> i) & 1) as u64) << (8 * i);
            i += 1;
        }
        table[b] = v;
        b += 1;
    }
    table
}

static SPREAD: [u64; 256] = spread_table();

/// Unpacks the first `out.len()` cells of a packed row (starting at bit 0) into bytes 0/1.
pub fn unpack_row(words: &[u64], out: &mut [u8]) {
    let mut chunks = out.chunks_exact_mut(8);
    let mut byte_index = 0usize;
    for chunk in &mut chunks {
        let byte = (words[byte_index / 8] >> (8 * (byte_index % 8))) & 0xFF;
        chunk.copy_from_slice(&SPREAD[byte as usize].to_le_bytes());
        byte_index += 1;
    }
    let base = byte_index * 8;
    for (i, cell) in chunks.into_remainder().iter_mut().enumerate() {
        let k = base + i;
        *cell = ((words[k / 64] >> (k % 64)) & 1) as u8;
    }
}

/// Unpacks a packed grid (`words_per_row` words per row) into rows of `width` bytes 0/1,
/// written straight into (possibly uninitialised) output. The narrow-grid case (one word per
/// row) is one flat loop over eight-cell groups, since per-row calls dominate small grids;
/// other shapes go through [`unpack_row`] and `row` (a reusable buffer).
pub fn unpack_grid(
    packed: &[u64],
    words_per_row: usize,
    width: usize,
    out: &mut [MaybeUninit<u8>],
    row: &mut Vec<u8>,
) {
    if words_per_row == 1 && width.is_multiple_of(8) {
        for (cells, &word) in out.chunks_exact_mut(width).zip(packed) {
            let mut word = word;
            for dst in cells.chunks_exact_mut(8) {
                dst.write_copy_of_slice(&SPREAD[(word & 0xFF) as usize].to_le_bytes());
                word >>= 8;
            }
        }
        return;
    }
    row.resize(width, 0);
    for (cells, words) in out.chunks_mut(width).zip(packed.chunks(words_per_row)) {
        unpack_row(words, row);
        cells.write_copy_of_slice(row);
    }
}

/// Copies bits `start .. start + len` of `src` into `dst` starting at bit 0 (`dst` has
/// `words_for(len)` words; bits past `len` are cleared).
pub fn extract_bits(src: &[u64], start: usize, len: usize, dst: &mut [u64]) {
    let shift = start % 64;
    let first = start / 64;
    for (j, out) in dst.iter_mut().enumerate() {
        let w = first + j;
        let low = src.get(w).copied().unwrap_or(0) >> shift;
        let high = if shift == 0 {
            0
        } else {
            src.get(w + 1).copied().unwrap_or(0) << (64 - shift)
        };
        *out = low | high;
    }
    if let Some(last) = dst.last_mut() {
        *last &= tail_mask(len);
    }
}

/// Bit `i` of a packed row.
#[inline]
pub fn get_bit(words: &[u64], i: usize) -> u64 {
    (words[i / 64] >> (i % 64)) & 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_and_extract() {
        for width in [1usize, 7, 8, 32, 56, 63, 64, 65, 130, 200] {
            let cells: Vec<u8> = (0..width)
                .map(|i| ((i * 7 + i / 3) % 3 == 0) as u8)
                .collect();
            // Any non-zero byte is a live cell.
            let loud: Vec<u8> = cells
                .iter()
                .enumerate()
                .map(|(i, &c)| c * (1 + (i % 255) as u8))
                .collect();
            let mut loud_words = vec![0u64; words_for(width)];
            pack_row(&loud, &mut loud_words);
            let mut words = vec![0u64; words_for(width)];
            pack_row(&cells, &mut words);
            assert_eq!(loud_words, words);
            for (i, &c) in cells.iter().enumerate() {
                assert_eq!(get_bit(&words, i), c as u64);
            }
            let mut back = vec![9u8; width];
            unpack_row(&words, &mut back);
            assert_eq!(back, cells);
            // a grid of three such rows, through the grid path
            let grid: Vec<u64> = words.iter().chain(&words).chain(&words).copied().collect();
            let mut back3 = vec![MaybeUninit::new(9u8); 3 * width];
            unpack_grid(&grid, words.len(), width, &mut back3, &mut Vec::new());
            // SAFETY: every element was initialised (to 9, then overwritten).
            let back3: Vec<u8> = back3.iter().map(|c| unsafe { c.assume_init() }).collect();
            assert_eq!(back3, [&cells[..], &cells[..], &cells[..]].concat());
            for (start, len) in [(0, width), (width / 3, width - width / 3), (width - 1, 1)] {
                let mut part = vec![0u64; words_for(len)];
                extract_bits(&words, start, len, &mut part);
                let mut cells_part = vec![0u8; len];
                unpack_row(&part, &mut cells_part);
                assert_eq!(cells_part, &cells[start..start + len]);
            }
        }
    }
}
