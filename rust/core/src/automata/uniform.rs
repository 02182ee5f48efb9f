//! Exactly uniform accepted strings of a given length.
//!
//! With `c_l(q)` the number of accepted strings of length `l` from state `q`, a uniform string
//! takes, at remaining length `l` in state `q`, the defined arc `(a, t)` with probability
//! `c_{l-1}(t) / c_l(q)`; the defined arcs in symbol order own consecutive intervals
//! `[S_s, S_{s+1})` of widths `c_{l-1}(t)` below `c_l(q)`. Two exact ways to choose:
//!
//! - **Unranking**, at the levels whose counts all fit in 64 bits (`l <= rank_levels`): one
//!   rank `r`, uniform below `c_l(q)`, is drawn once; each step takes the arc whose interval
//!   holds `r` and reduces `r` by the interval's start. No random draw per step, one 64-bit
//!   compare per arc.
//! - **Cuts**, at the levels above (counts past 64 bits, where ranks would need wide
//!   integers): each step draws 32 bits `x`, the first 32 bits of a uniform real `U`, and takes
//!   the arc whose interval `[S_s / c, S_{s+1} / c)` holds `U`. The table holds the cuts
//!   `b_s = floor(2^32 S_s / c)`; unless `x` equals a cut, `x` alone decides. When it does
//!   (probability below `degree / 2^32`), the choice is settled with exact multi-word
//!   integers: `N = x c + R`, with `R` uniform below `c`, is uniform on `[x c, (x + 1) c)`,
//!   and `U >= S_s / c` exactly when `N >= 2^32 S_s`. So every choice has probability exactly
//!   `c_{l-1}(t) / c_l(q)`, at the cost of a walk step.
//!
//! A string takes cut steps while its remaining length exceeds `rank_levels`, then draws its
//! rank and unranks the rest. A string no longer than `rank_levels` is unranked whole, with the
//! same draws as before cuts existed (same bytes for the same seed).

use rand::Rng;

use super::dfa::Dfa;
use super::sample::below;
use super::walk::{UniformArcs, LANES};
use crate::error::Result;
use crate::limits::check_elements;
use crate::rng::ItemRng;
use crate::token::TokenId;

/// Exact sampling tables of one automaton for lengths `0..=max_len`.
pub struct RankTable {
    degree: Vec<u32>,
    /// Defined arcs per state, packed `symbol << 32 | target`, `stride` slots per state.
    arcs: Vec<u64>,
    stride: usize,
    states: usize,
    start: u32,
    /// Levels `0..=rank_levels` fit in 64 bits and are unranked.
    rank_levels: usize,
    /// The arcs as `symbol << 32 | target * (stride + 1)`, `stride + 1` slots per state: the
    /// target pre-multiplied into an offset of [`RankTable::starts`]' levels.
    moves: Vec<u64>,
    /// Per (level `1..=rank_levels`, state), `stride + 1` entries: the interval starts of the
    /// arc slots (`u64::MAX` past the last defined arc), then the total `c_l(q)`.
    starts: Vec<u64>,
    /// The arcs as `symbol << 32 | target * stride`: offsets of [`RankTable::cuts`]' levels.
    hops: Vec<u64>,
    /// Per (level `0..=max_len`, state), `stride` entries: the cuts `b_1 ..` of the arc
    /// slots, `u32::MAX` past the last (used at levels above `rank_levels` only).
    cuts: Vec<u32>,
    /// Exact `c_l(q)` in `words` little-endian limbs per (level `0..=max_len`, state).
    counts: Vec<u64>,
    words: usize,
}

impl RankTable {
    /// Builds the tables, or the error saying they would exceed the memory cap (the caller
    /// then falls back to log-space sampling, or refuses when counts fit in 128 bits).
    pub fn new(dfa: &Dfa, max_len: usize) -> Result<Self> {
        let n = dfa.num_states();
        let UniformArcs {
            degree,
            arcs,
            stride,
            start,
        } = UniformArcs::new(dfa);
        check_elements("uniform sampler table", &[max_len + 1, n, stride + 1], 8)?;
        let repack = |width: usize| -> Vec<u64> {
            let mut out = vec![0u64; n * width];
            for q in 0..n {
                for slot in 0..degree[q] as usize {
                    let arc = arcs[q * stride + slot];
                    out[q * width + slot] = arc >> 32 << 32 | (arc as u32 as usize * width) as u64;
                }
            }
            out
        };
        let mut table = RankTable {
            moves: repack(stride + 1),
            hops: repack(stride),
            degree,
            arcs,
            stride,
            states: n,
            start,
            rank_levels: 0,
            starts: Vec::new(),
            cuts: Vec::new(),
            counts: Vec::new(),
            words: 2,
        };
        // widen the integers until the counts fit with one limb to spare
        loop {
            let w = table.words;
            check_elements("uniform sampler table", &[max_len + 1, n, w], 8)?;
            if let Some(counts) = table.exact_counts(dfa, max_len) {
                table.counts = counts;
                break;
            }
            table.words = 2 * w;
        }
        table.rank_levels = (0..=max_len)
            .take_while(|&l| (0..n).all(|q| table.count(l, q)[1..].iter().all(|&w| w == 0)))
            .last()
            .unwrap_or(0);
        table.starts = table.rank_starts();
        table.cuts = table.all_cuts(max_len);
        Ok(table)
    }

    /// Bytes held by the tables.
    pub fn bytes(&self) -> usize {
        8 * (self.arcs.len() + self.moves.len() + self.hops.len())
            + 8 * (self.starts.len() + self.counts.len())
            + 4 * (self.cuts.len() + self.degree.len())
    }

    /// Whether some accepted string has length `len`.
    pub fn has_strings(&self, len: usize) -> bool {
        self.count(len, self.start as usize).iter().any(|&w| w != 0)
    }

    /// `c_l(q)` in limbs.
    fn count(&self, l: usize, q: usize) -> &[u64] {
        let w = self.words;
        &self.counts[(l * self.states + q) * w..][..w]
    }

    /// The counting recurrence in exact `words`-limb integers, or `None` once a count reaches
    /// the top limb (a sum of arcs below it never carries out of the table).
    fn exact_counts(&self, dfa: &Dfa, max_len: usize) -> Option<Vec<u64>> {
        let (n, w) = (self.states, self.words);
        let mut counts = vec![0u64; (max_len + 1) * n * w];
        for (q, &a) in dfa.accepting().iter().enumerate() {
            counts[q * w] = a as u64;
        }
        for l in 1..=max_len {
            let (prev, cur) = counts.split_at_mut(l * n * w);
            let prev = &prev[(l - 1) * n * w..];
            for q in 0..n {
                let sum = &mut cur[q * w..][..w];
                for &arc in &self.arcs[q * self.stride..][..self.degree[q] as usize] {
                    let t = arc as u32 as usize;
                    add_assign(sum, &prev[t * w..][..w]);
                }
                if sum[w - 1] != 0 {
                    return None;
                }
            }
        }
        Some(counts)
    }

    /// Interval starts for the unranked levels `1..=rank_levels` (level 0 unused).
    fn rank_starts(&self) -> Vec<u64> {
        let (n, width) = (self.states, self.stride + 1);
        let mut starts = vec![u64::MAX; (self.rank_levels + 1) * n * width];
        for l in 1..=self.rank_levels {
            for q in 0..n {
                let here = &mut starts[(l * n + q) * width..][..width];
                let mut acc = 0u64;
                let arcs = &self.arcs[q * self.stride..][..self.degree[q] as usize];
                for (start, &arc) in here.iter_mut().zip(arcs) {
                    *start = acc;
                    acc += self.count(l - 1, arc as u32 as usize)[0];
                }
                here[width - 1] = acc;
            }
        }
        starts
    }

    /// Cuts for the levels above `rank_levels` (the others stay `u32::MAX`, unused).
    fn all_cuts(&self, max_len: usize) -> Vec<u32> {
        let (n, stride, w) = (self.states, self.stride, self.words);
        let mut cuts = vec![u32::MAX; (max_len + 1) * n * stride];
        let mut acc = vec![0u64; w];
        for l in self.rank_levels + 1..=max_len {
            for q in 0..n {
                let c = self.count(l, q);
                if c.iter().all(|&x| x == 0) {
                    continue; // never visited
                }
                acc.fill(0);
                let arcs = &self.arcs[q * stride..][..self.degree[q] as usize];
                let here = &mut cuts[(l * n + q) * stride..][..stride];
                for (cut, &arc) in here.iter_mut().zip(arcs.iter().take(arcs.len() - 1)) {
                    add_assign(&mut acc, self.count(l - 1, arc as u32 as usize));
                    *cut = cut_of(&acc, c);
                }
            }
        }
        cuts
    }

    /// Writes uniform accepted strings of lengths `lens` (each has at least one) into the rows
    /// of `rows` (`lens.len() <= LANES` rows of `width`), lane `j` drawing from `rngs[j]`. The
    /// lanes step in lockstep so that their dependent table lookups overlap; each lane draws
    /// only from its own generator, so grouping does not change any row.
    pub fn draw_group<T: TokenId>(
        &self,
        lens: &[usize],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
    ) {
        // the common strides as constants, so that the per-arc loops unroll
        match self.stride {
            1 => self.draw_strided::<1, T>(lens, rngs, rows, width),
            2 => self.draw_strided::<2, T>(lens, rngs, rows, width),
            3 => self.draw_strided::<3, T>(lens, rngs, rows, width),
            4 => self.draw_strided::<4, T>(lens, rngs, rows, width),
            5 => self.draw_strided::<5, T>(lens, rngs, rows, width),
            6 => self.draw_strided::<6, T>(lens, rngs, rows, width),
            7 => self.draw_strided::<7, T>(lens, rngs, rows, width),
            8 => self.draw_strided::<8, T>(lens, rngs, rows, width),
            _ => self.draw_strided::<0, T>(lens, rngs, rows, width),
        }
    }

    /// [`RankTable::draw_group`] for stride `S` (`0`: any stride, read at run time).
    fn draw_strided<const S: usize, T: TokenId>(
        &self,
        lens: &[usize],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
    ) {
        let lanes = lens.len();
        debug_assert!(lanes <= LANES);
        let mut q = [self.start as usize; LANES];
        self.cut_steps::<S, T>(lens, rngs, rows, width, &mut q);
        let mut left = [0usize; LANES];
        for j in 0..lanes {
            left[j] = lens[j].min(self.rank_levels);
        }
        self.unrank::<S, T>(&left[..lanes], &q, rngs, rows, width, lens);
    }

    /// The cut steps of every lane whose remaining length exceeds `rank_levels`; leaves each
    /// lane's state in `q`.
    fn cut_steps<const S: usize, T: TokenId>(
        &self,
        lens: &[usize],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
        q: &mut [usize; LANES],
    ) {
        let stride = if S > 0 { S } else { self.stride };
        let level = self.states * stride;
        let steps = lens
            .iter()
            .max()
            .map_or(0, |&m| m.saturating_sub(self.rank_levels));
        if steps == 0 {
            return;
        }
        let mut here = [self.start as usize * stride; LANES]; // state offset within a level
        let mut bits = [0u64; LANES];
        for t in 0..steps {
            let even = t % 2 == 0;
            for (j, &len) in lens.iter().enumerate() {
                if len <= t + self.rank_levels {
                    continue;
                }
                if even {
                    bits[j] = rngs[j].next_u64();
                }
                let x = if even {
                    bits[j] as u32
                } else {
                    (bits[j] >> 32) as u32
                };
                let l = len - t;
                let cuts = &self.cuts[l * level + here[j]..][..stride - 1];
                let mut slot: usize = cuts.iter().map(|&b| (x >= b) as usize).sum();
                if cuts.contains(&x) {
                    slot = self.settle(l, here[j] / stride, x, &mut rngs[j]);
                }
                let hop = self.hops[here[j] + slot];
                rows[j * width + t] = T::from_id((hop >> 32) as u32);
                here[j] = hop as u32 as usize;
            }
        }
        for (j, &len) in lens.iter().enumerate() {
            if len > self.rank_levels {
                q[j] = here[j] / stride;
            }
        }
    }

    /// The exact choice at remaining length `l` in state `q` when the 32 bits `x` equal a
    /// cut: the slot count of `2^32 S_s <= x c + R`, `R` uniform below `c`.
    #[cold]
    fn settle(&self, l: usize, q: usize, x: u32, rng: &mut ItemRng) -> usize {
        let c = self.count(l, q);
        let mut n = mul_small(c, x as u64);
        add_assign(&mut n, &wide_below(rng, c));
        let arcs = &self.arcs[q * self.stride..][..self.degree[q] as usize];
        exact_slot(
            arcs.iter()
                .map(|&arc| self.count(l - 1, arc as u32 as usize)),
            &n,
        )
    }

    /// Unranks the last `left[j]` symbols of lane `j` (row length `lens[j]`) from state
    /// `q[j]`, after drawing the lane's rank.
    fn unrank<const S: usize, T: TokenId>(
        &self,
        left: &[usize],
        q: &[usize; LANES],
        rngs: &mut [ItemRng],
        rows: &mut [T],
        width: usize,
        lens: &[usize],
    ) {
        let stride = if S > 0 { S } else { self.stride };
        let level = self.states * (stride + 1);
        let mut r = [0u64; LANES];
        let mut here = [0usize; LANES];
        for (j, (&l, rng)) in left.iter().zip(rngs.iter_mut()).enumerate() {
            here[j] = q[j] * (stride + 1);
            // the empty string's rank is drawn too, as the plain unranking did
            let total = if l == 0 {
                1
            } else {
                self.starts[l * level + here[j] + stride]
            };
            r[j] = below(rng, total);
        }
        let steps = left.iter().copied().max().unwrap_or(0);
        for t in 0..steps {
            for (j, &l) in left.iter().enumerate() {
                if t >= l {
                    continue;
                }
                let starts = &self.starts[(l - t) * level + here[j]..][..stride];
                // Branch-free: the slot is the number of later starts at or below the rank.
                let slot: usize = starts[1..].iter().map(|&s| (r[j] >= s) as usize).sum();
                r[j] -= starts[slot];
                let mv = self.moves[here[j] + slot];
                rows[j * width + lens[j] - l + t] = T::from_id((mv >> 32) as u32);
                here[j] = mv as u32 as usize;
            }
        }
    }
}

/// The slot whose interval holds `n / 2^32` for intervals of the given widths (in limbs):
/// the number of interval starts `S_s`, `s >= 1`, with `2^32 S_s <= n`.
fn exact_slot<'a>(widths: impl Iterator<Item = &'a [u64]>, n: &[u64]) -> usize {
    let mut acc = vec![0u64; n.len()];
    let mut slot = 0;
    let mut widths = widths.peekable();
    while let Some(w) = widths.next() {
        if widths.peek().is_none() {
            break; // no start after the last interval
        }
        add_assign(&mut acc, w);
        if !less(n, &shl32(&acc)) {
            slot += 1;
        }
    }
    slot
}

/// `floor(2^32 s / c)` for `0 <= s <= c`, `c > 0`, saturated to `u32::MAX` (a cut equal to
/// `u32::MAX` sends that one `x` to the exact path, which is always right).
fn cut_of(s: &[u64], c: &[u64]) -> u32 {
    let top = c.iter().rposition(|&w| w != 0).expect("a positive count");
    let lead = |a: &[u64]| {
        (top.saturating_sub(2)..=top)
            .rev()
            .fold(0.0f64, |v, i| v * 18446744073709551616.0 + a[i] as f64)
    };
    // The top three limbs in f64 put the estimate within 2^-17 of 2^32 s / c (a few roundings
    // of relative size 2^-53, truncation below 2^-127): its floor is exact unless it lies
    // near an integer, where the limbs settle it.
    let v = (lead(s) / lead(c)) * 4294967296.0;
    let frac = v - v.floor();
    if (1e-3..1.0 - 1e-3).contains(&frac) {
        return (v.floor() as u64).min(u32::MAX as u64) as u32;
    }
    let mut b = v.round().clamp(0.0, 4294967296.0) as u64;
    while b > 0 && scaled_below_product(s, c, b) {
        b -= 1;
    }
    while b < 1 << 32 && !scaled_below_product(s, c, b + 1) {
        b += 1;
    }
    b.min(u32::MAX as u64) as u32
}

/// `2^32 s < c m` for limbs `s`, `c` of equal length and `m <= 2^32 + 1`, in one pass
/// without allocating: the borrow out of `2^32 s - c m`, limb by limb.
fn scaled_below_product(s: &[u64], c: &[u64], m: u64) -> bool {
    let (mut carry, mut borrow) = (0u128, false);
    for i in 0..=s.len() {
        let high = s.get(i).map_or(0, |&x| x << 32);
        let low = if i > 0 { s[i - 1] >> 32 } else { 0 };
        let p = c.get(i).map_or(0, |&x| x as u128 * m as u128) + carry;
        carry = p >> 64;
        let (d, b1) = (high | low).overflowing_sub(p as u64);
        let (_, b2) = d.overflowing_sub(borrow as u64);
        borrow = b1 || b2;
    }
    debug_assert_eq!(carry, 0);
    borrow // a borrow out of the top limb: the difference is negative
}

/// `a * m` in one more limb than `a`.
fn mul_small(a: &[u64], m: u64) -> Vec<u64> {
    let mut out = vec![0u64; a.len() + 1];
    let mut carry = 0u128;
    for (o, &x) in out.iter_mut().zip(a) {
        let p = x as u128 * m as u128 + carry;
        *o = p as u64;
        carry = p >> 64;
    }
    out[a.len()] = carry as u64;
    out
}

/// `a * 2^32` in one more limb than `a`.
fn shl32(a: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; a.len() + 1];
    for (i, &x) in a.iter().enumerate() {
        out[i] |= x << 32;
        out[i + 1] = x >> 32;
    }
    out
}

/// `a += b` on little-endian limbs, `b` no longer than `a` (the caller sizes `a` so that
/// nothing carries out).
fn add_assign(a: &mut [u64], b: &[u64]) {
    let mut carry = false;
    for (i, x) in a.iter_mut().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        if i >= b.len() && !carry {
            break;
        }
        let (s, c1) = x.overflowing_add(y);
        let (s, c2) = s.overflowing_add(carry as u64);
        *x = s;
        carry = c1 || c2;
    }
}

/// `a < b` on little-endian limbs (either may be longer; missing limbs are zero).
fn less(a: &[u64], b: &[u64]) -> bool {
    let len = a.len().max(b.len());
    for i in (0..len).rev() {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x < y;
        }
    }
    false
}

/// A uniform draw below `n > 0` (limbs), by rejection on the bits of `n`.
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
    use crate::automata::count::CountTable;
    use crate::automata::dfa::NONE;
    use crate::rng::item_rng;

    /// The plain unranking the rank levels replace, as the oracle: one `u128` rank, then a
    /// scan over the whole alphabet row at every step.
    fn unrank_plain(dfa: &Dfa, c: &[u128], len: usize, rng: &mut ItemRng) -> Vec<u32> {
        let n = dfa.num_states();
        let total = c[len * n + dfa.start() as usize];
        let (mut q, mut r) = (dfa.start(), below(rng, total as u64) as u128);
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

    /// Strings over {a, b, c} without "cc": about 2.73^l of each length.
    fn no_cc() -> Dfa {
        Dfa::new(3, vec![0, 0, 1, 0, 0, NONE], vec![true, true], 0).unwrap()
    }

    fn draw(table: &RankTable, len: usize, seed: u64, i: u64) -> Vec<u32> {
        let mut row = vec![0i32; len];
        table.draw_group(&[len], &mut [item_rng(seed, len as u64, i)], &mut row, len);
        row.iter().map(|&x| x as u32).collect()
    }

    #[test]
    fn rank_levels_draw_what_the_plain_unranking_drew() {
        // Same rank draw, same walk: the table only skips undefined arcs and narrows integers.
        let mut checked = 0;
        for seed in 0..40 {
            let dfa = random_dfa(2 + seed as usize % 7, 2 + seed as usize % 5, seed);
            let max_len = 60;
            let counts = CountTable::new(&dfa, max_len).unwrap();
            let CountTable::Exact(c) = &counts else {
                continue;
            };
            let table = RankTable::new(&dfa, max_len).unwrap();
            let n = dfa.num_states();
            for len in 0..=table.rank_levels {
                if c[len * n + dfa.start() as usize] == 0 {
                    continue;
                }
                for i in 0..5 {
                    let row = draw(&table, len, seed, i);
                    let want = unrank_plain(&dfa, c, len, &mut item_rng(seed, len as u64, i));
                    assert_eq!(row, want, "seed {seed} len {len}");
                    assert!(dfa.accepts(&row));
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn cut_levels_give_accepted_strings() {
        for seed in 0..20 {
            let dfa = random_dfa(3 + seed as usize % 6, 3 + seed as usize % 6, seed);
            let counts = CountTable::new(&dfa, 150).unwrap();
            let table = RankTable::new(&dfa, 150).unwrap();
            let n = dfa.num_states();
            for len in (table.rank_levels + 1..=150).step_by(7) {
                if counts.get(n, len, dfa.start()).is_zero() {
                    continue;
                }
                for i in 0..3 {
                    assert!(dfa.accepts(&draw(&table, len, seed, i)), "seed {seed}");
                }
            }
        }
    }

    #[test]
    fn cut_levels_follow_the_exact_law() {
        // No "cc" at length 60: counts pass 2^64 at length 45, so the first 16 symbols come from
        // cuts. First-symbol frequencies against the exact u128 probabilities.
        let (dfa, len, draws) = (no_cc(), 60, 40_000);
        let counts = CountTable::new(&dfa, len).unwrap();
        let CountTable::Exact(c) = &counts else {
            panic!("fits in u128")
        };
        let table = RankTable::new(&dfa, len).unwrap();
        assert!(table.rank_levels < len - 10, "{}", table.rank_levels);
        let mut seen = [[0u32; 3]; 2]; // [first symbol, second symbol given first is c]
        for i in 0..draws {
            let row = draw(&table, len, 3, i);
            assert!(dfa.accepts(&row));
            seen[0][row[0] as usize] += 1;
            if row[0] == 2 {
                seen[1][row[1] as usize] += 1;
            }
        }
        let (total, after_a, after_c) = (c[len * 2] as f64, c[(len - 1) * 2], c[(len - 1) * 2 + 1]);
        let expect = [
            after_a as f64 / total,
            after_a as f64 / total,
            after_c as f64 / total,
        ];
        for a in 0..3 {
            let (p, k) = (expect[a], seen[0][a] as f64);
            let z = (k - p * draws as f64) / (p * (1.0 - p) * draws as f64).sqrt();
            assert!(z.abs() < 5.0, "symbol {a}: z = {z}, seen {seen:?}");
        }
        assert_eq!(seen[1][2], 0);
    }

    #[test]
    fn cuts_and_ties_give_each_slot_its_exact_share() {
        // Over all 2^32 values of x and every R below c, slot s must be reached by exactly
        // 2^32 * width_s pairs (x, R): count the x that decide alone in closed form and
        // enumerate R for the x that equal a cut.
        for widths in [
            vec![3u64, 0, 5, 2],
            vec![1, 1, 1],
            vec![0, 7, 0],
            vec![2, 998, 1],
        ] {
            let c: u64 = widths.iter().sum();
            let mut starts = vec![0u64];
            for &w in &widths[..widths.len() - 1] {
                starts.push(starts.last().unwrap() + w);
            }
            let cuts: Vec<u64> = starts[1..]
                .iter()
                .map(|&s| cut_of(&[s, 0], &[c, 0]) as u64)
                .collect();
            for (&s, &b) in starts[1..].iter().zip(&cuts) {
                assert_eq!(
                    b,
                    (((s as u128) << 32) / c as u128).min(u32::MAX as u128) as u64
                );
            }
            let mut tied: Vec<u64> = cuts.clone();
            tied.dedup();
            let mut reached = vec![0u128; widths.len()];
            let bounds: Vec<u64> = std::iter::once(0)
                .chain(cuts.iter().copied())
                .chain([1 << 32])
                .collect();
            for s in 0..widths.len() {
                let (lo, hi) = (bounds[s], bounds[s + 1].max(bounds[s]));
                let ties = tied.iter().filter(|&&v| lo <= v && v < hi).count() as u64;
                reached[s] += ((hi - lo - ties) * c) as u128;
            }
            let width_limbs: Vec<[u64; 1]> = widths.iter().map(|&w| [w]).collect();
            for &x in &tied {
                for r in 0..c {
                    let n = (x as u128 * c as u128 + r as u128) as u64;
                    let n = [n, ((x as u128 * c as u128 + r as u128) >> 64) as u64];
                    reached[exact_slot(width_limbs.iter().map(|w| &w[..]), &n)] += 1;
                }
            }
            let want: Vec<u128> = widths.iter().map(|&w| (w as u128) << 32).collect();
            assert_eq!(reached, want, "widths {widths:?}");
        }
    }

    #[test]
    fn multi_word_cuts_and_slots_match_u128() {
        let limbs = |x: u128| vec![x as u64, (x >> 64) as u64];
        // ratios on and next to integers take the exact path
        let c = (1u128 << 93) + 12345;
        for s in [0, 1, c / 2, c / 3, c - 1, c, 1 << 92] {
            let want = ((s << 32) / c).min(u32::MAX as u128) as u32;
            assert_eq!(cut_of(&limbs(s), &limbs(c)), want, "{s}");
        }
        let mut rng = item_rng(8, 8, 8);
        for _ in 0..2000 {
            let c = (rng.next_u64() as u128) << 30 | rng.next_u64() as u128 | 1; // < 2^94
            let s = ((rng.next_u64() as u128) << 64 | rng.next_u64() as u128) % (c + 1);
            let want = ((s << 32) / c).min(u32::MAX as u128) as u32;
            assert_eq!(cut_of(&limbs(s), &limbs(c)), want);
            let x = rng.next_u64() as u32 as u128;
            let r = (rng.next_u64() as u128) % c;
            let n = x * c + r; // < 2^126
            let widths = [limbs(s), limbs(c - s)];
            let slot = exact_slot(widths.iter().map(|w| &w[..]), &limbs(n));
            assert_eq!(slot, (n >= s << 32) as usize);
        }
    }

    #[test]
    fn lanes_in_lockstep_draw_what_single_lanes_draw() {
        // lengths on both sides of the rank levels, so that cut lanes and rank lanes mix
        let dfa = no_cc();
        let table = RankTable::new(&dfa, 80).unwrap();
        let lens: Vec<usize> = (0..LANES).map(|j| 10 * j + 3).collect();
        assert!(lens[0] < table.rank_levels && lens[LANES - 1] > table.rank_levels);
        let mut rngs: Vec<ItemRng> = (0..LANES as u64).map(|j| item_rng(5, 6, j)).collect();
        let mut group = vec![-1i32; LANES * 80];
        table.draw_group(&lens, &mut rngs, &mut group, 80);
        for (j, &len) in lens.iter().enumerate() {
            let mut row = vec![-1i32; 80];
            table.draw_group(&[len], &mut [item_rng(5, 6, j as u64)], &mut row, 80);
            assert_eq!(row, group[j * 80..(j + 1) * 80], "lane {j}");
        }
    }

    #[test]
    fn wide_counts_give_accepted_strings_of_every_rank() {
        // {0,1}* has 2^200 strings of length 200: every symbol is a fair bit.
        let dfa = Dfa::new(2, vec![0, 0], vec![true], 0).unwrap();
        let counts = CountTable::new(&dfa, 200).unwrap();
        assert!(!counts.is_exact());
        let table = RankTable::new(&dfa, 200).unwrap();
        assert_eq!(table.rank_levels, 63);
        let mut ones = 0usize;
        for i in 0..200 {
            ones += draw(&table, 200, 1, i).iter().filter(|&&x| x == 1).count();
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
            (u64::MAX as u128 * 3, 1 << 90),
        ];
        let limbs = |x: u128| vec![x as u64, (x >> 64) as u64, 0];
        for (a, b) in cases {
            let mut s = limbs(a);
            add_assign(&mut s, &limbs(b));
            assert_eq!(s, limbs(a + b));
            assert_eq!(less(&limbs(a), &limbs(b)), a < b);
            assert_eq!(less(&limbs(a)[..2], &limbs(b)), a < b);
            let small = b as u64 >> 32;
            assert_eq!(
                mul_small(&limbs(a)[..2], small)[..2],
                limbs(a * small as u128)[..2]
            );
            if a < 1 << 96 {
                assert_eq!(shl32(&limbs(a)[..2])[..2], limbs(a << 32)[..2]);
            }
        }
    }
}
