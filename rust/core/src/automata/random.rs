//! Random automata: the REGBENCH generator of "In-Context Language Learning" (Akyürek et al.
//! 2024, `berlino/seq_icl`) and uniform random complete DFAs.
//!
//! REGBENCH (`RandomDFASampler.sample` + `ICLDFADataModule.setup`): states uniform on
//! `max_out..=max_states`, alphabet size uniform on `max_out..=num_letters` with the letters
//! drawn without replacement, out-degree of each state uniform on `1..max_out` (exclusive
//! bound), symbols drawn without replacement from the DFA's alphabet, targets drawn without
//! replacement from the other states (no self-loops, distinct targets); every state accepting,
//! start 0; then minimised and trimmed. DFAs are over all `num_letters` symbols (letters outside
//! the DFA's alphabet have no transitions).

use std::collections::HashSet;

use rand::Rng;
use rayon::prelude::*;

use super::dfa::{Dfa, NONE};
use super::sample::below;
use super::walk::UniformArcs;
use crate::error::{ensure, KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{ItemRng, StreamKey};
use crate::token::TokenId;

/// Parameters of the REGBENCH random DFA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegbenchDfaConfig {
    /// Exclusive bound of the out-degree, and lower bound of states and alphabet size (4).
    pub max_out: usize,
    /// Largest number of states before minimisation (12).
    pub max_states: usize,
    /// Letters available (18: `vocab_size` 20 minus separator and pad).
    pub num_letters: usize,
}

impl Default for RegbenchDfaConfig {
    fn default() -> Self {
        RegbenchDfaConfig {
            max_out: 4,
            max_states: 12,
            num_letters: 18,
        }
    }
}

impl RegbenchDfaConfig {
    pub fn validate(&self) -> Result<()> {
        ensure((2..=64).contains(&self.max_out), "max_out", || {
            format!("must be in 2..=64, got {}", self.max_out)
        })?;
        ensure(
            (self.max_out..=4096).contains(&self.max_states),
            "max_states",
            || {
                format!(
                    "must be in max_out..=4096 = {}..=4096, got {}",
                    self.max_out, self.max_states
                )
            },
        )?;
        ensure(
            (self.max_out..=4096).contains(&self.num_letters),
            "num_letters",
            || {
                format!(
                    "must be in max_out..=4096 = {}..=4096, got {}",
                    self.max_out, self.num_letters
                )
            },
        )
    }
}

/// The first `k` entries of a uniform random permutation of `0..n` (partial Fisher-Yates).
fn choose(rng: &mut ItemRng, n: usize, k: usize) -> Vec<u32> {
    let mut items: Vec<u32> = (0..n as u32).collect();
    for i in 0..k {
        let j = i + below(rng, (n - i) as u64) as usize;
        items.swap(i, j);
    }
    items.truncate(k);
    items
}

/// The raw (unminimised) REGBENCH automaton drawn from `rng`.
pub fn regbench_raw(cfg: &RegbenchDfaConfig, rng: &mut ItemRng) -> Dfa {
    let m = cfg.max_out;
    let n = m + below(rng, (cfg.max_states - m + 1) as u64) as usize;
    let sigma = m + below(rng, (cfg.num_letters - m + 1) as u64) as usize;
    let alphabet = choose(rng, cfg.num_letters, sigma);
    let k = cfg.num_letters;
    let mut table = vec![NONE; n * k];
    for q in 0..n {
        let degree = 1 + below(rng, (m - 1) as u64) as usize;
        let symbols = choose(rng, sigma, degree);
        // Targets among the other states: draw from 0..n-1 and skip over q.
        let targets = choose(rng, n - 1, degree);
        for (&s, &t) in symbols.iter().zip(&targets) {
            let t = if t as usize >= q { t + 1 } else { t };
            table[q * k + alphabet[s as usize] as usize] = t;
        }
    }
    Dfa::from_parts(k, table, vec![true; n], 0)
}

/// The REGBENCH automaton: raw, then minimised and trimmed (canonical form).
pub fn regbench_dfa(cfg: &RegbenchDfaConfig, rng: &mut ItemRng) -> Dfa {
    regbench_raw(cfg, rng).minimize()
}

/// Automata `start .. start + count` of the stream `key` (not deduplicated).
pub fn regbench_dfas(
    cfg: &RegbenchDfaConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<Vec<Dfa>> {
    cfg.validate()?;
    check_elements("automata", &[count, cfg.max_states, cfg.num_letters], 4)?;
    Ok(with_threads(threads, || {
        (0..count)
            .into_par_iter()
            .map(|i| regbench_dfa(cfg, &mut key.item_rng(start.wrapping_add(i as u64))))
            .collect()
    }))
}

/// Disjoint, deduplicated test and train pools, in this order: candidates `0, 1, 2, ...` of the
/// stream are minimised; a candidate equal (as a canonical automaton, i.e. the same language)
/// to an earlier one is skipped; the first `num_test` distinct ones form the test pool and
/// the next `num_train` the train pool.
pub fn regbench_pools(
    cfg: &RegbenchDfaConfig,
    key: StreamKey,
    num_test: usize,
    num_train: usize,
    threads: Option<usize>,
) -> Result<(Vec<Dfa>, Vec<Dfa>)> {
    cfg.validate()?;
    let wanted = num_test + num_train;
    ensure((1..=1 << 22).contains(&wanted), "num_dfas", || {
        format!(
            "train + test automata must be in 1..={}, got {wanted}",
            1 << 22
        )
    })?;
    let mut seen: HashSet<Dfa> = HashSet::with_capacity(wanted);
    let mut pool: Vec<Dfa> = Vec::with_capacity(wanted);
    let budget = 20 * wanted as u64 + 10_000;
    let mut next = 0u64;
    while pool.len() < wanted && next < budget {
        let chunk = (wanted - pool.len()).max(256) as u64;
        for d in regbench_dfas(cfg, key, next, chunk as usize, threads)? {
            if pool.len() < wanted && seen.insert(d.clone()) {
                pool.push(d);
            }
        }
        next += chunk;
    }
    if pool.len() < wanted {
        return Err(KleeneError::invalid(
            "num_dfas",
            format!(
                "only {} distinct automata among {next} candidates; ask for fewer or allow larger automata",
                pool.len()
            ),
        ));
    }
    let train = pool.split_off(num_test);
    Ok((pool, train))
}

/// Families of uniform random automata over `num_symbols` symbols with `num_states` states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RandomFamily {
    /// Every transition uniform over the states, each state accepting with probability
    /// `accept_prob`; start 0.
    Complete,
    /// `Complete`, restricted to the states reachable from the start.
    Reachable,
    /// `Complete`, redrawn until its minimal automaton has exactly `num_states` states
    /// (returned minimised, complete).
    Minimal,
}

/// One random automaton of the family.
pub fn random_dfa(
    family: RandomFamily,
    num_states: usize,
    num_symbols: usize,
    accept_prob: f64,
    rng: &mut ItemRng,
) -> Result<Dfa> {
    ensure((1..=1 << 16).contains(&num_states), "num_states", || {
        format!("must be in 1..=65536, got {num_states}")
    })?;
    ensure((1..=1 << 10).contains(&num_symbols), "num_symbols", || {
        format!("must be in 1..=1024, got {num_symbols}")
    })?;
    ensure((0.0..=1.0).contains(&accept_prob), "accept_prob", || {
        format!("must be in [0, 1], got {accept_prob}")
    })?;
    let draw = |rng: &mut ItemRng| {
        let table = (0..num_states * num_symbols)
            .map(|_| below(rng, num_states as u64) as u32)
            .collect();
        let threshold = (accept_prob * 2f64.powi(53)) as u64;
        let accepting = (0..num_states)
            .map(|_| (rand::Rng::next_u64(rng) >> 11) < threshold)
            .collect();
        Dfa::from_parts(num_symbols, table, accepting, 0)
    };
    match family {
        RandomFamily::Complete => Ok(draw(rng)),
        RandomFamily::Reachable => {
            let d = draw(rng);
            let reach = d.reachable();
            Ok(d.restrict(&reach))
        }
        RandomFamily::Minimal => {
            ensure(
                num_states == 1 || (accept_prob > 0.0 && accept_prob < 1.0),
                "accept_prob",
                || {
                    "must be strictly between 0 and 1 for minimal automata with several states"
                        .into()
                },
            )?;
            for _ in 0..100_000 {
                let m = draw(rng).minimize().complete();
                if m.num_states() == num_states {
                    return Ok(m);
                }
            }
            Err(KleeneError::invalid(
                "num_states",
                "no minimal automaton of this size in 100000 draws".to_string(),
            ))
        }
    }
}

/// REGBENCH in-context episodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpisodeConfig {
    /// Strings per episode, inclusive range (paper: 10..=19).
    pub min_strings: usize,
    pub max_strings: usize,
    /// String lengths, inclusive range (paper: 1..=49).
    pub min_len: usize,
    pub max_len: usize,
    /// Tokens per row; longer episodes are truncated.
    pub width: usize,
    pub sep: u32,
    pub pad: u32,
}

/// Episodes: `tokens [B, width]`, `lengths [B]`, `dfa_index [B]`, and `states [B, width]`
/// (state after each token; the start state after a separator; -1 on padding).
pub struct Episodes<T> {
    pub tokens: Vec<T>,
    pub lengths: Vec<i64>,
    pub dfa_index: Vec<i64>,
    pub states: Vec<i32>,
}

impl EpisodeConfig {
    pub fn validate(&self) -> Result<()> {
        ensure(
            self.min_strings >= 1
                && self.min_strings <= self.max_strings
                && self.max_strings <= 1 << 16,
            "min_strings",
            || {
                format!(
                    "need 1 <= min_strings <= max_strings <= 65536, got {}..={}",
                    self.min_strings, self.max_strings
                )
            },
        )?;
        ensure(
            self.min_len >= 1 && self.min_len <= self.max_len && self.max_len <= 1 << 16,
            "min_len",
            || {
                format!(
                    "need 1 <= min_len <= max_len <= 65536, got {}..={}",
                    self.min_len, self.max_len
                )
            },
        )?;
        ensure((1..=1 << 22).contains(&self.width), "length", || {
            format!("must be in 1..={}, got {}", 1 << 22, self.width)
        })
    }
}

/// Generates episodes `start .. start + count`: episode `i` picks a DFA uniformly from `pool`,
/// then a number of strings and each string's length uniformly, and walks uniformly over the
/// outgoing transitions (32 random bits per step, as in [`super::walk`]); strings are joined
/// by `sep`.
pub fn episodes<T: TokenId>(
    pool: &[Dfa],
    cfg: &EpisodeConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<Episodes<T>> {
    cfg.validate()?;
    ensure(!pool.is_empty(), "pool", || {
        "must hold at least one automaton".into()
    })?;
    let max_id = cfg.sep.max(cfg.pad) as u64;
    ensure(max_id <= T::MAX_ID, "dtype", || {
        format!("cannot hold token ids up to {max_id}")
    })?;
    let w = cfg.width;
    let n = check_elements("episodes", &[count, w], std::mem::size_of::<T>() + 4)?;
    let mut tokens = vec![T::from_id(cfg.pad); n];
    let mut states = vec![-1i32; n];
    let mut lengths = vec![0i64; count];
    let mut dfa_index = vec![0i64; count];
    let arcs: Vec<UniformArcs> = pool.iter().map(UniformArcs::new).collect();
    with_threads(threads, || {
        tokens
            .par_chunks_mut(w)
            .zip(states.par_chunks_mut(w))
            .zip(lengths.par_iter_mut().zip(dfa_index.par_iter_mut()))
            .enumerate()
            .for_each(|(i, ((tok, st), (len, di)))| {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                let d = below(&mut rng, pool.len() as u64) as usize;
                *di = d as i64;
                *len = episode(&arcs[d], pool[d].start(), cfg, &mut rng, tok, st) as i64;
            })
    });
    Ok(Episodes {
        tokens,
        lengths,
        dfa_index,
        states,
    })
}

fn episode<T: TokenId>(
    arcs: &UniformArcs,
    start_state: u32,
    cfg: &EpisodeConfig,
    rng: &mut ItemRng,
    tok: &mut [T],
    st: &mut [i32],
) -> usize {
    let strings =
        cfg.min_strings + below(rng, (cfg.max_strings - cfg.min_strings + 1) as u64) as usize;
    let mut t = 0;
    for s in 0..strings {
        if s > 0 {
            if t == tok.len() {
                return t;
            }
            tok[t] = T::from_id(cfg.sep);
            st[t] = start_state as i32;
            t += 1;
        }
        let len = cfg.min_len + below(rng, (cfg.max_len - cfg.min_len + 1) as u64) as usize;
        let mut q = start_state;
        for _ in 0..len {
            if t == tok.len() {
                return t;
            }
            let u = (rng.next_u64() >> 32) as u32;
            let Some((a, next)) = arcs.step(q, u) else {
                break;
            };
            tok[t] = T::from_id(a);
            st[t] = next as i32;
            q = next;
            t += 1;
        }
    }
    t
}
