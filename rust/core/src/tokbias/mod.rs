//! Tokenizer-bias correction: exact next-byte probabilities from a tokenized language model.
//!
//! A token-level model only ever saw canonical encodings, so prompting it with the encoding
//! of a text that ends where a token could continue is biased. The fix marginalises over the
//! *covers* of the text (valid token sequences whose last token reaches past its end):
//! P(x) = sum over covers of P(cover) (the Byte-Token Representation identity).
//!
//! - [`vocab::Vocab`]: token bytes, sorted order, byte trie with prefix ranges;
//! - [`Tokenizer`]: encode, validity ("can `context + [t]` be a prefix of a canonical
//!   encoding?") and the anchor of a prompt, for [`mpe::Mpe`], [`bpe::Bpe`] and
//!   [`Reencode`] (any encoder; validity by re-encoding);
//! - [`cover::CoverState`]: exact next-byte distribution with one model call per byte, beam /
//!   threshold pruning with a bound on the dropped mass;
//! - [`mpc`]: Maximum Prefix Correction for MPE and the naive estimate.

pub mod bpe;
pub mod cover;
pub mod model;
pub mod mpc;
pub mod mpe;
pub mod pretok;
pub mod vocab;

use crate::error::Result;
use vocab::Vocab;

/// What the correction needs from a tokenizer.
pub trait Tokenizer: Send + Sync {
    fn vocab(&self) -> &Vocab;

    /// The canonical encoding of `text`.
    fn encode(&self, text: &[u8]) -> Result<Vec<u32>>;

    /// Given a valid `context`, whether `context + [next]` is a prefix of the canonical
    /// encoding of some text (may over-approximate; must never reject a valid sequence).
    fn extends(&self, context: &[u32], next: u32) -> bool;

    /// A byte offset `a` of `text` and `encode(text[..a])` such that the canonical encoding
    /// of every text starting with `text` starts with that context and has a token boundary
    /// at `a`. `(0, [])` is always correct.
    fn anchor(&self, text: &[u8]) -> Result<(usize, Vec<u32>)>;
}

/// The generic fallback: any encoder, validity by re-encoding the whole text (assumes the
/// encoder is prefix-closed; costs one encode per test).
pub struct Reencode<F> {
    vocab: Vocab,
    encoder: F,
}

impl<F: Fn(&[u8]) -> Result<Vec<u32>> + Send + Sync> Reencode<F> {
    pub fn new(vocab: Vocab, encoder: F) -> Self {
        Reencode { vocab, encoder }
    }
}

impl<F: Fn(&[u8]) -> Result<Vec<u32>> + Send + Sync> Tokenizer for Reencode<F> {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn encode(&self, text: &[u8]) -> Result<Vec<u32>> {
        (self.encoder)(text)
    }

    fn extends(&self, context: &[u32], next: u32) -> bool {
        if self.vocab.is_special(next) {
            return false;
        }
        let mut seq = context.to_vec();
        seq.push(next);
        match self.vocab.decode(&seq) {
            Ok(text) => self.encode(&text).ok().as_deref() == Some(&seq[..]),
            Err(_) => false,
        }
    }

    fn anchor(&self, _text: &[u8]) -> Result<(usize, Vec<u32>)> {
        Ok((0, Vec::new()))
    }
}
