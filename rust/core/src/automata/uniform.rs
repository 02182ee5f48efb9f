//! Exactly uniform accepted strings of a given length, by unranking.
//!
//! With `c_l(q)` the number of accepted strings of length `l` from state `q`, a string of
//! length `L` is the unranking of one rank `r`, uniform in `0..c_L(start)`: at remaining length
//! `l` in state `q`, the defined arcs `(a, t)` in symbol order own consecutive intervals of
//! widths `c_{l-1}(t)`; the arc whose interval holds `r` is taken and `r` is reduced by the
//! interval's start. Every accepted string has exactly one rank, so the draw is exactly uniform
//! whatever the integers' width. The table holds, per (remaining length, state, arc slot), the
//! interval's end, so a step scans only the state's defined arcs: `u64` while every count fits
//! (the hot case: one 64-bit compare per arc), `u128` below 2^128, and fixed-width multi-word
//! integers beyond (as long as the table fits in the memory cap).

use rand::Rng;

use super::count::CountTable;
use super::dfa::Dfa;
use super::sample::{below, below_u128};
use super::walk::{UniformArcs, LANES};
use crate::error::Result;
use crate::limits::check_elements;
use crate::rng::ItemRng;
use crate::token::TokenId;

/// Per (remaining length, state): interval starts of the arc slots and the total, in the
/// narrowest exact width (see [`RankTable::starts`]); interval ends per arc slot in limbs for
/// the wide case.
enum Ends {
    U64(Vec<u64>),
    U128(Vec<u128>),
    /// `words` little-endian limbs per entry.
    Wide {
        words: usize,
        ends: Vec<u64>,
    },
}

/// Rank tables of one automaton for lengths `0..=max_len`.
pub struct RankTable {
    degree: Vec<u32>,
    /// Defined arcs per state, packed `symbol << 32 | target`, `stride` slots per state.
    arcs: Vec<u64>,
    stride: usize,
    /// The same arcs as `symbol << 32 | target * (stride + 1)`, `stride + 1` slots per state:
    /// the target pre-multiplied into an offset of the narrow tables.
    moves: Vec<u64>,
    states: usize,
    start: u32,
    ends: Ends,
}

impl RankTable {
    /// Builds the table, or `None` when the exact table would exceed the memory cap (the
    /// caller then falls back to log-space sampling).
    pub fn new(dfa: &Dfa, max_len: usize, counts: &CountTable) -> Result<Option<Self>> {
        let n = dfa.num_states();
        let UniformArcs {
            degree,
            arcs,
            stride,
            start,
        } = UniformArcs::new(dfa);
        let mut moves = vec![0u64; n * (stride + 1)];
        for q in 0..n {
            for slot in 0..degree[q] as usize {
                let arc = arcs[q * stride + slot];
                let offset = (arc as u32 as usize * (stride + 1)) as u64;
                moves[q * (stride + 1) + slot] = arc >> 32 << 32 | offset;
            }
        }
        let mut table = RankTable {
            degree,
            arcs,
            stride,
            moves,
            states: n,
            start,
            ends: Ends::U64(Vec::new()),
        };
        let entries = [max_len + 1, n, stride + 1];
        table.ends = match counts {
            CountTable::Exact(c) if c.iter().all(|&x| x <= u64::MAX as u128) => {
                check_elements("uniform sampler table", &entries, 8)?;
                Ends::U64(table.starts(max_len, |q| c[q] as u64))
            }
            CountTable::Exact(c) => {
                check_elements("uniform sampler table", &entries, 16)?;
                Ends::U128(table.starts(max_len, |q| c[q]))
            }
            CountTable::Log(ln) => {
                let top = ln.iter().cloned().fold(0.0f64, f64::max) / std::f64::consts::LN_2;
                // One spare word above the estimate: the sums below are exact and never carry
                // out of the top limb.
                let words = (top / 64.0).ceil() as usize + 1;
                if check_elements("uniform sampler table", &entries, 8 * words).is_err() {
                    return Ok(None);
                }
                let ends = table.wide_cumulative(dfa, max_len, words);
                Ends::Wide { words, ends }
            }
        };
        Ok(Some(table))
    }

    /// Interval starts from exact counts `count(l * n + q)`, `stride + 1` entries per
    /// (level, state): `0`, the start of every further defined arc, `R::MAX` past the last
    /// one, and the state's total `c_l(q)` last. Level 0 is unused.
    fn starts<R: RankInt>(&self, max_len: usize, count: impl Fn(usize) -> R) -> Vec<R> {
        let (n, width) = (self.states, self.stride + 1);
        let mut starts = vec![R::MAX; (max_len + 1) * n * width];
        for l in 1..=max_len {
            for q in 0..n {
                let here = &mut starts[(l * n + q) * width..][..width];
                let mut acc = R::default();
                let arcs = &self.arcs[q * self.stride..][..self.degree[q] as usize];
                for (start, &arc) in here.iter_mut().zip(arcs) {
                    *start = acc;
                    acc = acc + count((l - 1) * n + arc as u32 as usize);
                }
                here[width - 1] = acc;
            }
        }
        starts
    }

    /// Interval ends in `words`-limb integers, counting exactly as it goes.
    fn wide_cumulative(&self, dfa: &Dfa, max_len: usize, words: usize) -> Vec<u64> {
        let (n, stride) = (self.states, self.stride);
        let mut ends = vec![0u64; (max_len + 1) * n * stride * words];
        let mut prev: Vec<u64> = vec![0; n * words]; // c_{l-1}(q), limbs
        for (q, &a) in dfa.accepting().iter().enumerate() {
            prev[q * words] = a as u64;
        }
        let mut cur = vec![0u64; n * words];
        for l in 1..=max_len {
            for q in 0..n {
                let mut acc = vec![0u64; words];
                for slot in 0..self.degree[q] as usize {
                    let t = self.arcs[q * stride + slot] as u32 as usize;
                    add_assign(&mut acc, &prev[t * words..(t + 1) * words]);
                    let at = ((l * n + q) * stride + slot) * words;
                    ends[at..at + words].copy_from_slice(&acc);
                }
                cur[q * words..(q + 1) * words].copy_from_slice(&acc);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        ends
    }

    /// Writes uniform accepted strings of lengths `lens` (each has at least one) into the rows
    /// of `rows` (`lens.len() <= LANES` rows of `width`), lane `j` drawing from `rngs[j]`. The
    /// lanes step in lockstep so that their dependent table lookups overlap. For counts below
    /// 2^128 each lane draws exactly what the plain `u128` unranking drew.
    pub fn draw_group<T: TokenId>(
        &self,
        lens: &[usize],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
    ) {
        match &self.ends {
            Ends::U64(e) => self.unrank_group(e, lens, rngs, rows, width),
            Ends::U128(e) => self.unrank_group(e, lens, rngs, rows, width),
            Ends::Wide { words, ends } => {
                for (j, (&len, rng)) in lens.iter().zip(rngs.iter_mut()).enumerate() {
                    self.unrank_wide(ends, *words, len, rng, &mut rows[j * width..]);
                }
            }
        }
    }

    /// Index of the last defined arc slot of the start state at remaining length `len >= 1`:
    /// its interval end is `c_len(start)`.
    fn last_slot(&self, len: usize) -> usize {
        let q = self.start as usize;
        (len * self.states + q) * self.stride + self.degree[q] as usize - 1
    }

    fn unrank_group<R: RankInt, T: TokenId>(
        &self,
        starts: &[R],
        lens: &[usize],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
    ) {
        let (n, stride, start) = (self.states, self.stride, self.start as usize);
        let level = n * (stride + 1);
        let mut r = [R::default(); LANES];
        for (j, (&len, rng)) in lens.iter().zip(rngs.iter_mut()).enumerate() {
            // the empty string's rank is drawn too, as the plain unranking did
            let total = if len == 0 {
                R::ONE
            } else {
                starts[len * level + start * (stride + 1) + stride]
            };
            r[j] = R::below(rng, total);
        }
        let mut here = [start * (stride + 1); LANES]; // state offset within a level
        let steps = lens.iter().copied().max().unwrap_or(0);
        for t in 0..steps {
            for (j, &len) in lens.iter().enumerate() {
                if t >= len {
                    continue;
                }
                let starts = &starts[(len - t) * level + here[j]..][..stride];
                // Branch-free: the slot is the number of later starts at or below the rank.
                let slot: usize = starts[1..].iter().map(|&s| (r[j] >= s) as usize).sum();
                r[j] = r[j] - starts[slot];
                let mv = self.moves[here[j] + slot];
                rows[j * width + t] = T::from_id((mv >> 32) as u32);
                here[j] = mv as u32 as usize;
            }
        }
    }

    fn unrank_wide<T: TokenId>(
        &self,
        ends: &[u64],
        words: usize,
        len: usize,
        rng: &mut ItemRng,
        row: &mut [T],
    ) {
        if len == 0 {
            below(rng, 1);
            return;
        }
        let (n, stride) = (self.states, self.stride);
        let at = |i: usize| &ends[i * words..(i + 1) * words];
        let mut r = wide_below(rng, at(self.last_slot(len)));
        let mut q = self.start as usize;
        for l in (1..=len).rev() {
            let base = (l * n + q) * stride;
            let last = self.degree[q] as usize - 1;
            let slot = (0..last).take_while(|&s| !less(&r, at(base + s))).count();
            if slot > 0 {
                sub_assign(&mut r, at(base + slot - 1));
            }
            let arc = self.arcs[q * stride + slot];
            row[len - l] = T::from_id((arc >> 32) as u32);
            q = arc as u32 as usize;
        }
    }
}

/// Rank integers: a uniform draw below a bound, as the plain unranking drew it.
trait RankInt:
    Copy + Ord + Default + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self>
{
    const ONE: Self;
    const MAX: Self;
    fn below(rng: &mut ItemRng, n: Self) -> Self;
}

impl RankInt for u64 {
    const ONE: u64 = 1;
    const MAX: u64 = u64::MAX;
    fn below(rng: &mut ItemRng, n: u64) -> u64 {
        below(rng, n)
    }
}

impl RankInt for u128 {
    const ONE: u128 = 1;
    const MAX: u128 = u128::MAX;
    fn below(rng: &mut ItemRng, n: u128) -> u128 {
        below_u128(rng, n)
    }
}

/// `a += b` on little-endian limbs (the caller sizes `a` so that nothing carries out).
fn add_assign(a: &mut [u64], b: &[u64]) {
    let mut carry = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (s, c1) = x.overflowing_add(y);
        let (s, c2) = s.overflowing_add(carry as u64);
        *x = s;
        carry = c1 || c2;
    }
}

/// `a -= b` on little-endian limbs, `a >= b`.
fn sub_assign(a: &mut [u64], b: &[u64]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d, b1) = x.overflowing_sub(y);
        let (d, b2) = d.overflowing_sub(borrow as u64);
        *x = d;
        borrow = b1 || b2;
    }
}

/// `a < b` on little-endian limbs of equal length.
fn less(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// A uniform draw below `n > 0` (limbs), by rejection on the bits of `n - 1`.
fn wide_below(rng: &mut ItemRng, n: &[u64]) -> Vec<u64> {
    let top = n.iter().rposition(|&w| w != 0).expect("a positive count");
    let bits = 64 - n[top].leading_zeros();
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    loop {
        let mut x = vec![0u64; n.len()];
        for w in x[..=top].iter_mut() {
            *w = rng.next_u64();
        }
        x[top] &= mask;
        if less(&x, n) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automata::dfa::NONE;
    use crate::rng::item_rng;

    /// The plain unranking this table replaces, as the oracle: one `u128` rank, then a scan
    /// over the whole alphabet row at every step.
    fn unrank_plain(dfa: &Dfa, c: &[u128], len: usize, rng: &mut ItemRng) -> Vec<u32> {
        let n = dfa.num_states();
        let (mut q, mut r) = (
            dfa.start(),
            below_u128(rng, c[len * n + dfa.start() as usize]),
        );
        let mut out = Vec::new();
        for l in (0..len).rev() {
            for (a, &t) in dfa.row(q).iter().enumerate() {
                if t == NONE {
                    continue;
                }
                let ct = c[l * n + t as usize];
                if r < ct {
                    out.push(a as u32);
                    q = t;
                    break;
                }
                r -= ct;
            }
        }
        out
    }

    /// A pseudo-random partial DFA: `n` states, `k` symbols, about half the arcs defined.
    fn random_dfa(n: usize, k: usize, seed: u64) -> Dfa {
        let mut rng = item_rng(seed, 99, 0);
        let table = (0..n * k)
            .map(|_| {
                let x = rng.next_u64();
                if x & 1 == 0 {
                    NONE
                } else {
                    ((x >> 8) % n as u64) as u32
                }
            })
            .collect();
        let accepting = (0..n).map(|_| !rng.next_u64().is_multiple_of(3)).collect();
        Dfa::new(k, table, accepting, 0).unwrap()
    }

    #[test]
    fn draws_what_the_plain_unranking_drew() {
        // Same rank draw, same walk: the table only skips undefined arcs and narrows integers.
        for seed in 0..40 {
            let dfa = random_dfa(2 + seed as usize % 7, 2 + seed as usize % 5, seed);
            let max_len = 60;
            let counts = CountTable::new(&dfa, max_len).unwrap();
            let CountTable::Exact(c) = &counts else {
                continue;
            };
            let table = RankTable::new(&dfa, max_len, &counts).unwrap().unwrap();
            let n = dfa.num_states();
            for len in 0..=max_len {
                if c[len * n + dfa.start() as usize] == 0 {
                    continue;
                }
                for i in 0..5 {
                    let mut row = vec![0i32; len];
                    let mut rng = [item_rng(seed, len as u64, i)];
                    table.draw_group(&[len], &mut rng, &mut row, len);
                    let row: Vec<u32> = row.iter().map(|&x| x as u32).collect();
                    let want = unrank_plain(&dfa, c, len, &mut item_rng(seed, len as u64, i));
                    assert_eq!(row, want, "seed {seed} len {len}");
                    assert!(dfa.accepts(&row));
                }
            }
        }
    }

    #[test]
    fn lanes_in_lockstep_draw_what_single_lanes_draw() {
        let dfa = random_dfa(6, 4, 3);
        let counts = CountTable::new(&dfa, 40).unwrap();
        let table = RankTable::new(&dfa, 40, &counts).unwrap().unwrap();
        let n = dfa.num_states();
        let lens: Vec<usize> = (0..LANES)
            .map(|j| {
                (3 * j + 1..=40)
                    .find(|&l| counts.get(n, l, 0).ln() > 0.0)
                    .unwrap_or(0)
            })
            .collect();
        let mut rngs: Vec<ItemRng> = (0..LANES as u64).map(|j| item_rng(5, 6, j)).collect();
        let mut group = vec![-1i32; LANES * 40];
        table.draw_group(&lens, &mut rngs, &mut group, 40);
        for (j, &len) in lens.iter().enumerate() {
            let mut row = vec![-1i32; 40];
            table.draw_group(&[len], &mut [item_rng(5, 6, j as u64)], &mut row, 40);
            assert_eq!(row, group[j * 40..(j + 1) * 40], "lane {j}");
        }
    }

    #[test]
    fn wide_counts_give_accepted_strings_of_every_rank() {
        // {0,1}* has 2^200 strings of length 200: the rank's bits are the string's bits.
        let dfa = Dfa::new(2, vec![0, 0], vec![true], 0).unwrap();
        let counts = CountTable::new(&dfa, 200).unwrap();
        assert!(!counts.is_exact());
        let table = RankTable::new(&dfa, 200, &counts).unwrap().unwrap();
        assert!(matches!(table.ends, Ends::Wide { .. }));
        let mut ones = 0usize;
        for i in 0..200 {
            let mut row = vec![0i32; 200];
            table.draw_group(&[200], &mut [item_rng(1, 2, i)], &mut row, 200);
            ones += row.iter().filter(|&&x| x == 1).count();
        }
        // 40,000 fair bits: mean 20,000, sd 100
        assert!((ones as i64 - 20_000).abs() < 500, "{ones}");
    }

    #[test]
    fn limb_arithmetic_matches_u128() {
        let cases = [
            (0u128, 0u128),
            (u64::MAX as u128, 1),
            (1 << 100, (1 << 64) + 7),
        ];
        let limbs = |x: u128| vec![x as u64, (x >> 64) as u64, 0];
        for (a, b) in cases {
            let mut s = limbs(a);
            add_assign(&mut s, &limbs(b));
            assert_eq!(s, limbs(a + b));
            sub_assign(&mut s, &limbs(b));
            assert_eq!(s, limbs(a));
            assert_eq!(less(&limbs(a), &limbs(b)), a < b);
        }
    }
}
