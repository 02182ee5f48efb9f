//! Recall, copying and in-context function tasks.
//!
//! Every task is a [`RowSampler`]: a validated configuration that fills one item (a row of
//! token ids, optional `-100`-masked labels and optional small integer / real side arrays)
//! from that item's own generator. [`generate`] runs the rows in parallel, so the output is a
//! pure function of (configuration, seed, index), whatever the thread count.

pub mod binary;
pub mod boolean;
pub mod copying;
pub mod fuzzy;
pub mod induction;
pub mod mad;
pub mod mqar;
pub mod sampling;

use rayon::prelude::*;

use crate::error::{KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::StreamKey;
use crate::token::TokenId;

pub use sampling::{Dice, Scratch};

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
}

/// A task that fills rows from a per-item generator.
pub trait RowSampler: Sync {
    /// The vocabulary size: every token id is below it.
    fn vocab_size(&self) -> usize;
    fn shape(&self) -> RowShape;
    /// Fills one row. `labels` arrives filled with [`IGNORE`], the other buffers with zeros.
    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>);
}

/// A generated batch, row-major: `tokens [B, T]`, `labels [B, T]` (empty when the task has
/// none), `ints [B, I]`, `reals [B, R]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqBatch<T> {
    pub tokens: Vec<T>,
    pub labels: Vec<i64>,
    pub ints: Vec<i8>,
    pub reals: Vec<f32>,
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
        + 4 * shape.reals;
    check_elements("recall batch", &[count, per_row.max(1)], 1)?;
    let mut tokens = vec![T::default(); count * t];
    let mut labels = vec![IGNORE; if shape.labels { count * t } else { 0 }];
    let mut ints = vec![0i8; count * shape.ints];
    let mut reals = vec![0f32; count * shape.reals];
    let label_rows = split_rows(&mut labels, t, count);
    let int_rows = split_rows(&mut ints, shape.ints, count);
    let real_rows = split_rows(&mut reals, shape.reals, count);
    with_threads(threads, || {
        tokens
            .par_chunks_mut(t.max(1))
            .zip(label_rows)
            .zip(int_rows)
            .zip(real_rows)
            .enumerate()
            .for_each_init(
                Scratch::default,
                |scratch, (i, (((tok, lab), ints), reals))| {
                    let mut dice = Dice::new(key.item_rng(start + i as u64));
                    let mut buf = std::mem::take(&mut scratch.row);
                    buf.clear();
                    buf.resize(t, 0);
                    let row = Row {
                        tokens: &mut buf,
                        labels: lab,
                        ints,
                        reals,
                    };
                    sampler.fill(&mut dice, scratch, row);
                    for (dst, &src) in tok.iter_mut().zip(&buf) {
                        *dst = T::from_id(src);
                    }
                    scratch.row = buf;
                },
            );
    });
    Ok(SeqBatch {
        tokens,
        labels,
        ints,
        reals,
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

/// Any recall-family sampler, for callers that pick the task at run time.
pub enum AnySampler {
    Mqar(mqar::Mqar),
    Recall(mad::RecallConfig),
    Memorization(mad::Memorization),
    Compression(mad::CompressionConfig),
    Copying(copying::CopyingConfig),
    Fuzzy(fuzzy::FuzzyConfig),
    Induction(induction::InductionConfig),
    AssocRecall(induction::AssocRecallConfig),
    Boolean(boolean::BooleanConfig),
    Gotu(boolean::Gotu),
    Binary(binary::BinaryConfig),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            AnySampler::Mqar($s) => $body,
            AnySampler::Recall($s) => $body,
            AnySampler::Memorization($s) => $body,
            AnySampler::Compression($s) => $body,
            AnySampler::Copying($s) => $body,
            AnySampler::Fuzzy($s) => $body,
            AnySampler::Induction($s) => $body,
            AnySampler::AssocRecall($s) => $body,
            AnySampler::Boolean($s) => $body,
            AnySampler::Gotu($s) => $body,
            AnySampler::Binary($s) => $body,
        }
    };
}

impl RowSampler for AnySampler {
    fn vocab_size(&self) -> usize {
        delegate!(self, s => s.vocab_size())
    }

    fn shape(&self) -> RowShape {
        delegate!(self, s => s.shape())
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        delegate!(self, s => s.fill(dice, scratch, row))
    }
}

/// Shorthand for a parameter check.
pub(crate) fn check(ok: bool, name: &str, message: impl FnOnce() -> String) -> Result<()> {
    crate::error::ensure(ok, name, message)
}
