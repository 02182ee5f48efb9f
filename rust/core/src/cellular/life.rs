//! Life-like cellular automata: two states, Moore neighbourhood, any B/S rule, bit-parallel.
//!
//! A grid `[H, W]` is stored as `H` packed rows of `words_for(W)` words. One generation counts
//! the eight neighbours of 64 cells at once with bit-sliced adders (four bit planes, counts
//! 0..8) and applies the rule as a multiplexer tree over (count bits, alive), so any of the
//! 2^18 B/S rules runs at the same speed; Conway's B3/S23 has its own short formula.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::bits::{gather8, pack_row, tail_mask, unpack_grid, unpack_row, words_for};
use crate::error::{ensure, KleeneError, Result};
use crate::limits::{check_elements, check_work};
use crate::pool::{resolve_threads, with_threads};

/// Largest side of a grid.
pub const MAX_SIDE: usize = 1 << 20;

/// A Life-like rule: bit `n` of `birth` (`survive`) set when a dead (live) cell with `n` live
/// neighbours is alive in the next generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifeRule {
    pub birth: u16,
    pub survive: u16,
}

impl LifeRule {
    pub const CONWAY: LifeRule = LifeRule {
        birth: 1 << 3,
        survive: (1 << 2) | (1 << 3),
    };

    /// Parses `B3/S23` notation (case-insensitive, the slash optional, e.g. `b36s23`), or the
    /// older `S/B` form `23/3`. Digits 0..8, each at most once per set.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            KleeneError::invalid(
                "rule",
                format!("{text:?} is not a Life-like rule like \"B3/S23\" ({why})"),
            )
        };
        let t = text.trim().to_ascii_uppercase();
        let (b, s) = if let Some(rest) = t.strip_prefix('B') {
            let (b, s) = rest.split_once('S').ok_or_else(|| bad("no S part"))?;
            (b.strip_suffix('/').unwrap_or(b).to_string(), s.to_string())
        } else if let Some((s, b)) = t.split_once('/') {
            (b.to_string(), s.to_string())
        } else {
            return Err(bad("expected B.../S... or S/B"));
        };
        let digits = |part: &str| -> Result<u16> {
            let mut set = 0u16;
            for ch in part.chars() {
                let d = ch
                    .to_digit(10)
                    .filter(|&d| d <= 8)
                    .ok_or_else(|| bad(&format!("{ch:?} is not a neighbour count 0-8")))?;
                if set & (1 << d) != 0 {
                    return Err(bad(&format!("{d} repeated")));
                }
                set |= 1 << d;
            }
            Ok(set)
        };
        Ok(LifeRule {
            birth: digits(&b)?,
            survive: digits(&s)?,
        })
    }

    /// Canonical notation, e.g. `B3/S23`.
    pub fn notation(&self) -> String {
        let set = |bits: u16| {
            (0..=8)
                .filter(|d| bits >> d & 1 == 1)
                .map(|d| d.to_string())
                .collect::<String>()
        };
        format!("B{}/S{}", set(self.birth), set(self.survive))
    }

    fn masks(&self) -> RuleMasks {
        let m = |bits: u16, n: usize| if bits >> n & 1 == 1 { !0u64 } else { 0 };
        let mut dead = [0u64; 10];
        let mut alive = [0u64; 10];
        for n in 0..9 {
            dead[n] = m(self.birth, n);
            alive[n + 1] = m(self.survive, n);
        }
        RuleMasks { dead, alive }
    }
}

/// The rule as all-ones / all-zeros words indexed by the 3x3 block's live count (0..=9,
/// the cell included): a dead cell with `n` live cells around sees `n`, a live one `n + 1`.
#[derive(Clone, Copy, Debug)]
struct RuleMasks {
    dead: [u64; 10],
    alive: [u64; 10],
}

#[inline(always)]
fn mux(s: u64, one: u64, zero: u64) -> u64 {
    zero ^ (s & (one ^ zero))
}

impl RuleMasks {
    /// Next state from the block count's bit planes `s0..s3` and the cell itself.
    #[inline(always)]
    fn apply(&self, s: [u64; 4], cell: u64) -> u64 {
        let v: [u64; 10] = std::array::from_fn(|n| mux(cell, self.alive[n], self.dead[n]));
        let a = mux(s[0], v[1], v[0]);
        let b = mux(s[0], v[3], v[2]);
        let c = mux(s[0], v[5], v[4]);
        let d = mux(s[0], v[7], v[6]);
        let low = mux(s[2], mux(s[1], d, c), mux(s[1], b, a));
        mux(s[3], mux(s[0], v[9], v[8]), low)
    }
}

/// Full adder on words: (sum, carry).
#[inline(always)]
fn add3(a: u64, b: u64, c: u64) -> (u64, u64) {
    let t = a ^ b;
    (t ^ c, (a & b) | (t & c))
}

/// What lies outside the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifeBoundary {
    /// Opposite edges are glued (a torus).
    Torus,
    /// Dead cells all around.
    Dead,
}

impl LifeBoundary {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "torus" | "periodic" => Ok(LifeBoundary::Torus),
            "dead" | "fixed0" => Ok(LifeBoundary::Dead),
            other => Err(KleeneError::invalid(
                "boundary",
                format!("{other:?} is not one of torus, dead"),
            )),
        }
    }
}

/// A Life-like automaton on an `[height, width]` grid.
#[derive(Clone, Copy, Debug)]
pub struct Life {
    rule: LifeRule,
    masks: RuleMasks,
    height: usize,
    width: usize,
    boundary: LifeBoundary,
}

impl Life {
    pub fn new(
        rule: LifeRule,
        height: usize,
        width: usize,
        boundary: LifeBoundary,
    ) -> Result<Self> {
        for (name, v) in [("height", height), ("width", width)] {
            ensure((1..=MAX_SIDE).contains(&v), name, || {
                format!("must be in 1..={MAX_SIDE}, got {v}")
            })?;
        }
        Ok(Life {
            rule,
            masks: rule.masks(),
            height,
            width,
            boundary,
        })
    }

    pub fn rule(&self) -> LifeRule {
        self.rule
    }

    /// Words per packed row.
    pub fn words(&self) -> usize {
        words_for(self.width)
    }

    /// Words per packed grid.
    pub fn grid_words(&self) -> usize {
        self.height * self.words()
    }

    /// One generation: `src` to `dst` (packed grids of `grid_words()` words). Allocates its
    /// scratch space; loops should call [`Life::step_with`].
    pub fn step(&self, src: &[u64], dst: &mut [u64]) {
        self.step_with(src, dst, &mut LifeScratch::default());
    }

    /// One generation using `scratch` (resized as needed) for the row sums.
    ///
    /// Two passes, both straight-line loops over words that the compiler vectorises: the
    /// horizontal 3-sum of every row as two bit planes, then for each word the 3x3 block
    /// count (row above + row + row below) and the rule.
    pub fn step_with(&self, src: &[u64], dst: &mut [u64], scratch: &mut LifeScratch) {
        let n = self.grid_words();
        scratch.ones.resize(n, 0);
        scratch.twos.resize(n, 0);
        self.horizontal_sums(src, &mut scratch.ones, &mut scratch.twos);
        if self.rule == LifeRule::CONWAY {
            self.combine(src, dst, scratch, |s, cell| {
                !s[3] & ((s[0] & s[1] & !s[2]) | (cell & s[2] & !s[1] & !s[0]))
            });
        } else {
            let masks = self.masks;
            self.combine(src, dst, scratch, move |s, cell| masks.apply(s, cell));
        }
        let (nw, mask) = (self.words(), tail_mask(self.width));
        for y in 0..self.height {
            dst[y * nw + nw - 1] &= mask;
        }
    }

    /// Per word, the count of live cells among each cell and its two horizontal neighbours,
    /// as bit planes `ones` and `twos`.
    fn horizontal_sums(&self, src: &[u64], ones: &mut [u64], twos: &mut [u64]) {
        let nw = self.words();
        let torus = self.boundary == LifeBoundary::Torus;
        let top = ((self.width - 1) % 64) as u32;
        let store = |o: &mut u64, t: &mut u64, l: u64, c: u64, r: u64| {
            let (a, b) = add3(l, c, r);
            *o = a;
            *t = b;
        };
        if nw == 1 {
            let edge = if torus { !0u64 } else { 0 };
            for ((o, t), &c) in ones.iter_mut().zip(twos.iter_mut()).zip(src) {
                let l = (c << 1) | ((c >> top) & 1 & edge);
                let r = (c >> 1) | (((c & 1) & edge) << top);
                store(o, t, l, c, r);
            }
            return;
        }
        let rows = src
            .chunks_exact(nw)
            .zip(ones.chunks_exact_mut(nw).zip(twos.chunks_exact_mut(nw)));
        for (row, (o, t)) in rows {
            let (gl, gr) = if torus {
                ((row[nw - 1] >> top) & 1, row[0] & 1)
            } else {
                (0, 0)
            };
            store(
                &mut o[0],
                &mut t[0],
                (row[0] << 1) | gl,
                row[0],
                (row[0] >> 1) | (row[1] << 63),
            );
            let inner = o[1..nw - 1]
                .iter_mut()
                .zip(t[1..nw - 1].iter_mut())
                .zip(row.windows(3));
            for ((o, t), w) in inner {
                store(
                    o,
                    t,
                    (w[1] << 1) | (w[0] >> 63),
                    w[1],
                    (w[1] >> 1) | (w[2] << 63),
                );
            }
            let c = row[nw - 1];
            store(
                &mut o[nw - 1],
                &mut t[nw - 1],
                (c << 1) | (row[nw - 2] >> 63),
                c,
                (c >> 1) | (gr << top),
            );
        }
    }

    /// Adds the row sums above, at and below each word into the block count and applies
    /// `rule(count bit planes, cells)`.
    #[inline(always)]
    fn combine(
        &self,
        src: &[u64],
        dst: &mut [u64],
        scratch: &LifeScratch,
        rule: impl Fn([u64; 4], u64) -> u64,
    ) {
        let (nw, h) = (self.words(), self.height);
        let torus = self.boundary == LifeBoundary::Torus;
        let (ones, twos) = (&scratch.ones[..], &scratch.twos[..]);
        let block = |a: (u64, u64), b: (u64, u64), c: (u64, u64), cell: u64| {
            let (s0, carry) = add3(a.0, b.0, c.0);
            let (p, q) = add3(a.1, b.1, c.1);
            let (s1, k) = (p ^ carry, p & carry);
            rule([s0, s1, q ^ k, q & k], cell)
        };
        // Interior rows: one flat loop, rows above and below are `nw` words away.
        if h > 2 {
            let n = (h - 2) * nw;
            let (ao, at) = (&ones[..n], &twos[..n]);
            let (ho, ht, cells) = (&ones[nw..nw + n], &twos[nw..nw + n], &src[nw..nw + n]);
            let (bo, bt) = (&ones[2 * nw..2 * nw + n], &twos[2 * nw..2 * nw + n]);
            let out = &mut dst[nw..nw + n];
            for i in 0..n {
                out[i] = block((ao[i], at[i]), (ho[i], ht[i]), (bo[i], bt[i]), cells[i]);
            }
        }
        // First and last rows: neighbours wrap around (torus) or are dead.
        let edges = [0, h - 1];
        let edge_rows = if h == 1 { &edges[..1] } else { &edges[..] };
        for &y in edge_rows {
            let neighbour = |r: Option<usize>, w: usize| match r {
                Some(r) => (ones[r * nw + w], twos[r * nw + w]),
                None => (0, 0),
            };
            let up = if y > 0 {
                Some(y - 1)
            } else {
                torus.then_some(h - 1)
            };
            let down = if y + 1 < h {
                Some(y + 1)
            } else {
                torus.then_some(0)
            };
            for w in 0..nw {
                let i = y * nw + w;
                dst[i] = block(
                    neighbour(up, w),
                    (ones[i], twos[i]),
                    neighbour(down, w),
                    src[i],
                );
            }
        }
    }
}

/// Reusable buffers of [`Life::step_with`].
#[derive(Clone, Debug, Default)]
pub struct LifeScratch {
    ones: Vec<u64>,
    twos: Vec<u64>,
}

/// Packs grids given as bytes `[B, H, W]` into `[B, H, words]`.
pub fn pack_grids(life: &Life, cells: &[u8]) -> Result<Vec<u64>> {
    let per = life.height * life.width;
    ensure(cells.len().is_multiple_of(per), "grid", || {
        format!(
            "must hold a multiple of height * width = {per} cells, got {}",
            cells.len()
        )
    })?;
    let count = cells.len() / per;
    let nw = life.words();
    let total = check_elements("packed grids", &[count, life.height, nw], 8)?;
    let mut out = vec![0u64; total];
    if nw == 1 && life.width.is_multiple_of(8) {
        // narrow grids: one flat loop over eight-cell groups (per-row calls dominate)
        for (word, row) in out.iter_mut().zip(cells.chunks_exact(life.width)) {
            *word = row
                .chunks_exact(8)
                .enumerate()
                .fold(0, |w, (k, eight)| w | gather8(eight) << (8 * k));
        }
    } else {
        for (dst, src) in out.chunks_mut(nw).zip(cells.chunks(life.width)) {
            pack_row(src, dst);
        }
    }
    Ok(out)
}

/// Runs every grid of `grids` (packed `[B, H, words]`) for `steps * stride` generations,
/// keeping generations `0, stride, ..., steps * stride` as bytes `[B, steps + 1, H, W]`.
pub fn run_cells(
    life: &Life,
    grids: &[u64],
    steps: usize,
    stride: usize,
    threads: Option<usize>,
) -> Result<Vec<u8>> {
    ensure(stride >= 1, "stride", || "must be >= 1".into())?;
    let (h, w, gw) = (life.height, life.width, life.grid_words());
    let count = grids.len() / gw;
    let rows = steps
        .checked_add(1)
        .ok_or_else(|| KleeneError::invalid("steps", "too large"))?;
    check_work(
        "the Life run",
        &[count as u128, steps as u128, stride as u128, gw as u128],
    )?;
    let per = check_elements("Life output", &[rows, h, w], 1)?;
    let total = check_elements("Life output", &[count, rows, h, w], 1)?;
    // Written once, frame by frame, without zeroing first: the output is most of the work.
    let mut out: Vec<u8> = Vec::with_capacity(total);
    let (nw, frame_len) = (life.words(), h * w);
    let run_grid = |row: &mut Vec<u8>, (dst, grid): (&mut [MaybeUninit<u8>], &[u64])| {
        let mut cur = grid.to_vec();
        let mut next = vec![0u64; gw];
        let mut scratch = LifeScratch::default();
        for (j, frame_out) in dst.chunks_exact_mut(frame_len.max(1)).enumerate() {
            crate::interrupt::poll()?;
            if j > 0 {
                for g in 0..stride {
                    if g % 1024 == 1023 {
                        crate::interrupt::poll()?;
                    }
                    life.step_with(&cur, &mut next, &mut scratch);
                    std::mem::swap(&mut cur, &mut next);
                }
            }
            unpack_grid(&cur, nw, w, frame_out, row);
        }
        Ok::<(), KleeneError>(())
    };
    let spare = &mut out.spare_capacity_mut()[..total];
    if resolve_threads(threads) == 1 {
        // On the calling thread, without a pool: cheapest for the small calls of one thread.
        let mut row = Vec::new();
        spare
            .chunks_mut(per.max(1))
            .zip(grids.chunks(gw))
            .try_for_each(|job| run_grid(&mut row, job))?;
    } else {
        with_threads(threads, || {
            spare
                .par_chunks_mut(per.max(1))
                .zip(grids.par_chunks(gw))
                .try_for_each_init(Vec::new, |row, job| run_grid(row, job))
        })?;
    }
    // SAFETY: the chunks cover `0..total` (`count` grids of `rows` frames of `frame_len`
    // bytes) and every frame was written above; on an error we returned before this.
    unsafe { out.set_len(total) };
    Ok(out)
}

/// Random soups: `count` grids `[height, width]` of Bernoulli(`density`) cells, grid `i`
/// drawn from `key.item_rng(start + i)`, as bytes `[count, height, width]`.
pub fn soup(
    key: crate::rng::StreamKey,
    start: u64,
    count: usize,
    height: usize,
    width: usize,
    density: f64,
) -> Result<Vec<u8>> {
    ensure((0.0..=1.0).contains(&density), "density", || {
        format!("must be in [0, 1], got {density}")
    })?;
    for (name, v) in [("height", height), ("width", width)] {
        ensure((1..=MAX_SIDE).contains(&v), name, || {
            format!("must be in 1..={MAX_SIDE}, got {v}")
        })?;
    }
    let per = check_elements("soup", &[height, width], 1)?;
    let total = check_elements("soup", &[count, height, width], 1)?;
    let mut out = vec![0u8; total];
    let mut row = vec![0u64; words_for(width)];
    for (i, grid) in out.chunks_mut(per).enumerate() {
        let mut rng = key.item_rng(start.wrapping_add(i as u64));
        for cells in grid.chunks_mut(width) {
            super::eca::fill_bernoulli(&mut row, width, density, &mut rng);
            unpack_row(&row, cells);
        }
    }
    Ok(out)
}

/// The naive per-cell reference: one generation on a byte grid (the oracle of the tests).
pub fn step_ref(
    rule: LifeRule,
    boundary: LifeBoundary,
    grid: &[u8],
    h: usize,
    w: usize,
) -> Vec<u8> {
    let at = |y: isize, x: isize| -> u32 {
        let (hi, wi) = (h as isize, w as isize);
        let (y, x) = match boundary {
            LifeBoundary::Torus => (y.rem_euclid(hi), x.rem_euclid(wi)),
            LifeBoundary::Dead if y < 0 || x < 0 || y >= hi || x >= wi => return 0,
            LifeBoundary::Dead => (y, x),
        };
        grid[y as usize * w + x as usize] as u32
    };
    let mut out = vec![0u8; h * w];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let mut n = 0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    if dy != 0 || dx != 0 {
                        n += at(y + dy, x + dx);
                    }
                }
            }
            let set = if at(y, x) == 1 {
                rule.survive
            } else {
                rule.birth
            };
            out[y as usize * w + x as usize] = (set >> n & 1) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn run(life: &Life, cells: &[u8], steps: usize) -> Vec<u8> {
        let packed = pack_grids(life, cells).unwrap();
        run_cells(life, &packed, steps, 1, Some(1)).unwrap()
    }

    #[test]
    fn parses_rules() {
        assert_eq!(LifeRule::parse("B3/S23").unwrap(), LifeRule::CONWAY);
        assert_eq!(LifeRule::parse("b3s23").unwrap(), LifeRule::CONWAY);
        assert_eq!(LifeRule::parse("23/3").unwrap(), LifeRule::CONWAY);
        assert_eq!(LifeRule::parse("B36/S23").unwrap().notation(), "B36/S23");
        assert_eq!(LifeRule::parse("B/S").unwrap().birth, 0);
        for bad in ["", "B9/S23", "B33/S2", "X3/S23", "B3", "B3/S2x"] {
            assert!(LifeRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_naive_reference_on_random_rules_and_sizes() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for case in 0..100 {
            let (h, w) = [
                (1, 1),
                (3, 5),
                (8, 63),
                (5, 64),
                (7, 65),
                (6, 130),
                (32, 32),
                (2, 70),
                (1, 130),
                (2, 2),
            ][case % 10];
            let rule = if case % 3 == 0 {
                LifeRule::CONWAY
            } else {
                LifeRule {
                    birth: rng.random_range(0..512),
                    survive: rng.random_range(0..512),
                }
            };
            let b = if (case / 10) % 2 == 0 {
                LifeBoundary::Torus
            } else {
                LifeBoundary::Dead
            };
            let life = Life::new(rule, h, w, b).unwrap();
            let grid: Vec<u8> = (0..h * w).map(|_| rng.random_range(0..2u8)).collect();
            let got = run(&life, &grid, 5);
            let mut cur = grid.clone();
            for t in 0..=5 {
                assert_eq!(
                    &got[t * h * w..(t + 1) * h * w],
                    &cur[..],
                    "{} {b:?} {h}x{w} t{t}",
                    rule.notation()
                );
                cur = step_ref(rule, b, &cur, h, w);
            }
        }
    }
}
