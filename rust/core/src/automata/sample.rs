//! String samplers over a DFA, each named for what "random" means:
//!
//! - [`Method::Uniform`]: uniform over the accepted strings of an exact length (counting DP and
//!   exact unranking, [`super::uniform`]; log-space probabilities only when the exact table
//!   would exceed the memory cap).
//! - [`Method::Walk`]: random walk of preset length over the defined transitions, each chosen
//!   with probability proportional to its weight (uniform by default: REGBENCH's sampler,
//!   with the fast path of [`super::walk`]).
//!   A walk that reaches a state without transitions ends there (shorter string).
//! - [`Method::StopWalk`]: OpenFst `randgen` semantics: at each state choose among its arcs and,
//!   if accepting, a stop option (weights proportional; uniform by default, i.e. stopping
//!   counts as one option). Before `min_len` the stop option is removed and the others
//!   renormalised; walks that reach `max_len` or a dead end are dropped and redrawn.
//!
//! The length of item `i` is uniform over `min_len..=max_len` (for `Uniform`: over the lengths
//! in that range with at least one accepted string). Output rows are padded with `pad`.

use std::sync::{Arc, Mutex};

use rand::Rng;
use rayon::prelude::*;

use super::count::{Count, CountTable};
use super::dfa::{Dfa, NONE};
use super::uniform::RankTable;
use super::walk::{UniformArcs, LANES};
use crate::error::{ensure, KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{ItemRng, StreamKey};
use crate::token::TokenId;

/// Longest string a sampler produces.
pub const MAX_SAMPLE_LENGTH: usize = 1 << 20;
/// Redraws allowed per item for dropped `StopWalk` walks and near misses.
pub const MAX_TRIES: usize = 10_000;

/// Which sampler to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    Uniform,
    /// `weights`: optional `[states, symbols]` non-negative arc weights (missing arcs ignored).
    Walk {
        weights: Option<Vec<f64>>,
    },
    /// `weights` as for `Walk`; `final_weights`: optional `[states]` stop weights (used only
    /// at accepting states; default 1).
    StopWalk {
        weights: Option<Vec<f64>>,
        final_weights: Option<Vec<f64>>,
    },
}

/// Lengths and padding of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthSpec {
    pub min_len: usize,
    pub max_len: usize,
    pub pad: u32,
}

/// Sampled strings: `tokens [count, max_len]` padded, `lengths [count]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Strings<T> {
    pub tokens: Vec<T>,
    pub lengths: Vec<i64>,
}

/// A uniform draw in `0..n` (`n > 0`), exact (Lemire's method with rejection).
#[inline(always)]
pub fn below(rng: &mut ItemRng, n: u64) -> u64 {
    let mut m = (rng.next_u64() as u128) * (n as u128);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = (rng.next_u64() as u128) * (n as u128);
        }
    }
    (m >> 64) as u64
}

/// A uniform float in [0, 1) with 53 random bits.
#[inline(always)]
fn unit(rng: &mut ItemRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn validate_lengths(spec: &LengthSpec) -> Result<()> {
    ensure(spec.min_len <= spec.max_len, "min_len", || {
        format!(
            "must be <= max_len = {}, got {}",
            spec.max_len, spec.min_len
        )
    })?;
    ensure(spec.max_len <= MAX_SAMPLE_LENGTH, "max_len", || {
        format!("must be at most {MAX_SAMPLE_LENGTH}, got {}", spec.max_len)
    })
}

/// Samples items `start .. start + count` of the stream `key`.
pub fn sample<T: TokenId>(
    dfa: &Dfa,
    method: &Method,
    spec: LengthSpec,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<Strings<T>> {
    validate_lengths(&spec)?;
    let max_id = (dfa.num_symbols() as u64 - 1).max(spec.pad as u64);
    ensure(max_id <= T::MAX_ID, "dtype", || {
        format!("cannot hold token ids up to {max_id}")
    })?;
    let width = spec.max_len;
    let n = check_elements(
        "sampled strings",
        &[count, width],
        std::mem::size_of::<T>() + 8,
    )?;
    let sampler = Sampler::new(dfa, method, &spec)?;
    let mut tokens = vec![T::from_id(spec.pad); n];
    let mut lengths = vec![0i64; count];
    if matches!(method, Method::Walk { weights: None }) && width > 0 {
        let arcs = UniformArcs::new(dfa);
        with_threads(threads, || {
            tokens
                .par_chunks_mut(width * LANES)
                .zip(lengths.par_chunks_mut(LANES))
                .enumerate()
                .for_each(|(g, (rows, lens))| {
                    let first = start.wrapping_add((g * LANES) as u64);
                    arcs.walk_group(key, first, spec.min_len, spec.max_len, width, rows, lens);
                })
        });
        return Ok(Strings { tokens, lengths });
    }
    if let Sampler::Uniform(uniform) = &sampler {
        if let (UniformDraw::Exact(ranks), true) = (&uniform.tables.method, width > 0) {
            with_threads(threads, || {
                tokens
                    .par_chunks_mut(width * LANES)
                    .zip(lengths.par_chunks_mut(LANES))
                    .enumerate()
                    .for_each(|(g, (rows, lens))| {
                        let first = start.wrapping_add((g * LANES) as u64);
                        uniform.draw_group(ranks, key, first, rows, lens, width);
                    })
            });
            return Ok(Strings { tokens, lengths });
        }
    }
    with_threads(threads, || {
        tokens
            .par_chunks_mut(width.max(1))
            .zip(lengths.par_iter_mut())
            .enumerate()
            .try_for_each(|(i, (row, len))| {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                *len = sampler.draw(&mut rng, row)? as i64;
                Ok::<(), KleeneError>(())
            })
    })?;
    Ok(Strings { tokens, lengths })
}

/// Per-state outgoing arcs with cumulative fixed-point thresholds (scaled by 2^32).
struct Arcs {
    start: u32,
    offsets: Vec<u32>,
    thresholds: Vec<u64>,
    symbols: Vec<u32>,
    targets: Vec<u32>,
}

/// Marks the stop option among a state's arcs.
const STOP: u32 = u32::MAX;

impl Arcs {
    /// `weight(state, symbol)` for arcs; `stop(state)` adds a stop option when positive.
    fn new(dfa: &Dfa, weight: impl Fn(usize, usize) -> f64, stop: impl Fn(usize) -> f64) -> Arcs {
        let mut arcs = Arcs {
            start: dfa.start(),
            offsets: vec![0],
            thresholds: vec![],
            symbols: vec![],
            targets: vec![],
        };
        let mut row: Vec<(f64, u32, u32)> = Vec::new();
        for q in 0..dfa.num_states() {
            row.clear();
            for (a, &t) in dfa.row(q as u32).iter().enumerate() {
                let w = weight(q, a);
                if t != NONE && w > 0.0 {
                    row.push((w, a as u32, t));
                }
            }
            let s = stop(q);
            if s > 0.0 {
                row.push((s, STOP, NONE));
            }
            let total: f64 = row.iter().map(|r| r.0).sum();
            let mut acc = 0.0;
            for (i, &(w, a, t)) in row.iter().enumerate() {
                acc += w / total;
                let last = i + 1 == row.len();
                let th = if last {
                    1u64 << 32
                } else {
                    ((acc * 4_294_967_296.0).round() as u64).min(1 << 32)
                };
                arcs.thresholds.push(th);
                arcs.symbols.push(a);
                arcs.targets.push(t);
            }
            arcs.offsets.push(arcs.thresholds.len() as u32);
        }
        arcs
    }

    /// Picks an arc of `state` (index into symbols/targets), `None` if it has none.
    #[inline(always)]
    fn pick(&self, state: u32, rng: &mut ItemRng) -> Option<usize> {
        let (lo, hi) = (
            self.offsets[state as usize] as usize,
            self.offsets[state as usize + 1] as usize,
        );
        match hi - lo {
            0 => None,
            1 => Some(lo),
            _ => {
                let u = rng.next_u64() >> 32;
                let row = &self.thresholds[lo..hi];
                Some(lo + row.iter().map(|&c| (c <= u) as usize).sum::<usize>())
            }
        }
    }
}

enum Sampler<'a> {
    Uniform(UniformSampler<'a>),
    Walk(&'a Dfa, Arcs, LengthSpec),
    StopWalk(Arcs, Arcs, LengthSpec),
}

impl<'a> Sampler<'a> {
    fn new(dfa: &'a Dfa, method: &Method, spec: &LengthSpec) -> Result<Self> {
        let (n, k) = (dfa.num_states(), dfa.num_symbols());
        let check_weights = |w: &Option<Vec<f64>>, len: usize, name: &str| -> Result<()> {
            if let Some(w) = w {
                ensure(w.len() == len, name, || {
                    format!("must have {len} entries, got {}", w.len())
                })?;
                ensure(w.iter().all(|x| x.is_finite() && *x >= 0.0), name, || {
                    "entries must be finite and >= 0".into()
                })?;
            }
            Ok(())
        };
        Ok(match method {
            Method::Uniform => Sampler::Uniform(UniformSampler::new(dfa, spec)?),
            Method::Walk { weights } => {
                check_weights(weights, n * k, "weights")?;
                let w = |q: usize, a: usize| weights.as_ref().map_or(1.0, |w| w[q * k + a]);
                Sampler::Walk(dfa, Arcs::new(dfa, w, |_| 0.0), *spec)
            }
            Method::StopWalk {
                weights,
                final_weights,
            } => {
                check_weights(weights, n * k, "weights")?;
                check_weights(final_weights, n, "final_weights")?;
                ensure(
                    spec.max_len >= 1 || dfa.accepting()[dfa.start() as usize],
                    "max_len",
                    || "allows no string of the language".into(),
                )?;
                let w = |q: usize, a: usize| weights.as_ref().map_or(1.0, |w| w[q * k + a]);
                let f = |q: usize| {
                    if dfa.accepting()[q] {
                        final_weights.as_ref().map_or(1.0, |f| f[q])
                    } else {
                        0.0
                    }
                };
                Sampler::StopWalk(Arcs::new(dfa, w, f), Arcs::new(dfa, w, |_| 0.0), *spec)
            }
        })
    }

    /// Writes one string into `row`; returns its length.
    fn draw<T: TokenId>(&self, rng: &mut ItemRng, row: &mut [T]) -> Result<usize> {
        match self {
            Sampler::Uniform(u) => Ok(u.draw(rng, row)),
            Sampler::Walk(dfa, arcs, spec) => {
                let len =
                    spec.min_len + below(rng, (spec.max_len - spec.min_len + 1) as u64) as usize;
                Ok(walk(arcs, dfa.start(), len, rng, row))
            }
            Sampler::StopWalk(with_stop, no_stop, spec) => {
                for _ in 0..MAX_TRIES {
                    if let Some(len) = stop_walk(with_stop, no_stop, spec, rng, row) {
                        return Ok(len);
                    }
                    row.fill(T::from_id(spec.pad)); // a dropped walk leaves no symbols behind
                }
                Err(KleeneError::invalid(
                    "max_len",
                    format!("{MAX_TRIES} walks in a row ended in a dead state or reached max_len; raise max_len or change the weights"),
                ))
            }
        }
    }
}

fn walk<T: TokenId>(
    arcs: &Arcs,
    start: u32,
    len: usize,
    rng: &mut ItemRng,
    row: &mut [T],
) -> usize {
    let mut q = start;
    for (t, slot) in row[..len].iter_mut().enumerate() {
        let Some(i) = arcs.pick(q, rng) else { return t };
        *slot = T::from_id(arcs.symbols[i]);
        q = arcs.targets[i];
    }
    len
}

/// One randgen walk; `None` if it was dropped.
#[allow(clippy::needless_range_loop)]
fn stop_walk<T: TokenId>(
    with_stop: &Arcs,
    no_stop: &Arcs,
    spec: &LengthSpec,
    rng: &mut ItemRng,
    row: &mut [T],
) -> Option<usize> {
    let mut q = with_stop.start;
    for t in 0..=spec.max_len {
        let arcs = if t < spec.min_len { no_stop } else { with_stop };
        let i = arcs.pick(q, rng)?;
        if arcs.symbols[i] == STOP {
            return Some(t);
        }
        if t == spec.max_len {
            return None;
        }
        row[t] = T::from_id(arcs.symbols[i]);
        q = arcs.targets[i];
    }
    None
}

/// Uniform sampling by unranking (exact); log-space probabilities when the exact rank table
/// would not fit in the memory cap.
struct UniformSampler<'a> {
    dfa: &'a Dfa,
    tables: Arc<UniformTables>,
}

/// What uniform sampling precomputes for an automaton and a length range.
struct UniformTables {
    method: UniformDraw,
    /// Lengths in range with at least one accepted string.
    lengths: Vec<usize>,
}

enum UniformDraw {
    Exact(RankTable),
    /// Natural-log counts `[(max_len + 1) * states]`.
    Log(Vec<f64>),
}

/// The last exact tables built (automaton, `min_len`, `max_len`), reused while the same
/// request comes back, as a dataloader's repeated batches do. Only `try_lock` touches it, so a
/// lock held across `fork()` merely disables the cache in the child.
type CachedTables = (Dfa, usize, usize, Arc<UniformTables>);
static UNIFORM_CACHE: Mutex<Option<CachedTables>> = Mutex::new(None);

/// Tables larger than this are rebuilt per call rather than kept alive between calls.
const MAX_CACHED_BYTES: usize = 16 << 20;

impl<'a> UniformSampler<'a> {
    fn new(dfa: &'a Dfa, spec: &LengthSpec) -> Result<Self> {
        let key = (spec.min_len, spec.max_len);
        if let Ok(cache) = UNIFORM_CACHE.try_lock() {
            if let Some((d, lo, hi, tables)) = cache.as_ref() {
                if (*lo, *hi) == key && d == dfa {
                    let tables = tables.clone();
                    return Ok(UniformSampler { dfa, tables });
                }
            }
        }
        let tables = Arc::new(UniformTables::new(dfa, spec)?);
        if let UniformDraw::Exact(ranks) = &tables.method {
            if ranks.bytes() <= MAX_CACHED_BYTES {
                if let Ok(mut cache) = UNIFORM_CACHE.try_lock() {
                    *cache = Some((dfa.clone(), key.0, key.1, tables.clone()));
                }
            }
        }
        Ok(UniformSampler { dfa, tables })
    }
}

impl UniformTables {
    fn new(dfa: &Dfa, spec: &LengthSpec) -> Result<Self> {
        let n = dfa.num_states();
        let (method, lengths): (UniformDraw, Vec<usize>) = match RankTable::new(dfa, spec.max_len) {
            Ok(ranks) => {
                let lengths = (spec.min_len..=spec.max_len)
                    .filter(|&l| ranks.has_strings(l))
                    .collect();
                (UniformDraw::Exact(ranks), lengths)
            }
            Err(too_large) => {
                let counts = CountTable::new(dfa, spec.max_len)?;
                if counts.is_exact() {
                    return Err(too_large); // counts below 2^128 are sampled exactly or not at all
                }
                let lengths = (spec.min_len..=spec.max_len)
                    .filter(|&l| !counts.get(n, l, dfa.start()).is_zero())
                    .collect();
                (UniformDraw::Log(counts.ln_values()), lengths)
            }
        };
        ensure(!lengths.is_empty(), "min_len", || {
            format!(
                "the language has no string with length in {}..={}",
                spec.min_len, spec.max_len
            )
        })?;
        Ok(UniformTables { method, lengths })
    }
}

impl UniformSampler<'_> {
    fn pick_length(&self, rng: &mut ItemRng) -> usize {
        let lengths = &self.tables.lengths;
        lengths[below(rng, lengths.len() as u64) as usize]
    }

    fn draw<T: TokenId>(&self, rng: &mut ItemRng, row: &mut [T]) -> usize {
        let len = self.pick_length(rng);
        match &self.tables.method {
            UniformDraw::Exact(ranks) => {
                let width = row.len();
                ranks.draw_group(&[len], std::slice::from_mut(rng), row, width)
            }
            UniformDraw::Log(c) => self.draw_log(c, len, rng, row),
        }
        len
    }

    /// Items `first..` into a group of at most `LANES` rows, stepped in lockstep.
    fn draw_group<T: TokenId>(
        &self,
        ranks: &RankTable,
        key: StreamKey,
        first: u64,
        rows: &mut [T],
        lengths: &mut [i64],
        width: usize,
    ) {
        let lanes = lengths.len();
        let mut rngs: Vec<ItemRng> = (0..lanes)
            .map(|j| key.item_rng(first.wrapping_add(j as u64)))
            .collect();
        let lens: Vec<usize> = rngs.iter_mut().map(|rng| self.pick_length(rng)).collect();
        ranks.draw_group(&lens, &mut rngs, rows, width);
        for (out, &len) in lengths.iter_mut().zip(&lens) {
            *out = len as i64;
        }
    }

    fn draw_log<T: TokenId>(&self, c: &[f64], len: usize, rng: &mut ItemRng, row: &mut [T]) {
        let n = self.dfa.num_states();
        let mut q = self.dfa.start();
        for l in (0..len).rev() {
            let here = c[(l + 1) * n + q as usize];
            let counts = &c[l * n..(l + 1) * n];
            let mut u = unit(rng);
            let mut chosen = None;
            for (a, &t) in self.dfa.row(q).iter().enumerate() {
                if t == NONE || counts[t as usize] == f64::NEG_INFINITY {
                    continue;
                }
                chosen = Some((a, t));
                u -= (counts[t as usize] - here).exp();
                if u < 0.0 {
                    break;
                }
            }
            // Rounding can leave u >= 0 after the last live arc: keep that arc.
            let (a, t) = chosen.expect("a state with a positive count has a live arc");
            row[len - 1 - l] = T::from_id(a as u32);
            q = t;
        }
    }
}

/// Count of accepted strings of each length in `0..=max_len` from the start state.
pub fn counts_by_length(dfa: &Dfa, max_len: usize) -> Result<Vec<Count>> {
    let table = CountTable::new(dfa, max_len)?;
    Ok((0..=max_len)
        .map(|l| table.get(dfa.num_states(), l, dfa.start()))
        .collect())
}

/// State after each token: `states[b, t]` is the state reached after `tokens[b, ..=t]`,
/// -1 past the row's length or once a transition is missing. `[count, width]`.
pub fn state_trace<T: TokenId>(
    dfa: &Dfa,
    tokens: &[T],
    lengths: &[i64],
    width: usize,
    threads: Option<usize>,
) -> Result<Vec<i32>> {
    ensure(tokens.len() == lengths.len() * width, "tokens", || {
        format!("must have shape [{}, {width}]", lengths.len())
    })?;
    ensure(
        lengths.iter().all(|&l| l >= 0 && l as usize <= width),
        "lengths",
        || format!("must lie in 0..={width}"),
    )?;
    ensure(dfa.num_states() <= i32::MAX as usize, "dfa", || {
        "too many states".into()
    })?;
    let mut out = vec![-1i32; tokens.len()];
    with_threads(threads, || {
        out.par_chunks_mut(width.max(1))
            .zip(tokens.par_chunks(width.max(1)))
            .zip(lengths.par_iter())
            .for_each(|((o, row), &len)| {
                let mut q = dfa.start();
                for t in 0..len as usize {
                    let a = row[t].to_id();
                    if a >= dfa.num_symbols() as u64 {
                        break;
                    }
                    q = dfa.next(q, a as u32);
                    if q == NONE {
                        break;
                    }
                    o[t] = q as i32;
                }
            })
    });
    Ok(out)
}

/// Near misses: for item `i`, a string drawn uniformly among the accepted strings of its
/// length (as `Uniform`), and a rejected string at edit distance exactly 1 from it, uniform
/// over the distinct such strings. Returns (positives `[count, max_len]`, negatives
/// `[count, max_len + 1]`). An accepted string without a rejected neighbour is redrawn.
pub fn near_misses<T: TokenId>(
    dfa: &Dfa,
    spec: LengthSpec,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<(Strings<T>, Strings<T>)> {
    validate_lengths(&spec)?;
    let max_id = (dfa.num_symbols() as u64 - 1).max(spec.pad as u64);
    ensure(max_id <= T::MAX_ID, "dtype", || {
        format!("cannot hold token ids up to {max_id}")
    })?;
    let (w_pos, w_neg) = (spec.max_len, spec.max_len + 1);
    check_elements(
        "near misses",
        &[count, w_pos + w_neg],
        std::mem::size_of::<T>(),
    )?;
    let uniform = UniformSampler::new(dfa, &spec)?;
    let mut pos = vec![T::from_id(spec.pad); count * w_pos];
    let mut neg = vec![T::from_id(spec.pad); count * w_neg];
    let mut pos_len = vec![0i64; count];
    let mut neg_len = vec![0i64; count];
    with_threads(threads, || {
        pos.par_chunks_mut(w_pos.max(1))
            .zip(neg.par_chunks_mut(w_neg))
            .zip(pos_len.par_iter_mut().zip(neg_len.par_iter_mut()))
            .enumerate()
            .try_for_each(|(i, ((p, q), (pl, ql)))| {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                for _ in 0..MAX_TRIES {
                    p.fill(T::from_id(spec.pad));
                    let len = uniform.draw(&mut rng, p);
                    let word: Vec<u32> = p[..len].iter().map(|x| x.to_id() as u32).collect();
                    let edits = rejected_neighbours(dfa, &word);
                    if edits.is_empty() {
                        continue;
                    }
                    let edit = edits[below(&mut rng, edits.len() as u64) as usize];
                    let out = edit.apply(&word);
                    for (slot, &a) in q.iter_mut().zip(&out) {
                        *slot = T::from_id(a);
                    }
                    *pl = len as i64;
                    *ql = out.len() as i64;
                    return Ok(());
                }
                Err(KleeneError::invalid(
                    "dfa",
                    format!("{MAX_TRIES} accepted strings in a row had no rejected string at edit distance 1"),
                ))
            })
    })?;
    Ok((
        Strings {
            tokens: pos,
            lengths: pos_len,
        },
        Strings {
            tokens: neg,
            lengths: neg_len,
        },
    ))
}

/// One edit of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Substitute(usize, u32),
    Insert(usize, u32),
    Delete(usize),
}

impl Edit {
    pub fn apply(self, word: &[u32]) -> Vec<u32> {
        let mut w = word.to_vec();
        match self {
            Edit::Substitute(i, a) => w[i] = a,
            Edit::Insert(i, a) => w.insert(i, a),
            Edit::Delete(i) => {
                w.remove(i);
            }
        }
        w
    }
}

/// The edits of `word` that give distinct strings rejected by `dfa`. Insertions are taken at
/// the right end of a run of equal symbols and deletions at the right end of a run, so each
/// neighbour string appears once.
pub fn rejected_neighbours(dfa: &Dfa, word: &[u32]) -> Vec<Edit> {
    let (n, k) = (word.len(), dfa.num_symbols() as u32);
    let ns = dfa.num_states();
    // forward[i]: state after word[..i] (NONE once a transition is missing)
    let mut forward = vec![dfa.start(); n + 1];
    for i in 0..n {
        let q = forward[i];
        forward[i + 1] = if q == NONE {
            NONE
        } else {
            dfa.next(q, word[i])
        };
    }
    // good[j * ns + q]: word[j..] is accepted from q
    let mut good = vec![false; (n + 1) * ns];
    good[n * ns..].copy_from_slice(dfa.accepting());
    for j in (0..n).rev() {
        for q in 0..ns {
            let t = dfa.next(q as u32, word[j]);
            good[j * ns + q] = t != NONE && good[(j + 1) * ns + t as usize];
        }
    }
    let accepted_from = |q: u32, j: usize| q != NONE && good[j * ns + q as usize];
    let step = |q: u32, a: u32| if q == NONE { NONE } else { dfa.next(q, a) };
    let mut edits = Vec::new();
    for i in 0..n {
        for a in (0..k).filter(|&a| a != word[i]) {
            if !accepted_from(step(forward[i], a), i + 1) {
                edits.push(Edit::Substitute(i, a));
            }
        }
    }
    for i in 0..=n {
        for a in 0..k {
            let canonical = i == n || word[i] != a;
            if canonical && !accepted_from(step(forward[i], a), i) {
                edits.push(Edit::Insert(i, a));
            }
        }
    }
    for i in 0..n {
        let canonical = i + 1 == n || word[i + 1] != word[i];
        if canonical && !accepted_from(forward[i], i + 1) {
            edits.push(Edit::Delete(i));
        }
    }
    edits
}
