//! The token-level model seen by the algorithms, and one context's next-token distribution
//! prepared for range queries over the byte trie.

use std::sync::OnceLock;

use super::vocab::{NodeId, Vocab, ROOT};
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// A token-level language model: next-token probabilities for a batch of contexts.
/// Implemented in the binding crate by a Python callable.
pub trait NextTokenModel {
    /// Calls `sink(i, row)` once for every context `i` (in any order), with its next-token
    /// probabilities (length = vocabulary size). The distribution keeps the row as given,
    /// so a row that borrows the model's own buffer is never copied.
    fn next_probs(
        &mut self,
        contexts: &[Vec<u32>],
        sink: &mut dyn FnMut(usize, Box<dyn Row>) -> Result<()>,
    ) -> Result<()>;
}

/// One next-token row, owned or borrowed from the model's output buffer (the binding's numpy
/// rows). The values must not change while the row is alive.
pub trait Row: Send + Sync {
    fn values(&self) -> Values<'_>;
}

impl std::fmt::Debug for dyn Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Row({} values)", self.values().len())
    }
}

/// A row's values in the model's precision; `f32` values are widened on read, which is exact,
/// so an `f32` row gives the same sums as its `f64` conversion.
#[derive(Clone, Copy, Debug)]
pub enum Values<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl Values<'_> {
    pub fn len(&self) -> usize {
        match self {
            Values::F32(r) => r.len(),
            Values::F64(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, id: u32) -> f64 {
        match self {
            Values::F32(r) => f64::from(r[id as usize]),
            Values::F64(r) => r[id as usize],
        }
    }

    /// Sum of the values of `ids`, in order.
    #[inline]
    pub fn sum_of(&self, ids: &[u32]) -> f64 {
        match self {
            Values::F32(r) => ids.iter().map(|&t| f64::from(r[t as usize])).sum(),
            Values::F64(r) => ids.iter().map(|&t| r[t as usize]).sum(),
        }
    }

    fn to_f64(self) -> Vec<f64> {
        match self {
            Values::F32(r) => r.iter().map(|&p| f64::from(p)).collect(),
            Values::F64(r) => r.to_vec(),
        }
    }
}

impl Row for Vec<f64> {
    fn values(&self) -> Values<'_> {
        Values::F64(self)
    }
}

impl Row for Vec<f32> {
    fn values(&self) -> Values<'_> {
        Values::F32(self)
    }
}

/// Prepares one distribution per context with a single model call (`call` names it in
/// errors).
pub fn fetch_dists(
    model: &mut dyn NextTokenModel,
    tok: &dyn Tokenizer,
    opts: &Options,
    contexts: &[Vec<u32>],
    call: usize,
) -> Result<Vec<Dist>> {
    let mut slots: Vec<Option<Dist>> = (0..contexts.len()).map(|_| None).collect();
    model.next_probs(contexts, &mut |i, row| {
        let slot = slots.get_mut(i).ok_or_else(|| {
            KleeneError::invalid(
                "model",
                format!("call {call} returned row {i} of {}", contexts.len()),
            )
        })?;
        *slot = Some(Dist::new(tok, opts, &contexts[i], row, call)?);
        Ok(())
    })?;
    slots
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            d.ok_or_else(|| {
                KleeneError::invalid(
                    "model",
                    format!("call {call} returned no row for context {i}"),
                )
            })
        })
        .collect()
}

/// Ranges of at most this many tokens are summed directly rather than by prefix sums.
const DIRECT_SUM_MAX: usize = 256;

/// How the algorithms treat the model's outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Id of the end-of-string token, if the model has one.
    pub eos: Option<u32>,
    /// Zero the probability of next tokens that would make the context invalid and
    /// renormalise (a trained model leaks mass onto them; an ideal one does not).
    pub mask_invalid: bool,
    /// Keep at most this many cover groups after each byte (0 = no limit).
    pub beam: usize,
    /// Drop cover groups whose share of the mass is below this (0 = keep all).
    pub threshold: f64,
    /// Refuse a row whose probabilities sum further than this from 1 (infinity = no check).
    pub row_tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            eos: None,
            mask_invalid: false,
            beam: 0,
            threshold: 0.0,
            row_tolerance: f64::INFINITY,
        }
    }
}

/// A context's next-token distribution: the row, its sums by first byte, and prefix sums
/// (built on first use) over the sorted tokens that share one first byte — a group only
/// ever descends below one child of the root, so one such range serves all its queries.
#[derive(Debug)]
pub struct Dist {
    row: Box<dyn Row>,
    /// Mass of the byte tokens by first byte.
    first: [f64; 256],
    /// `(depth-1 node, prefix sums over its sorted range)`.
    below: OnceLock<(NodeId, Vec<f64>)>,
    pub eos: f64,
    /// Probability the raw output put on invalid next tokens (0 unless masking).
    pub invalid: f64,
}

impl Dist {
    /// Prepares `row` (checked: right length, finite, in [0, 1]) for the context. Without
    /// masking the row is read once, in place.
    pub fn new(
        tok: &dyn Tokenizer,
        opts: &Options,
        context: &[u32],
        row: Box<dyn Row>,
        call: usize,
    ) -> Result<Self> {
        let vocab = tok.vocab();
        check_len(vocab, row.values(), call)?;
        let (row, invalid, raw_total) = if opts.mask_invalid {
            let mut owned = row.values().to_f64();
            let (invalid, raw_total) = mask(tok, opts, context, &mut owned);
            (Box::new(owned) as Box<dyn Row>, invalid, raw_total)
        } else {
            (row, 0.0, f64::NAN)
        };
        let values = row.values();
        let (first, rest, bad) = match values {
            Values::F32(r) => first_byte_sums(vocab.first_bytes(), r),
            Values::F64(r) => first_byte_sums(vocab.first_bytes(), r),
        };
        let eos = opts.eos.map_or(0.0, |e| values.get(e));
        if bad || !(0.0..=1.0 + 1e-9).contains(&eos) {
            return Err(bad_value(values, call));
        }
        let total = if opts.mask_invalid {
            raw_total
        } else {
            first.iter().sum::<f64>() + rest
        };
        if (total - 1.0).abs() > opts.row_tolerance {
            return Err(KleeneError::invalid(
                "model",
                format!(
                    "call {call} returned probabilities summing to {total}; they must sum to 1 \
                     within {:e}",
                    opts.row_tolerance
                ),
            ));
        }
        Ok(Dist {
            row,
            first,
            below: OnceLock::new(),
            eos,
            invalid,
        })
    }

    /// Probability of token `id` (the end-of-string id included).
    #[inline]
    pub fn prob(&self, _vocab: &Vocab, id: u32) -> f64 {
        self.row.values().get(id)
    }

    /// Mass of the tokens starting with the node's string.
    pub fn node_sum(&self, vocab: &Vocab, node: NodeId) -> f64 {
        let top = vocab.depth1(node);
        if node == ROOT {
            return self.first.iter().sum();
        }
        let (lo, hi) = vocab.range(node);
        if hi - lo <= DIRECT_SUM_MAX && node != top {
            // A difference of two prefix sums loses ~1e-16 of the whole range's mass, which a
            // rare text magnifies after conditioning; small ranges are summed directly.
            return self.row.values().sum_of(&vocab.sorted()[lo..hi]);
        }
        if node == top {
            return self.first[vocab.bytes(vocab.sorted()[lo])[0] as usize];
        }
        let (top_lo, _) = vocab.range(top);
        let (built_for, prefix) = self
            .below
            .get_or_init(|| (top, self.prefix_over(vocab, top)));
        if *built_for == top {
            (prefix[hi - top_lo] - prefix[lo - top_lo]).max(0.0)
        } else {
            self.row.values().sum_of(&vocab.sorted()[lo..hi])
        }
    }

    fn prefix_over(&self, vocab: &Vocab, node: NodeId) -> Vec<f64> {
        let (lo, hi) = vocab.range(node);
        let mut prefix = Vec::with_capacity(hi - lo + 1);
        prefix.push(0.0);
        let values = self.row.values();
        prefix.extend(vocab.sorted()[lo..hi].iter().map(|&t| values.get(t)));
        let mut acc = 0.0;
        for slot in prefix[1..].iter_mut() {
            acc += *slot;
            *slot = acc;
        }
        prefix
    }

    /// Mass of the tokens strictly longer than the node's string that start with it.
    #[inline]
    pub fn below_sum(&self, vocab: &Vocab, node: NodeId) -> f64 {
        let (lo, hi) = vocab.range(node);
        if hi - lo <= DIRECT_SUM_MAX && node != ROOT {
            let skip = vocab.exact(node).len();
            return self.row.values().sum_of(&vocab.sorted()[lo + skip..hi]);
        }
        let exact = self.row.values().sum_of(vocab.exact(node));
        (self.node_sum(vocab, node) - exact).max(0.0)
    }

    /// All byte tokens plus end-of-string.
    pub fn total(&self) -> f64 {
        self.first.iter().sum::<f64>() + self.eos
    }

    /// Adds `weight` times the mass under each child of `node` to `acc[byte]`.
    pub fn scatter_children(&self, vocab: &Vocab, node: NodeId, weight: f64, acc: &mut [f64]) {
        for &(b, child) in vocab.children(node) {
            acc[b as usize] += weight * self.node_sum(vocab, child);
        }
    }
}

/// Sums by first byte in one sequential pass (four interleaved accumulators, so runs of ids
/// with the same first byte do not serialise), the mass of the special ids, and a flag for
/// values outside [0, 1].
#[allow(clippy::manual_range_contains)] // `&` of two comparisons stays branch-free
fn first_byte_sums<T: Copy + Into<f64>>(first: &[u16], probs: &[T]) -> ([f64; 256], f64, bool) {
    let mut lanes = [[0.0f64; 257]; 4];
    let mut ok = true;
    for (p, f) in probs.chunks_exact(4).zip(first.chunks_exact(4)) {
        for k in 0..4 {
            let p: f64 = p[k].into();
            // Branch-free (NaN fails both comparisons).
            ok &= (p >= 0.0) & (p <= 1.0 + 1e-9);
            lanes[k][f[k] as usize] += p;
        }
    }
    let tail = probs.len() / 4 * 4;
    for (p, &f) in probs[tail..].iter().zip(&first[tail..]) {
        let p: f64 = (*p).into();
        ok &= (p >= 0.0) & (p <= 1.0 + 1e-9);
        lanes[0][f as usize] += p;
    }
    let bad = !ok;
    let mut out = [0.0; 256];
    for (b, slot) in out.iter_mut().enumerate() {
        *slot = lanes[0][b] + lanes[1][b] + lanes[2][b] + lanes[3][b];
    }
    let special = lanes.iter().map(|lane| lane[256]).sum();
    (out, special, bad)
}

fn check_len(vocab: &Vocab, probs: Values<'_>, call: usize) -> Result<()> {
    if probs.len() != vocab.len() {
        return Err(KleeneError::invalid(
            "model",
            format!(
                "call {call} returned {} next-token probabilities; the vocabulary has {}",
                probs.len(),
                vocab.len()
            ),
        ));
    }
    Ok(())
}

fn bad_value(probs: Values<'_>, call: usize) -> KleeneError {
    let (i, p) = (0..probs.len() as u32)
        .map(|i| (i, probs.get(i)))
        .find(|(_, p)| !(0.0..=1.0 + 1e-9).contains(p))
        .map_or((0, f64::NAN), |(i, p)| (i, p));
    KleeneError::invalid(
        "model",
        format!("call {call} returned probability {p} for token {i} (must be finite, in [0, 1])"),
    )
}

/// Zeroes the next tokens that make `context` invalid and renormalises; returns the share of
/// the mass that was invalid and the raw row's sum.
fn mask(tok: &dyn Tokenizer, opts: &Options, context: &[u32], probs: &mut [f64]) -> (f64, f64) {
    let vocab = tok.vocab();
    let (mut invalid, mut kept) = (0.0, 0.0);
    for id in 0..probs.len() as u32 {
        let p = probs[id as usize];
        if Some(id) == opts.eos || (!vocab.is_special(id) && tok.extends(context, id)) {
            kept += p;
        } else {
            invalid += p;
            probs[id as usize] = 0.0;
        }
    }
    if kept > 0.0 {
        probs.iter_mut().for_each(|p| *p /= kept);
    }
    let share = if invalid + kept > 0.0 {
        invalid / (invalid + kept)
    } else {
        0.0
    };
    (share, invalid + kept)
}
