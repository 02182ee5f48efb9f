//! Maximum Prefix Correction (Phan et al. 2024) for maximum-prefix encoding, and the naive
//! token-prompting estimate it corrects.
//!
//! With `Q(s, C)` = P(the text after context `C` starts with `s`): Branch sums the tokens
//! covering `s`; Pass follows the one token MPE can emit that is a proper prefix of `s` (the
//! longest one). For `s = rest · c` over all bytes `c`, Pass always takes the longest token
//! that is a prefix of `rest`, so all 256 numerators walk one chain of contexts: the tokens of
//! `encode(rest)`. One model call per chain link; the denominator is the sum of the
//! numerators plus end-of-string at the end of the chain.

use super::cover::{EOS_SYMBOL, SYMBOLS};
use super::model::{fetch_dists, NextTokenModel, Options};
use super::vocab::ROOT;
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// Next-byte distribution `[257]` by MPC (exact for MPE tokenizers and an ideal model).
pub fn mpc_distribution(
    tok: &dyn Tokenizer,
    opts: &Options,
    model: &mut dyn NextTokenModel,
    prompt: &[u8],
) -> Result<(Vec<f64>, usize)> {
    let vocab = tok.vocab();
    let (anchor, mut context) = tok.anchor(prompt)?;
    let mut calls = 0;
    let mut acc = vec![0.0; SYMBOLS];
    let mut rest = &prompt[anchor..];
    let mut weight = 1.0;
    loop {
        // Each context of the chain is visited once: no cache, one distribution alive.
        let dist = fetch_dists(model, tok, opts, std::slice::from_ref(&context), calls)?.remove(0);
        calls += 1;
        if let Some(node) = vocab.walk(rest) {
            dist.scatter_children(vocab, node, weight, &mut acc);
        }
        if rest.is_empty() {
            acc[EOS_SYMBOL] += weight * dist.eos;
            break;
        }
        let (t, len) = vocab
            .longest_prefix(rest)
            .ok_or_else(|| KleeneError::invalid("prompt", "contains a byte that is not a token"))?;
        weight *= dist.prob(vocab, t);
        context.push(t);
        rest = &rest[len..];
    }
    Ok((normalise(acc)?, calls))
}

/// Naive token prompting: the next token's distribution after `encode(prompt)`, read by first
/// byte. Biased (and often degenerate) when the prompt ends where a token could continue.
pub fn naive_distribution(
    tok: &dyn Tokenizer,
    opts: &Options,
    model: &mut dyn NextTokenModel,
    prompt: &[u8],
) -> Result<Vec<f64>> {
    let context = tok.encode(prompt)?;
    let dist = fetch_dists(model, tok, opts, &[context], 0)?.remove(0);
    let mut acc = vec![0.0; SYMBOLS];
    dist.scatter_children(tok.vocab(), ROOT, 1.0, &mut acc);
    acc[EOS_SYMBOL] = dist.eos;
    normalise(acc)
}

fn normalise(mut acc: Vec<f64>) -> Result<Vec<f64>> {
    let z: f64 = acc.iter().sum();
    if z.is_nan() || z <= 0.0 {
        return Err(KleeneError::invalid(
            "prompt",
            "the model gives the prompt probability zero; no next byte is defined",
        ));
    }
    acc.iter_mut().for_each(|p| *p /= z);
    Ok(acc)
}
