//! The token-level model seen by the algorithms, and one context's next-token distribution
//! prepared for range queries over the byte trie.

use std::collections::HashMap;
use std::sync::Arc;

use super::vocab::{NodeId, Vocab};
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// A token-level language model: next-token probabilities for a batch of contexts.
/// Implemented in the binding crate by a Python callable.
pub trait NextTokenModel {
    /// One probability vector (length = vocabulary size) per context, in order.
    fn next_probs(&mut self, contexts: &[Vec<u32>]) -> Result<Vec<Vec<f64>>>;
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

/// A context's next-token distribution with prefix sums in sorted-token order.
#[derive(Clone, Debug)]
pub struct Dist {
    pub probs: Vec<f64>,
    /// `prefix[i]` = sum of the probabilities of the first `i` sorted byte tokens.
    prefix: Vec<f64>,
    pub eos: f64,
    /// Probability the raw output put on invalid next tokens (0 unless masking).
    pub invalid: f64,
}

impl Dist {
    /// Prepares `probs` (checked: right length, finite, non-negative) for the context.
    pub fn new(
        tok: &dyn Tokenizer,
        opts: &Options,
        context: &[u32],
        mut probs: Vec<f64>,
        call: usize,
    ) -> Result<Self> {
        let vocab = tok.vocab();
        check_probs(vocab, &probs, call)?;
        let mut invalid = 0.0;
        if opts.mask_invalid {
            let mut kept = 0.0;
            for id in 0..probs.len() as u32 {
                let special = Some(id) == opts.eos;
                if !special && (vocab.is_special(id) || !tok.extends(context, id)) {
                    invalid += probs[id as usize];
                    probs[id as usize] = 0.0;
                } else {
                    kept += probs[id as usize];
                }
            }
            if kept > 0.0 {
                probs.iter_mut().for_each(|p| *p /= kept);
            }
            invalid /= invalid + kept;
        }
        let eos = opts.eos.map_or(0.0, |e| probs[e as usize]);
        let sorted = vocab.sorted();
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        let mut acc = 0.0;
        prefix.push(0.0);
        for &id in sorted {
            acc += probs[id as usize];
            prefix.push(acc);
        }
        Ok(Dist {
            probs,
            prefix,
            eos,
            invalid,
        })
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

fn check_probs(vocab: &Vocab, probs: &[f64], call: usize) -> Result<()> {
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
    if let Some((i, p)) = probs
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.is_finite() && **p >= 0.0))
    {
        return Err(KleeneError::invalid(
            "model",
            format!("call {call} returned probability {p} for token {i} (must be finite and >= 0)"),
        ));
    }
    Ok(())
}

/// Prepared distributions cached by context; counts the model calls made.
pub struct DistCache<'m> {
    model: &'m mut dyn NextTokenModel,
    cache: HashMap<Vec<u32>, Arc<Dist>>,
    pub calls: usize,
    pub contexts: usize,
}

impl<'m> DistCache<'m> {
    pub fn new(model: &'m mut dyn NextTokenModel) -> Self {
        DistCache {
            model,
            cache: HashMap::new(),
            calls: 0,
            contexts: 0,
        }
    }

    /// Distributions for `contexts`, calling the model once for all the ones not cached.
    pub fn get(
        &mut self,
        tok: &dyn Tokenizer,
        opts: &Options,
        contexts: &[Vec<u32>],
    ) -> Result<Vec<Arc<Dist>>> {
        let mut missing: Vec<Vec<u32>> = Vec::new();
        for c in contexts {
            if !self.cache.contains_key(c) && !missing.contains(c) {
                missing.push(c.clone());
            }
        }
        if !missing.is_empty() {
            let call = self.calls;
            let outputs = self.model.next_probs(&missing)?;
            self.calls += 1;
            self.contexts += missing.len();
            if outputs.len() != missing.len() {
                return Err(KleeneError::invalid(
                    "model",
                    format!(
                        "call {call} returned {} rows for {} contexts",
                        outputs.len(),
                        missing.len()
                    ),
                ));
            }
            for (ctx, probs) in missing.into_iter().zip(outputs) {
                let dist = Dist::new(tok, opts, &ctx, probs, call)?;
                self.cache.insert(ctx, Arc::new(dist));
            }
        }
        Ok(contexts.iter().map(|c| self.cache[c].clone()).collect())
    }
}
