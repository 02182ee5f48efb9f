//! The uniform random walk of preset length (REGBENCH's sampler), fast path.
//!
//! Rows are generated in groups of [`LANES`] that step in lockstep: the walks are independent,
//! so interleaving them hides the latency of each walk's dependent chain of table lookups.
//! Each row still draws only from its own generator, so output does not depend on grouping.
//! A step uses 32 random bits and picks arc `(u * degree) >> 32` (bias below degree / 2^32).

use rand::Rng;

use super::dfa::{Dfa, NONE};
use super::sample::below;
use crate::rng::{ItemRng, StreamKey};
use crate::token::TokenId;

/// Rows interleaved per group.
pub const LANES: usize = 8;

/// Outgoing arcs per state, packed `symbol << 32 | target`, `stride` slots per state.
pub struct UniformArcs {
    pub(super) degree: Vec<u32>,
    pub(super) arcs: Vec<u64>,
    pub(super) stride: usize,
    pub(super) start: u32,
}

impl UniformArcs {
    pub fn new(dfa: &Dfa) -> Self {
        let n = dfa.num_states();
        let degree: Vec<u32> = (0..n as u32)
            .map(|q| dfa.row(q).iter().filter(|&&t| t != NONE).count() as u32)
            .collect();
        let stride = degree.iter().copied().max().unwrap_or(0).max(1) as usize;
        let mut arcs = vec![0u64; n * stride];
        for q in 0..n {
            let defined = dfa
                .row(q as u32)
                .iter()
                .enumerate()
                .filter(|(_, &t)| t != NONE);
            for (slot, (a, &t)) in defined.enumerate() {
                arcs[q * stride + slot] = (a as u64) << 32 | t as u64;
            }
        }
        UniformArcs {
            degree,
            arcs,
            stride,
            start: dfa.start(),
        }
    }

    /// One uniform step from `state` with 32 random bits: (symbol, target), `None` at a dead end.
    #[inline(always)]
    pub fn step(&self, state: u32, u: u32) -> Option<(u32, u32)> {
        let d = self.degree[state as usize];
        if d == 0 {
            return None;
        }
        let slot = ((u as u64 * d as u64) >> 32) as usize;
        let arc = self.arcs[state as usize * self.stride + slot];
        Some(((arc >> 32) as u32, arc as u32))
    }

    /// Fills a group of at most `LANES` rows (`tokens` holds `lengths.len()` rows of `width`)
    /// with walks of items `first..`; each length is uniform on `min_len..=max_len`.
    #[allow(clippy::too_many_arguments)]
    pub fn walk_group<T: TokenId>(
        &self,
        key: StreamKey,
        first: u64,
        min_len: usize,
        max_len: usize,
        width: usize,
        tokens: &mut [T],
        lengths: &mut [i64],
    ) {
        let lanes = lengths.len();
        debug_assert!(lanes <= LANES);
        let mut rngs: Vec<ItemRng> = (0..lanes)
            .map(|j| key.item_rng(first.wrapping_add(j as u64)))
            .collect();
        let mut len = [0usize; LANES];
        let mut q = [self.start; LANES];
        let mut bits = [0u64; LANES];
        for j in 0..lanes {
            len[j] = min_len + below(&mut rngs[j], (max_len - min_len + 1) as u64) as usize;
        }
        let steps = len[..lanes].iter().copied().max().unwrap_or(0);
        for t in 0..steps {
            let even = t % 2 == 0;
            if even {
                for (b, rng) in bits.iter_mut().zip(rngs.iter_mut()) {
                    *b = rng.next_u64();
                }
            }
            for j in 0..lanes {
                if t >= len[j] {
                    continue;
                }
                let u = if even {
                    bits[j] as u32
                } else {
                    (bits[j] >> 32) as u32
                };
                let state = q[j] as usize;
                let d = self.degree[state];
                if d == 0 {
                    len[j] = t;
                    continue;
                }
                let slot = ((u as u64 * d as u64) >> 32) as usize;
                let arc = self.arcs[state * self.stride + slot];
                tokens[j * width + t] = T::from_id((arc >> 32) as u32);
                q[j] = arc as u32;
            }
        }
        for j in 0..lanes {
            lengths[j] = len[j] as i64;
        }
    }
}
