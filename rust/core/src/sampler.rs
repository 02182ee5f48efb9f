//! The one sampler shape every row task follows: a validated configuration implementing
//! [`RowSampler`] fills one item (a row of token ids, optional `-100`-masked labels, optional
//! small integer / real side arrays, and its length) from that item's own [`Dice`];
//! [`generate`] is the one driver for threads, sizes and dtype. Output is a pure function of
//! (configuration, seed, index), whatever the thread count.

use rand::Rng;
use rayon::prelude::*;

use crate::error::{KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{ItemRng, StreamKey};
use crate::token::TokenId;

/// 2^-53, the spacing of the uniform doubles [`Dice::unit`] returns.
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// An item's generator with the draws the tasks need. 32-bit draws take both halves of each
/// 64-bit output.
pub struct Dice {
    rng: ItemRng,
    spare: u32,
    has_spare: bool,
}

impl Dice {
    pub fn new(rng: ItemRng) -> Self {
        Dice {
            rng,
            spare: 0,
            has_spare: false,
        }
    }

    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        if self.has_spare {
            self.has_spare = false;
            self.spare
        } else {
            let x = self.rng.next_u64();
            self.spare = (x >> 32) as u32;
            self.has_spare = true;
            x as u32
        }
    }

    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform integer in `[0, n)`, exactly (Lemire's multiply-and-reject); `n >= 1`.
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n > 0);
        let mut m = self.next_u32() as u64 * n as u64;
        if (m as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u32) < threshold {
                m = self.next_u32() as u64 * n as u64;
            }
        }
        (m >> 32) as u32
    }

    /// A uniform double in `[0, 1)` with 53 random bits.
    #[inline(always)]
    pub fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * UNIT
    }

    /// True with probability `p`.
    #[inline(always)]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of three outcomes 0, 1, 2 with probabilities `p0`, `p1`, `1 - p0 - p1`.
    #[inline(always)]
    pub fn three_way(&mut self, p0: f64, p1: f64) -> u8 {
        let u = self.unit();
        if u < p0 {
            0
        } else if u < p0 + p1 {
            1
        } else {
            2
        }
    }
}

/// Per-thread buffers reused across rows; every user leaves them in their reset state
/// (bitset all clear) so that rows never influence each other.
#[derive(Default)]
pub struct Scratch {
    pub row: Vec<u32>,
    pub bits: Vec<u64>,
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub c: Vec<u32>,
    pub d: Vec<u32>,
    pub tree: Vec<f64>,
    pub wide: Vec<i64>,
}

/// The ignore index written into masked label positions.
pub const IGNORE: i64 = -100;

/// What one row of a task holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowShape {
    /// Tokens per row (`T`).
    pub length: usize,
    /// Whether the task writes an int64 label per token (`-100` where masked).
    pub labels: bool,
    /// Small integers per row (function specifications, clean labels, ...).
    pub ints: usize,
    /// Reals per row (probabilities, regression targets, ...).
    pub reals: usize,
}

/// One row's output buffers.
pub struct Row<'a> {
    pub tokens: &'a mut [u32],
    pub labels: &'a mut [i64],
    pub ints: &'a mut [i8],
    pub reals: &'a mut [f32],
    /// The row's length: arrives as `T`; variable-length tasks set it (the tokens past it
    /// stay the pad id).
    pub length: &'a mut usize,
}

/// A task that fills rows from a per-item generator.
pub trait RowSampler: Sync {
    /// The vocabulary size: every token id is below it.
    fn vocab_size(&self) -> usize;
    fn shape(&self) -> RowShape;
    /// The id the token row arrives filled with (padding of variable-length rows).
    fn pad_id(&self) -> u32 {
        0
    }
    /// Fills one row. `labels` arrives filled with [`IGNORE`], `tokens` with [`pad_id`], the
    /// other buffers with zeros.
    ///
    /// [`pad_id`]: RowSampler::pad_id
    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>);

    /// What the driver calls: [`fill`](RowSampler::fill), for samplers that can fail on a
    /// row (e.g. rejection samplers out of tries) an error naming the cause.
    fn try_fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) -> Result<()> {
        self.fill(dice, scratch, row);
        Ok(())
    }
}

/// A generated batch, row-major: `tokens [B, T]`, `labels [B, T]` (empty when the task has
/// none), `ints [B, I]`, `reals [B, R]`, `lengths [B]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqBatch<T> {
    pub tokens: Vec<T>,
    pub labels: Vec<i64>,
    pub ints: Vec<i8>,
    pub reals: Vec<f32>,
    pub lengths: Vec<u32>,
    pub shape: RowShape,
}

/// Generates items `start .. start + count` of the stream keyed by `key`.
pub fn generate<T: TokenId, S: RowSampler>(
    sampler: &S,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<SeqBatch<T>> {
    let shape = sampler.shape();
    if (sampler.vocab_size() as u64).saturating_sub(1) > T::MAX_ID {
        return Err(KleeneError::invalid(
            "dtype",
            format!("cannot hold token ids up to {}", sampler.vocab_size() - 1),
        ));
    }
    let t = shape.length;
    let per_row = std::mem::size_of::<T>() * t
        + if shape.labels { 8 * t } else { 0 }
        + shape.ints
        + 4 * shape.reals
        + 4;
    check_elements("batch", &[count, per_row.max(1)], 1)?;
    // Zeroed allocations only (calloc: fresh pages cost nothing until touched); the label
    // rows get their ignore index from the worker that fills them, so no serial pass over the
    // output precedes the parallel region.
    let mut tokens = vec![T::default(); count * t];
    let mut labels = vec![0i64; if shape.labels { count * t } else { 0 }];
    let mut ints = vec![0i8; count * shape.ints];
    let mut reals = vec![0f32; count * shape.reals];
    let mut lengths = vec![0u32; count];
    let pad = sampler.pad_id();
    let label_rows = split_rows(&mut labels, t, count);
    let int_rows = split_rows(&mut ints, shape.ints, count);
    let real_rows = split_rows(&mut reals, shape.reals, count);
    with_threads(threads, || {
        tokens
            .par_chunks_mut(t.max(1))
            .zip(label_rows)
            .zip(int_rows)
            .zip(real_rows)
            .zip(lengths.par_iter_mut())
            .enumerate()
            .try_for_each_init(
                Scratch::default,
                |scratch, (i, ((((tok, lab), ints), reals), len))| {
                    let mut dice = Dice::new(key.item_rng(start.wrapping_add(i as u64)));
                    let mut buf = std::mem::take(&mut scratch.row);
                    buf.clear();
                    buf.resize(t, pad);
                    let mut length = t;
                    lab.fill(IGNORE);
                    let row = Row {
                        tokens: &mut buf,
                        labels: lab,
                        ints,
                        reals,
                        length: &mut length,
                    };
                    let filled = sampler.try_fill(&mut dice, scratch, row);
                    *len = length as u32;
                    for (dst, &src) in tok.iter_mut().zip(&buf) {
                        *dst = T::from_id(src);
                    }
                    scratch.row = buf;
                    filled
                },
            )
    })?;
    Ok(SeqBatch {
        tokens,
        labels,
        ints,
        reals,
        lengths,
        shape,
    })
}

/// Per-row mutable slices of `buf` (empty slices when a row holds nothing).
fn split_rows<E: Send>(buf: &mut [E], per_row: usize, count: usize) -> Vec<&mut [E]> {
    if per_row == 0 || buf.is_empty() {
        (0..count).map(|_| <&mut [E]>::default()).collect()
    } else {
        buf.chunks_mut(per_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::item_rng;

    #[test]
    fn below_covers_the_range_uniformly() {
        let mut dice = Dice::new(item_rng(1, 2, 3));
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[dice.below(7) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_400..10_600).contains(&c)),
            "{counts:?}"
        );
    }
}
