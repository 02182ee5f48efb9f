//! Exact next-byte probabilities from the cover set, one model call per byte (Phan et al.
//! 2025, with the cover set grouped by context).
//!
//! A *group* is a context `C` (a valid token sequence decoding to a prefix `x_1^j` of the text)
//! together with the trie node of `x_{j+1}^n`: its covers are `C + [t]` for every token `t`
//! strictly longer than `x_{j+1}^n` that starts with it, and their total mass is
//! `P(C) * (prefix-sum difference over the node's range)`. A group whose node is the root is
//! a context ending exactly at `n`; it also carries the end-of-string mass. Advancing by a
//! byte moves every group to a child node (or drops it), and every token that ends exactly at
//! the new byte and keeps its context valid opens a new group — the only step that calls the
//! model (once, batched, for all new contexts; one context when the encoding is unique).

use std::sync::Arc;

use super::model::{fetch_dists, Dist, NextTokenModel, Options};
use super::vocab::{NodeId, ROOT};
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// Number of symbols in a next-byte distribution: 256 bytes, then end-of-string.
pub const SYMBOLS: usize = 257;
/// Index of end-of-string in a next-byte distribution.
pub const EOS_SYMBOL: usize = 256;

/// New contexts of one byte with their probabilities.
type Opened = Vec<(Vec<u32>, f64)>;

#[derive(Clone, Debug)]
struct Group {
    context: Arc<Vec<u32>>,
    /// P(context) divided by the kept prefix mass of the text so far.
    weight: f64,
    node: NodeId,
    dist: Arc<Dist>,
}

impl Group {
    fn mass(&self, tok: &dyn Tokenizer) -> f64 {
        if self.node == ROOT {
            self.weight * self.dist.total()
        } else {
            self.weight * self.dist.below_sum(tok.vocab(), self.node)
        }
    }
}

/// The incremental cover state of a text.
pub struct CoverState {
    tok: Arc<dyn Tokenizer>,
    opts: Options,
    groups: Vec<Group>,
    text: Vec<u8>,
    anchor: usize,
    log_mass: f64,
    dropped: f64,
    calls: usize,
    invalid: f64,
}

impl CoverState {
    /// Extracts the covers of `prompt`: anchors at a boundary no continuation can move, then
    /// advances byte by byte over the rest.
    pub fn new(
        tok: Arc<dyn Tokenizer>,
        opts: Options,
        model: &mut dyn NextTokenModel,
        prompt: &[u8],
    ) -> Result<Self> {
        check_options(&opts, tok.vocab().len())?;
        let (anchor, context) = tok.anchor(prompt)?;
        let mut state = CoverState {
            tok,
            opts,
            groups: Vec::new(),
            text: prompt[..anchor].to_vec(),
            anchor,
            log_mass: 0.0,
            dropped: 0.0,
            calls: 0,
            invalid: 0.0,
        };
        let dist = state
            .fetch(model, std::slice::from_ref(&context))?
            .remove(0);
        state.groups.push(Group {
            context: Arc::new(context),
            weight: 1.0,
            node: ROOT,
            dist,
        });
        for &b in &prompt[anchor..] {
            state.advance(model, b)?;
        }
        Ok(state)
    }

    /// Next-symbol probabilities `[257]`: bytes 0..=255, then end-of-string (index 256).
    pub fn distribution(&self) -> Result<Vec<f64>> {
        let vocab = self.tok.vocab();
        let mut acc = vec![0.0; SYMBOLS];
        for g in &self.groups {
            g.dist.scatter_children(vocab, g.node, g.weight, &mut acc);
            if g.node == ROOT {
                acc[EOS_SYMBOL] += g.weight * g.dist.eos;
            }
        }
        let z: f64 = acc.iter().sum();
        if z.is_nan() || z <= 0.0 {
            return Err(KleeneError::invalid(
                "text",
                "the model gives the text so far probability zero; no next byte is defined",
            ));
        }
        acc.iter_mut().for_each(|p| *p /= z);
        Ok(acc)
    }

    /// Appends byte `b`: moves the groups, opens new contexts (one batched model call) and
    /// prunes by beam / threshold, accounting for the dropped mass.
    pub fn advance(&mut self, model: &mut dyn NextTokenModel, b: u8) -> Result<()> {
        let tok = self.tok.as_ref();
        let vocab = tok.vocab();
        // Each moved group's mass is computed once (it is a range sum over the row).
        let mut moved: Vec<(Group, f64)> = Vec::with_capacity(self.groups.len());
        let mut opened: Opened = Vec::new();
        for g in &self.groups {
            let Some(child) = vocab.child(g.node, b) else {
                continue;
            };
            for &t in vocab.exact(child) {
                let w = g.weight * g.dist.prob(vocab, t);
                if w > 0.0 && tok.extends(&g.context, t) {
                    let mut ctx = Vec::with_capacity(g.context.len() + 1);
                    ctx.extend_from_slice(&g.context);
                    ctx.push(t);
                    opened.push((ctx, w));
                }
            }
            let g = Group {
                node: child,
                ..g.clone()
            };
            let mass = g.mass(tok);
            if mass > 0.0 {
                moved.push((g, mass));
            }
        }
        let total =
            moved.iter().map(|(_, m)| m).sum::<f64>() + opened.iter().map(|(_, w)| w).sum::<f64>();
        if total.is_nan() || total <= 0.0 {
            return Err(KleeneError::invalid(
                "text",
                format!(
                    "byte {b:#04x} at offset {} has probability zero under the model",
                    self.text.len()
                ),
            ));
        }
        let (moved, opened) = self.prune(moved, opened);
        let contexts: Vec<Vec<u32>> = opened.iter().map(|(c, _)| c.clone()).collect();
        let dists = self.fetch(model, &contexts)?;
        let tok = self.tok.as_ref();
        let mut groups = moved;
        for ((ctx, w), dist) in opened.into_iter().zip(dists) {
            let g = Group {
                context: Arc::new(ctx),
                weight: w,
                node: ROOT,
                dist,
            };
            let mass = g.mass(tok);
            groups.push((g, mass));
        }
        let kept: f64 = groups.iter().map(|(_, m)| m).sum();
        self.dropped += (total - kept).max(0.0) * self.log_mass.exp();
        if kept.is_nan() || kept <= 0.0 {
            return Err(KleeneError::invalid(
                "text",
                format!(
                    "no cover of the text survives byte offset {}",
                    self.text.len()
                ),
            ));
        }
        self.groups = groups
            .into_iter()
            .map(|(mut g, _)| {
                g.weight /= kept;
                g
            })
            .collect();
        self.log_mass += kept.ln();
        self.text.push(b);
        Ok(())
    }

    /// Applies the beam width and threshold to the moved groups (with their masses) and the
    /// new contexts.
    fn prune(
        &self,
        mut moved: Vec<(Group, f64)>,
        mut opened: Opened,
    ) -> (Vec<(Group, f64)>, Opened) {
        if self.opts.beam == 0 && self.opts.threshold <= 0.0 {
            return (moved, opened);
        }
        let mut masses: Vec<f64> = moved.iter().map(|(_, m)| *m).collect();
        masses.extend(opened.iter().map(|(_, w)| *w));
        let total: f64 = masses.iter().sum();
        let mut cut = self.opts.threshold * total;
        if self.opts.beam > 0 && masses.len() > self.opts.beam {
            let mut sorted = masses.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            cut = cut.max(sorted[self.opts.beam - 1]);
        }
        // Ties at the cut stay (the beam may then hold a few more groups than asked).
        moved.retain(|(_, m)| *m >= cut);
        opened.retain(|(_, w)| *w >= cut);
        (moved, opened)
    }

    fn fetch(
        &mut self,
        model: &mut dyn NextTokenModel,
        contexts: &[Vec<u32>],
    ) -> Result<Vec<Arc<Dist>>> {
        if contexts.is_empty() {
            return Ok(Vec::new());
        }
        let dists = fetch_dists(model, self.tok.as_ref(), &self.opts, contexts, self.calls)?;
        self.calls += 1;
        Ok(dists
            .into_iter()
            .map(|d| {
                self.invalid = self.invalid.max(d.invalid);
                Arc::new(d)
            })
            .collect())
    }

    /// Log of the kept prefix mass of the text after the anchor, relative to P(anchor
    /// context): the log-probability of the text when the anchor is empty.
    pub fn log_mass(&self) -> f64 {
        self.log_mass
    }

    /// Upper bound on the mass lost by pruning, in the units of `exp(log_mass)`: the exact
    /// prefix mass lies in `[exp(log_mass), exp(log_mass) + dropped_mass]`.
    pub fn dropped_mass(&self) -> f64 {
        self.dropped
    }

    /// Bytes seen so far (the prompt, then every advanced byte).
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Byte offset of the anchor chosen for the prompt.
    pub fn anchor(&self) -> usize {
        self.anchor
    }

    /// Model calls made so far (each call may hold several contexts).
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// Largest share of a raw model output that fell on invalid tokens (with masking).
    pub fn invalid_mass(&self) -> f64 {
        self.invalid
    }

    /// Number of live groups (contexts with their trie node).
    pub fn num_groups(&self) -> usize {
        self.groups.len()
    }

    /// The live groups: (context, weight).
    pub fn groups(&self) -> Vec<(Vec<u32>, f64)> {
        self.groups
            .iter()
            .map(|g| (g.context.as_ref().clone(), g.weight))
            .collect()
    }

    /// Every cover of the text with its probability, in the units of `exp(log_mass)` (they
    /// sum to 1 for an ideal model: the Byte-Token Representation identity).
    pub fn cover_masses(&self) -> Vec<(Vec<u32>, f64)> {
        let vocab = self.tok.vocab();
        let mut out = Vec::new();
        for g in &self.groups {
            if g.node == ROOT {
                out.push((g.context.as_ref().clone(), g.weight));
                continue;
            }
            let (lo, hi) = vocab.range(g.node);
            let skip = vocab.exact(g.node).len();
            for &t in &vocab.sorted()[lo + skip..hi] {
                let p = g.weight * g.dist.prob(vocab, t);
                if p > 0.0 {
                    let mut c = g.context.as_ref().clone();
                    c.push(t);
                    out.push((c, p));
                }
            }
        }
        out
    }
}

fn check_options(opts: &Options, vocab_len: usize) -> Result<()> {
    if let Some(e) = opts.eos {
        crate::error::ensure((e as usize) < vocab_len, "eos", || {
            format!("{e} is outside the vocabulary [0, {vocab_len})")
        })?;
    }
    crate::error::ensure(
        opts.threshold.is_finite() && (0.0..1.0).contains(&opts.threshold),
        "threshold",
        || format!("{} must be in [0, 1)", opts.threshold),
    )
}
