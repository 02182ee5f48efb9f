//! The token-level model seen by the algorithms, and one context's next-token distribution
//! prepared for range queries over the byte trie.

use super::vocab::{NodeId, Vocab};
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// A token-level language model: next-token probabilities for a batch of contexts.
/// Implemented in the binding crate by a Python callable.
pub trait NextTokenModel {
    /// Calls `sink(i, probs)` once for every context `i` (in any order), with its next-token
    /// probabilities (length = vocabulary size). Rows are borrowed, so no copy is needed.
    fn next_probs(
        &mut self,
        contexts: &[Vec<u32>],
        sink: &mut dyn FnMut(usize, &[f64]) -> Result<()>,
    ) -> Result<()>;
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            eos: None,
            mask_invalid: false,
            beam: 0,
            threshold: 0.0,
        }
    }
}

/// A context's next-token distribution as prefix sums in sorted-token order.
#[derive(Clone, Debug)]
pub struct Dist {
    /// `prefix[i]` = sum of the probabilities of the first `i` sorted byte tokens.
    prefix: Vec<f64>,
    pub eos: f64,
    /// Probability the raw output put on invalid next tokens (0 unless masking).
    pub invalid: f64,
}

impl Dist {
    /// Prepares `probs` (checked: right length, finite, in [0, 1]) for the context.
    pub fn new(
        tok: &dyn Tokenizer,
        opts: &Options,
        context: &[u32],
        probs: &[f64],
        call: usize,
    ) -> Result<Self> {
        let vocab = tok.vocab();
        check_len(vocab, probs, call)?;
        if opts.mask_invalid {
            let mut masked = probs.to_vec();
            let invalid = mask(tok, opts, context, &mut masked);
            let mut dist = Self::from_valid(vocab, opts, &masked, call)?;
            dist.invalid = invalid;
            return Ok(dist);
        }
        Self::from_valid(vocab, opts, probs, call)
    }

    fn from_valid(vocab: &Vocab, opts: &Options, probs: &[f64], call: usize) -> Result<Self> {
        // Two passes: the gather has independent loads (good memory parallelism), the scan
        // is sequential; fusing them stalls every load behind the running sum.
        let sorted = vocab.sorted();
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        prefix.push(0.0);
        prefix.extend(sorted.iter().map(|&id| probs[id as usize]));
        let bad = prefix.iter().any(|p| !(0.0..=1.0 + 1e-9).contains(p));
        let mut acc = 0.0;
        for slot in prefix[1..].iter_mut() {
            acc += *slot;
            *slot = acc;
        }
        let eos = opts.eos.map_or(0.0, |e| probs[e as usize]);
        if bad || !(0.0..=1.0 + 1e-9).contains(&eos) {
            return Err(bad_value(probs, call));
        }
        Ok(Dist {
            prefix,
            eos,
            invalid: 0.0,
        })
    }

    /// Probability of token `id` (end-of-string for the eos id; 0 for other specials).
    #[inline]
    pub fn prob(&self, vocab: &Vocab, id: u32) -> f64 {
        match vocab.position(id) {
            Some(pos) => self.range_sum(pos, pos + 1),
            None => 0.0,
        }
    }

    /// Mass of sorted positions `lo..hi`.
    #[inline]
    pub fn range_sum(&self, lo: usize, hi: usize) -> f64 {
        (self.prefix[hi] - self.prefix[lo]).max(0.0)
    }

    /// Mass of the tokens starting with the node's string.
    #[inline]
    pub fn node_sum(&self, vocab: &Vocab, node: NodeId) -> f64 {
        let (lo, hi) = vocab.range(node);
        self.range_sum(lo, hi)
    }

    /// Mass of the tokens strictly longer than the node's string that start with it.
    #[inline]
    pub fn below_sum(&self, vocab: &Vocab, node: NodeId) -> f64 {
        let (lo, hi) = vocab.range(node);
        self.range_sum(lo + vocab.exact(node).len(), hi)
    }

    /// All byte tokens plus end-of-string.
    pub fn total(&self) -> f64 {
        self.prefix[self.prefix.len() - 1] + self.eos
    }

    /// Adds `weight` times the mass under each child of `node` to `acc[byte]`.
    pub fn scatter_children(&self, vocab: &Vocab, node: NodeId, weight: f64, acc: &mut [f64]) {
        for &(b, child) in vocab.children(node) {
            acc[b as usize] += weight * self.node_sum(vocab, child);
        }
    }
}

fn check_len(vocab: &Vocab, probs: &[f64], call: usize) -> Result<()> {
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

fn bad_value(probs: &[f64], call: usize) -> KleeneError {
    let (i, p) = probs
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0 + 1e-9).contains(*p))
        .map_or((0, f64::NAN), |(i, p)| (i, *p));
    KleeneError::invalid(
        "model",
        format!("call {call} returned probability {p} for token {i} (must be finite, in [0, 1])"),
    )
}

/// Zeroes the next tokens that make `context` invalid and renormalises; returns the share of
/// the mass that was invalid.
fn mask(tok: &dyn Tokenizer, opts: &Options, context: &[u32], probs: &mut [f64]) -> f64 {
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
    if invalid + kept > 0.0 {
        invalid / (invalid + kept)
    } else {
        0.0
    }
}
