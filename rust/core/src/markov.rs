//! Markov-chain sequences for in-context learning (after "From Markov to Laplace").
//!
//! Each sequence is an order-`k` chain over `V` symbols. The chain is either fixed (given by
//! the user) or drawn per sequence with every transition row ~ Dirichlet(alpha); with
//! `switch_every > 0` a fresh chain is drawn every `switch_every` positions. The first `k`
//! symbols are uniform. Labels: the Bayes-optimal (add-alpha) predictive distribution of each
//! symbol given the symbols before it, and the true transition row that generated it.

use rand::RngExt;
use rand_distr::{Distribution, Exp1, Gamma};
use rayon::prelude::*;

use crate::error::{ensure, KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{ItemRng, StreamKey, U32Draws};
use crate::token::TokenId;

/// Largest vocabulary.
pub const MAX_VOCAB: usize = 1 << 16;
/// Largest transition table, `V^(order+1)` entries.
pub const MAX_TABLE: usize = 1 << 24;
/// Longest sequence.
pub const MAX_LENGTH: usize = 1 << 24;
/// Allowed Dirichlet concentration range.
pub const ALPHA_RANGE: (f64, f64) = (1e-3, 1e6);

/// 2^32 as the scale of the fixed-point cumulative thresholds used for sampling.
const SCALE: f64 = 4_294_967_296.0;

/// Configuration of the `markov` task.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkovConfig {
    pub vocab_size: usize,
    pub order: usize,
    pub length: usize,
    /// Dirichlet concentration of each transition row (ignored for a fixed chain).
    pub alpha: f64,
    /// Draw a new chain every this many positions; 0 = one chain per sequence.
    pub switch_every: usize,
    /// A fixed chain, row-major `[V^order, V]`; row `s` is the context whose base-V digits
    /// are the last `order` symbols, oldest first.
    pub transition: Option<Vec<f64>>,
}

/// Which label arrays to fill besides the tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarkovLabels {
    pub bayes: bool,
    pub true_probs: bool,
}

/// A generated batch: `tokens [B, T]`, optional `bayes [B, T, V]` and `true_probs [B, T, V]`
/// (output-aligned: row `t` is the distribution of token `t + 1` given tokens `..=t`).
#[derive(Clone, Debug, PartialEq)]
pub struct MarkovBatch<T> {
    pub tokens: Vec<T>,
    pub bayes: Option<Vec<f32>>,
    pub true_probs: Option<Vec<f32>>,
}

impl MarkovConfig {
    /// Number of contexts, `V^order`.
    pub fn num_states(&self) -> usize {
        self.vocab_size.pow(self.order as u32)
    }

    /// Checks every parameter and returns the first violation.
    pub fn validate(&self) -> Result<()> {
        let v = self.vocab_size;
        ensure((2..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 2..={MAX_VOCAB}, got {v}")
        })?;
        let table = (v as u128).checked_pow(self.order as u32 + 1);
        ensure(
            self.order <= 64 && table.is_some_and(|n| n <= MAX_TABLE as u128),
            "order",
            || {
                format!(
                    "vocab_size^(order+1) must be at most {MAX_TABLE}, got {v}^{}",
                    self.order + 1
                )
            },
        )?;
        ensure((1..=MAX_LENGTH).contains(&self.length), "length", || {
            format!("must be in 1..={MAX_LENGTH}, got {}", self.length)
        })?;
        let (lo, hi) = ALPHA_RANGE;
        ensure(self.alpha >= lo && self.alpha <= hi, "alpha", || {
            format!("must be in [{lo}, {hi}], got {}", self.alpha)
        })?;
        if let Some(t) = &self.transition {
            self.validate_transition(t)?;
        }
        Ok(())
    }

    fn validate_transition(&self, t: &[f64]) -> Result<()> {
        let (s, v) = (self.num_states(), self.vocab_size);
        ensure(t.len() == s * v, "transition", || {
            format!("must have vocab_size^order = {s} rows of vocab_size = {v} entries ({} values), got {} values", s * v, t.len())
        })?;
        for (row, probs) in t.chunks(v).enumerate() {
            ensure(
                probs.iter().all(|p| p.is_finite() && *p >= 0.0),
                "transition",
                || format!("row {row} has a negative or non-finite entry"),
            )?;
            let sum: f64 = probs.iter().sum();
            ensure((sum - 1.0).abs() <= 1e-6, "transition", || {
                format!("row {row} sums to {sum}, not 1")
            })?;
        }
        Ok(())
    }
}

/// A chain ready for sampling: probabilities and fixed-point cumulative thresholds.
#[derive(Clone)]
struct Chain {
    probs: Vec<f64>,
    /// `probs` rounded to the label dtype, so a label row is one copy.
    probs32: Vec<f32>,
    /// `cum[s*V + j]` = round(2^32 * P(symbol <= j | s)); the last entry of a row is 2^32.
    cum: Vec<u64>,
}

impl Chain {
    fn zeros(states: usize, v: usize) -> Self {
        Chain {
            probs: vec![0.0; states * v],
            probs32: vec![0.0; states * v],
            cum: vec![0; states * v],
        }
    }

    fn from_probs(probs: &[f64], v: usize) -> Self {
        let mut chain = Chain::zeros(probs.len() / v, v);
        chain.probs.copy_from_slice(probs);
        for row in 0..probs.len() / v {
            chain.set_row_thresholds(row, v);
        }
        chain
    }

    fn set_row_thresholds(&mut self, row: usize, v: usize) {
        let probs = &mut self.probs[row * v..(row + 1) * v];
        let sum: f64 = probs.iter().sum();
        let mut acc = 0.0;
        let cells = probs
            .iter_mut()
            .zip(&mut self.cum[row * v..(row + 1) * v])
            .zip(&mut self.probs32[row * v..(row + 1) * v]);
        for ((p, c), p32) in cells {
            *p /= sum;
            *p32 = *p as f32;
            acc += *p;
            *c = (acc * SCALE).round().min(SCALE) as u64;
        }
        self.cum[(row + 1) * v - 1] = 1 << 32;
    }

    /// Redraws every row from Dirichlet(alpha) as normalised Gamma(alpha) variates. For
    /// alpha < 1 the variates are drawn in log space so that a row cannot underflow to zero.
    fn redraw(&mut self, alpha: f64, v: usize, rng: &mut ItemRng) {
        let gamma = GammaSampler::new(alpha);
        for row in 0..self.probs.len() / v {
            let cells = &mut self.probs[row * v..(row + 1) * v];
            if alpha < 1.0 {
                for c in cells.iter_mut() {
                    *c = gamma.sample_ln(rng);
                }
                let max = cells.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                for c in cells.iter_mut() {
                    *c = (*c - max).exp();
                }
            } else {
                for c in cells.iter_mut() {
                    *c = gamma.sample(rng);
                }
            }
            self.set_row_thresholds(row, v);
        }
    }

    #[inline(always)]
    fn sample(&self, state: usize, v: usize, u: u32) -> u32 {
        let row = &self.cum[state * v..state * v + v];
        let u = u as u64;
        if v <= 32 {
            // Branch-free count of thresholds <= u (the sampled symbol).
            row.iter().map(|&c| (c <= u) as u32).sum()
        } else {
            row.partition_point(|&c| c <= u) as u32
        }
    }
}

/// Gamma(alpha, 1) variates: exponential for alpha = 1 (the Laplace prior, the common
/// case), Marsaglia-Tsang otherwise, and for alpha < 1 in log space through
/// Gamma(a) = Gamma(a + 1) * U^(1/a).
struct GammaSampler {
    alpha: f64,
    gamma: Gamma<f64>,
}

impl GammaSampler {
    fn new(alpha: f64) -> Self {
        let shape = if alpha < 1.0 { alpha + 1.0 } else { alpha };
        GammaSampler {
            alpha,
            gamma: Gamma::new(shape, 1.0).expect("validated alpha"),
        }
    }

    fn sample(&self, rng: &mut ItemRng) -> f64 {
        if self.alpha == 1.0 {
            Exp1.sample(rng)
        } else {
            self.gamma.sample(rng)
        }
    }

    fn sample_ln(&self, rng: &mut ItemRng) -> f64 {
        let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
        self.gamma.sample(rng).ln() + u.ln() / self.alpha
    }
}

/// Per-context transition counts for the add-alpha predictor.
struct Counts {
    by_symbol: Vec<u32>,
    total: Vec<u32>,
}

/// One sequence's output rows.
struct RowOut<'a, T> {
    tokens: &'a mut [T],
    bayes: Option<&'a mut [f32]>,
    true_probs: Option<&'a mut [f32]>,
}

/// Generates sequences `start .. start + count` of the stream keyed by `key`.
pub fn generate<T: TokenId>(
    cfg: &MarkovConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    labels: MarkovLabels,
    threads: Option<usize>,
) -> Result<MarkovBatch<T>> {
    cfg.validate()?;
    if (cfg.vocab_size as u64 - 1) > T::MAX_ID {
        return Err(KleeneError::invalid(
            "dtype",
            format!("cannot hold token ids up to {}", cfg.vocab_size - 1),
        ));
    }
    let (t, v) = (cfg.length, cfg.vocab_size);
    let label_arrays = labels.bayes as usize + labels.true_probs as usize;
    let token_bytes = std::mem::size_of::<T>() + label_arrays * 4 * v;
    let n_tokens = check_elements("markov batch", &[count, t], token_bytes)?;
    let n_label = n_tokens * v;

    let mut tokens = vec![T::default(); n_tokens];
    let mut bayes = labels.bayes.then(|| vec![0f32; n_label]);
    let mut true_probs = labels.true_probs.then(|| vec![0f32; n_label]);
    let fixed = cfg.transition.as_ref().map(|p| Chain::from_probs(p, v));

    if !labels.bayes && !labels.true_probs && v == 2 && cfg.order <= MAX_BINARY_ORDER {
        with_threads(threads, || {
            tokens
                .par_chunks_mut(GROUP * t)
                .enumerate()
                .for_each(|(g, block)| {
                    binary_group(
                        cfg,
                        fixed.as_ref(),
                        key,
                        start.wrapping_add((g * GROUP) as u64),
                        block,
                    )
                });
        });
    } else {
        let inv_totals = reciprocal_totals(cfg, labels.bayes);
        let bayes_rows = split_rows(bayes.as_deref_mut(), t * v, count);
        let true_rows = split_rows(true_probs.as_deref_mut(), t * v, count);
        with_threads(threads, || {
            tokens
                .par_chunks_mut(t)
                .zip(bayes_rows)
                .zip(true_rows)
                .enumerate()
                .for_each(|(i, ((tok, b), tp))| {
                    let out = RowOut {
                        tokens: tok,
                        bayes: b,
                        true_probs: tp,
                    };
                    sample_sequence(
                        cfg,
                        fixed.as_ref(),
                        &inv_totals,
                        key.item_rng(start.wrapping_add(i as u64)),
                        out,
                    );
                });
        });
    }
    Ok(MarkovBatch {
        tokens,
        bayes,
        true_probs,
    })
}

fn split_rows(buf: Option<&mut [f32]>, row: usize, count: usize) -> Vec<Option<&mut [f32]>> {
    match buf {
        Some(b) => b.chunks_mut(row.max(1)).map(Some).collect(),
        None => (0..count).map(|_| None).collect(),
    }
}

/// `1 / (n + V * alpha)` for the counts `n` one context can reach within a segment, so the
/// add-alpha predictor multiplies instead of dividing (empty unless the Bayes label is wanted).
fn reciprocal_totals(cfg: &MarkovConfig, bayes: bool) -> Vec<f64> {
    if !bayes {
        return Vec::new();
    }
    let longest = if cfg.switch_every == 0 {
        cfg.length
    } else {
        cfg.switch_every.min(cfg.length)
    };
    let prior = cfg.vocab_size as f64 * cfg.alpha;
    (0..=longest).map(|n| 1.0 / (n as f64 + prior)).collect()
}

/// Rows sampled together by the interleaved binary path.
const GROUP: usize = 4;

/// Position ranges `[k, len)` split where a new chain starts (every `switch_every`).
fn segments(cfg: &MarkovConfig, k: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let len = cfg.length;
    let every = if cfg.switch_every == 0 {
        len
    } else {
        cfg.switch_every
    };
    let mut t = k;
    std::iter::from_fn(move || {
        (t < len).then(|| {
            let end = ((t / every + 1) * every).min(len);
            let range = t..end;
            t = end;
            range
        })
    })
}

/// Largest order of the interleaved binary path (`2^order` thresholds per row on the stack).
const MAX_BINARY_ORDER: usize = 6;

/// Binary chains of order `0..=MAX_BINARY_ORDER` without labels, `GROUP` rows at a time. Each
/// row draws from its own generator in exactly the order `sample_sequence` does, so the output
/// is identical; running the rows' dependency chains side by side lets the CPU overlap them,
/// and the context is a bit register (`(state << 1 | x) & mask`) with one threshold per context
/// instead of a row scan.
fn binary_group<T: TokenId>(
    cfg: &MarkovConfig,
    fixed: Option<&Chain>,
    key: StreamKey,
    first: u64,
    block: &mut [T],
) {
    let (len, k) = (cfg.length, cfg.order);
    if block.len() != GROUP * len {
        for (r, row) in block.chunks_mut(len).enumerate() {
            let out = RowOut {
                tokens: row,
                bayes: None,
                true_probs: None,
            };
            sample_sequence(
                cfg,
                fixed,
                &[],
                key.item_rng(first.wrapping_add(r as u64)),
                out,
            );
        }
        return;
    }
    let mask = (1usize << k) - 1;
    let mut draws: [U32Draws; GROUP] =
        std::array::from_fn(|r| U32Draws::new(key.item_rng(first.wrapping_add(r as u64))));
    let mut rows: Vec<&mut [T]> = block.chunks_mut(len).collect();
    let mut state = [0usize; GROUP];
    for r in 0..GROUP {
        for cell in rows[r][..k.min(len)].iter_mut() {
            let x = draws[r].rng_mut().random_range(0..2u32);
            state[r] = state[r] << 1 | x as usize;
            *cell = T::from_id(x);
        }
    }
    let mut chain = fixed.cloned().unwrap_or_else(|| Chain::zeros(1 << k, 2));
    let mut thresholds = [[0u64; 1 << MAX_BINARY_ORDER]; GROUP];
    for range in segments(cfg, k) {
        for r in 0..GROUP {
            if fixed.is_none() {
                chain.redraw(cfg.alpha, 2, draws[r].rng_mut());
            }
            for (s, thr) in thresholds[r][..=mask].iter_mut().enumerate() {
                *thr = chain.cum[2 * s];
            }
        }
        // All rows make the same sequence of calls, so they share the spare-half state.
        let mut t = range.start;
        let step = |r: usize, u: u32, state: &mut [usize; GROUP]| {
            let x = (u as u64 >= thresholds[r][state[r]]) as usize;
            state[r] = (state[r] << 1 | x) & mask;
            T::from_id(x as u32)
        };
        if draws[0].has_spare() && t < range.end {
            for r in 0..GROUP {
                rows[r][t] = step(r, draws[r].next_u32(), &mut state);
            }
            t += 1;
        }
        while t + 1 < range.end {
            for r in 0..GROUP {
                let (u0, u1) = draws[r].next_pair();
                rows[r][t] = step(r, u0, &mut state);
                rows[r][t + 1] = step(r, u1, &mut state);
            }
            t += 2;
        }
        if t < range.end {
            for r in 0..GROUP {
                rows[r][t] = step(r, draws[r].next_u32(), &mut state);
            }
        }
    }
}

fn sample_sequence<T: TokenId>(
    cfg: &MarkovConfig,
    fixed: Option<&Chain>,
    inv_totals: &[f64],
    rng: ItemRng,
    mut out: RowOut<'_, T>,
) {
    let (v, k, len) = (cfg.vocab_size, cfg.order, cfg.length);
    let mut draws = U32Draws::new(rng);
    let mut history: Vec<u32> = Vec::with_capacity(k);
    // The first `order` symbols are uniform, so each predicts a uniform successor; the label
    // of position `k - 1` is rewritten once the first chain is drawn.
    for t in 0..k.min(len) {
        let x = draws.rng_mut().random_range(0..v as u32);
        history.push(x);
        out.tokens[t] = T::from_id(x);
        fill_uniform(&mut out, t, v);
    }
    let mut state = history.iter().fold(0usize, |s, &x| s * v + x as usize);
    let lead_weight = if k == 0 { 0 } else { v.pow(k as u32 - 1) };
    let mut chain = fixed
        .cloned()
        .unwrap_or_else(|| Chain::zeros(cfg.num_states(), v));
    let labelled = out.bayes.is_some() || out.true_probs.is_some();
    let needs_counts = out.bayes.is_some();
    let mut counts = Counts {
        by_symbol: vec![0; if needs_counts { chain.cum.len() } else { 0 }],
        total: vec![0; if needs_counts { cfg.num_states() } else { 0 }],
    };
    // Labels are output-aligned: position `t` holds the distribution of token `t + 1`. Where a
    // new chain starts at `s`, position `s - 1` is written from the new chain; a chain that
    // would start right after the sequence is drawn too, so the last position is exact.
    let chain_after = labelled && len > 0 && starts_chain(cfg, k, len);
    let starts = segments(cfg, k).map(Some).chain(chain_after.then_some(None));
    for range in starts {
        if fixed.is_none() {
            chain.redraw(cfg.alpha, v, draws.rng_mut());
        }
        counts.by_symbol.fill(0);
        counts.total.fill(0);
        let ctx = Segment {
            v,
            k,
            lead_weight,
            alpha: cfg.alpha,
            chain: &chain,
            known_chain: fixed.is_some(),
            inv_totals,
        };
        let first = range.as_ref().map_or(len, |r| r.start);
        if labelled && first > 0 {
            ctx.write_labels::<0, T>(&mut out, &counts, state, first - 1);
        }
        let Some(range) = range else { break };
        state = if labelled && v == 2 {
            ctx.run_labelled::<2, T>(&mut draws, &mut out, &mut counts, state, range)
        } else if labelled {
            ctx.run_labelled::<0, T>(&mut draws, &mut out, &mut counts, state, range)
        } else {
            ctx.run_plain(&mut draws, out.tokens, state, range)
        };
    }
}

/// Whether a chain starts at position `t` (the first after the uniform prefix, or a switch).
fn starts_chain(cfg: &MarkovConfig, k: usize, t: usize) -> bool {
    t == k || (t > k && cfg.switch_every > 0 && t.is_multiple_of(cfg.switch_every))
}

fn fill_uniform<T>(out: &mut RowOut<'_, T>, t: usize, v: usize) {
    let u = 1.0 / v as f32;
    for buf in [out.bayes.as_deref_mut(), out.true_probs.as_deref_mut()]
        .into_iter()
        .flatten()
    {
        buf[t * v..(t + 1) * v].fill(u);
    }
}

/// A run of positions generated by one chain.
struct Segment<'a> {
    v: usize,
    k: usize,
    lead_weight: usize,
    alpha: f64,
    chain: &'a Chain,
    /// The chain is fixed by the user (so the predictor knows it).
    known_chain: bool,
    /// `1 / (n + V * alpha)` for every count `n` a context can reach in one segment.
    inv_totals: &'a [f64],
}

impl Segment<'_> {
    /// The context after appending `x` at position `t`.
    #[inline(always)]
    fn next_state<T: TokenId>(&self, tokens: &[T], state: usize, t: usize, x: u32) -> usize {
        if self.k == 0 {
            return 0;
        }
        let lead = to_usize(tokens[t - self.k]);
        (state - lead * self.lead_weight) * self.v + x as usize
    }

    fn run_plain<T: TokenId>(
        &self,
        draws: &mut U32Draws,
        tokens: &mut [T],
        mut state: usize,
        range: std::ops::Range<usize>,
    ) -> usize {
        for t in range {
            let x = self.chain.sample(state, self.v, draws.next_u32());
            state = self.next_state(tokens, state, t, x);
            tokens[t] = T::from_id(x);
        }
        state
    }

    /// `V` is the vocabulary size when known at compile time (0: `self.v`), so the binary
    /// case writes its two-entry rows without loops or calls.
    fn run_labelled<const V: usize, T: TokenId>(
        &self,
        draws: &mut U32Draws,
        out: &mut RowOut<'_, T>,
        counts: &mut Counts,
        mut state: usize,
        range: std::ops::Range<usize>,
    ) -> usize {
        let v = self.v;
        for t in range {
            let x = self.chain.sample(state, v, draws.next_u32());
            if !counts.total.is_empty() {
                counts.by_symbol[state * v + x as usize] += 1;
                counts.total[state] += 1;
            }
            state = self.next_state(out.tokens, state, t, x);
            out.tokens[t] = T::from_id(x);
            self.write_labels::<V, T>(out, counts, state, t);
        }
        state
    }

    /// Position `t`'s labels: the distribution of the token after context `state`.
    #[inline(always)]
    fn write_labels<const V: usize, T>(
        &self,
        out: &mut RowOut<'_, T>,
        counts: &Counts,
        state: usize,
        t: usize,
    ) {
        let v = if V > 0 { V } else { self.v };
        let here = t * v..(t + 1) * v;
        let row = state * v..(state + 1) * v;
        let chain_row = &self.chain.probs32[row.clone()];
        if let Some(b) = out.bayes.as_deref_mut() {
            if self.known_chain {
                // A known chain is its own Bayes-optimal predictor.
                copy_row::<V>(&mut b[here.clone()], chain_row);
            } else {
                let inv = self.inv_totals[counts.total[state] as usize];
                for (dst, &n) in b[here.clone()].iter_mut().zip(&counts.by_symbol[row]) {
                    *dst = ((n as f64 + self.alpha) * inv) as f32;
                }
            }
        }
        if let Some(tp) = out.true_probs.as_deref_mut() {
            copy_row::<V>(&mut tp[here], chain_row);
        }
    }
}

/// `dst = src` for a label row; an element loop when the length is a constant (a call to
/// `memcpy` would cost more than the copy).
#[inline(always)]
fn copy_row<const V: usize>(dst: &mut [f32], src: &[f32]) {
    if V > 0 {
        dst[..V].copy_from_slice(&src[..V]);
    } else {
        dst.copy_from_slice(src);
    }
}

#[inline(always)]
fn to_usize<T: TokenId>(x: T) -> usize {
    x.to_id() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: usize, k: usize, len: usize) -> MarkovConfig {
        MarkovConfig {
            vocab_size: v,
            order: k,
            length: len,
            alpha: 1.0,
            switch_every: 0,
            transition: None,
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(cfg(1, 1, 10).validate().is_err());
        assert!(cfg(2, 30, 10).validate().is_err());
        assert!(cfg(2, 1, 0).validate().is_err());
        let mut c = cfg(2, 1, 10);
        c.alpha = 0.0;
        assert!(c.validate().is_err());
        c.alpha = 1.0;
        c.transition = Some(vec![0.5, 0.5, 0.2, 0.7]);
        assert!(c.validate().is_err());
    }

    #[test]
    fn tokens_stay_in_vocabulary_and_labels_normalise() {
        let c = cfg(5, 2, 40);
        let labels = MarkovLabels {
            bayes: true,
            true_probs: true,
        };
        let b = generate::<i32>(&c, StreamKey::new(1, 2), 0, 8, labels, Some(1)).unwrap();
        assert!(b.tokens.iter().all(|&x| (0..5).contains(&x)));
        for probs in [b.bayes.unwrap(), b.true_probs.unwrap()] {
            for row in probs.chunks(5) {
                let s: f32 = row.iter().sum();
                assert!((s - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn plain_and_labelled_paths_agree_on_tokens() {
        // The plain binary path (orders 0..=6, rows interleaved in groups) must draw exactly
        // as the general labelled path does.
        let cases = [
            (2, 1),
            (3, 2),
            (2, 0),
            (40, 1),
            (2, 2),
            (2, 3),
            (2, 6),
            (2, 7),
        ];
        for (v, k) in cases {
            for (len, every) in [(50, 7), (51, 0), (3, 0), (9, 4)] {
                let mut c = cfg(v, k, len);
                c.switch_every = every;
                let key = StreamKey::new(3, 4);
                let plain = MarkovLabels::default();
                let plain = generate::<i32>(&c, key, 5, 9, plain, Some(1)).unwrap();
                let labels = MarkovLabels {
                    bayes: true,
                    true_probs: false,
                };
                let full = generate::<i32>(&c, key, 5, 9, labels, Some(2)).unwrap();
                assert_eq!(plain.tokens, full.tokens, "v={v} k={k} len={len}");
            }
        }
    }

    #[test]
    fn plain_binary_path_follows_a_fixed_chain() {
        let mut c = cfg(2, 2, 33);
        c.transition = Some(vec![0.9, 0.1, 0.2, 0.8, 0.5, 0.5, 0.0, 1.0]);
        let key = StreamKey::new(7, 1);
        let plain = generate::<u8>(&c, key, 0, 8, MarkovLabels::default(), Some(1)).unwrap();
        let labels = MarkovLabels {
            bayes: false,
            true_probs: true,
        };
        let full = generate::<u8>(&c, key, 0, 8, labels, Some(1)).unwrap();
        assert_eq!(plain.tokens, full.tokens);
    }

    #[test]
    fn tiny_alpha_gives_valid_rows() {
        let mut c = cfg(4, 1, 100);
        c.alpha = 1e-3;
        let labels = MarkovLabels {
            bayes: false,
            true_probs: true,
        };
        let b = generate::<u8>(&c, StreamKey::new(0, 0), 0, 4, labels, Some(1)).unwrap();
        assert!(b.true_probs.unwrap().iter().all(|p| p.is_finite()));
    }
}
