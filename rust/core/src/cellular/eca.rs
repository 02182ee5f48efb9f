//! Elementary cellular automata (Wolfram's 256 rules), bit-sliced on `u64` words.
//!
//! Wolfram code: `new[i] = (rule >> (4 l + 2 c + r)) & 1` with `(l, c, r)` the cells
//! `i - 1, i, i + 1`. The rule is a 3-input boolean function; for each rule a specialised
//! step function (a const-generic instance) evaluates it on whole words as a multiplexer tree
//! that the compiler folds to a short formula, so one generation costs a few instructions per
//! 64 cells.
//!
//! Boundaries give the two cells outside the row: periodic (ring), fixed 0, fixed 1, and
//! reflective (a mirror at each edge: cell `-1` is cell `0` and cell `W` is cell `W - 1`).

use rand::Rng;
use rayon::prelude::*;

use super::bits::{extract_bits, get_bit, pack_row, tail_mask, unpack_row, words_for};
use crate::error::{ensure, KleeneError, Result};
use crate::limits::{check_elements, check_work};
use crate::pool::with_threads;
use crate::rng::StreamKey;

/// Widest row accepted (cells).
pub const MAX_WIDTH: usize = 1 << 30;

/// What lies beyond the two ends of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// A ring: cell `-1` is cell `W - 1`, cell `W` is cell `0`.
    Periodic,
    /// Dead cells outside.
    Fixed0,
    /// Live cells outside.
    Fixed1,
    /// Mirror at each edge: cell `-1` is cell `0`, cell `W` is cell `W - 1`.
    Reflective,
}

impl Boundary {
    /// Parses `periodic`, `fixed0`, `fixed1` or `reflective`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "periodic" => Boundary::Periodic,
            "fixed0" => Boundary::Fixed0,
            "fixed1" => Boundary::Fixed1,
            "reflective" => Boundary::Reflective,
            other => {
                return Err(KleeneError::invalid(
                    "boundary",
                    format!("{other:?} is not one of periodic, fixed0, fixed1, reflective"),
                ))
            }
        })
    }

    /// The values of cells `-1` and `W` for the row `row` of `width` cells.
    #[inline]
    fn ghosts(self, row: &[u64], width: usize) -> (u64, u64) {
        match self {
            Boundary::Periodic => (get_bit(row, width - 1), get_bit(row, 0)),
            Boundary::Fixed0 => (0, 0),
            Boundary::Fixed1 => (1, 1),
            Boundary::Reflective => (get_bit(row, 0), get_bit(row, width - 1)),
        }
    }
}

/// All-ones if bit `k` of `RULE` is set.
#[inline(always)]
const fn rule_bit<const RULE: u8>(k: u32) -> u64 {
    if (RULE >> k) & 1 == 1 {
        !0
    } else {
        0
    }
}

/// Bitwise multiplexer: `one` where `s` is set, `zero` elsewhere.
#[inline(always)]
fn mux(s: u64, one: u64, zero: u64) -> u64 {
    zero ^ (s & (one ^ zero))
}

/// The rule applied to 64 cells at once: `l`, `c`, `r` hold each cell's left neighbour,
/// itself and its right neighbour.
#[inline(always)]
fn apply<const RULE: u8>(l: u64, c: u64, r: u64) -> u64 {
    let b = rule_bit::<RULE>;
    let c00 = mux(r, b(1), b(0));
    let c01 = mux(r, b(3), b(2));
    let c10 = mux(r, b(5), b(4));
    let c11 = mux(r, b(7), b(6));
    mux(l, mux(c, c11, c10), mux(c, c01, c00))
}

type StepFn = fn(&[u64], &mut [u64], u64, u64, usize);

/// One generation of `RULE` on a packed row; `gl`, `gr` are cells `-1` and `width`.
fn step_rule<const RULE: u8>(src: &[u64], dst: &mut [u64], gl: u64, gr: u64, width: usize) {
    let n = src.len();
    let top = (width - 1) % 64; // position of the last cell in the last word
    let mask = tail_mask(width);
    if n == 1 {
        let c = src[0];
        dst[0] = apply::<RULE>((c << 1) | gl, c, (c >> 1) | (gr << top)) & mask;
        return;
    }
    let c = src[0];
    dst[0] = apply::<RULE>((c << 1) | gl, c, (c >> 1) | (src[1] << 63));
    for (out, w) in dst[1..n - 1].iter_mut().zip(src.windows(3)) {
        let c = w[1];
        *out = apply::<RULE>((c << 1) | (w[0] >> 63), c, (c >> 1) | (w[2] << 63));
    }
    let c = src[n - 1];
    dst[n - 1] = apply::<RULE>((c << 1) | (src[n - 2] >> 63), c, (c >> 1) | (gr << top)) & mask;
}

macro_rules! step_table {
    ($($n:literal)*) => { [$(step_rule::<$n> as StepFn),*] };
}

static STEP_TABLE: [StepFn; 256] = step_table!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128 129 130 131 132 133 134 135 136 137 138 139 140 141 142 143 144 145 146 147 148 149 150 151 152 153 154 155 156 157 158 159 160 161 162 163 164 165 166 167 168 169 170 171 172 173 174 175 176 177 178 179 180 181 182 183 184 185 186 187 188 189 190 191 192 193 194 195 196 197 198 199 200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 215 216 217 218 219 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255);

/// An elementary CA: rule, width and boundary.
#[derive(Clone, Copy, Debug)]
pub struct Eca {
    rule: u8,
    width: usize,
    boundary: Boundary,
    step_fn: StepFn,
}

impl Eca {
    /// Validates and builds; `rule` in 0..=255, `width` in 1..=[`MAX_WIDTH`].
    pub fn new(rule: u32, width: usize, boundary: Boundary) -> Result<Self> {
        ensure(rule <= 255, "rule", || {
            format!("must be in 0..=255, got {rule}")
        })?;
        ensure((1..=MAX_WIDTH).contains(&width), "width", || {
            format!("must be in 1..={MAX_WIDTH}, got {width}")
        })?;
        Ok(Eca {
            rule: rule as u8,
            width,
            boundary,
            step_fn: STEP_TABLE[rule as usize],
        })
    }

    pub fn rule(&self) -> u8 {
        self.rule
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// Words per packed row.
    pub fn words(&self) -> usize {
        words_for(self.width)
    }

    /// One generation: `src` to `dst` (both `self.words()` long).
    #[inline]
    pub fn step(&self, src: &[u64], dst: &mut [u64]) {
        let (gl, gr) = self.boundary.ghosts(src, self.width);
        (self.step_fn)(src, dst, gl, gr, self.width);
    }

    /// Advances `row` by `n` generations, using `scratch` (same length) as the other buffer.
    pub fn advance(&self, row: &mut [u64], scratch: &mut [u64], n: usize) {
        for _ in 0..n / 2 {
            self.step(row, scratch);
            self.step(scratch, row);
        }
        if n % 2 == 1 {
            self.step(row, scratch);
            row.copy_from_slice(scratch);
        }
    }
}

/// Which generations and columns a run keeps: rows at times `t0 + j * stride` for
/// `j = 0..=steps`, columns `col0 .. col0 + cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub steps: usize,
    pub stride: usize,
    pub t0: usize,
    pub col0: usize,
    pub cols: usize,
}

impl Window {
    /// The whole row, every generation from 0 to `steps`.
    pub fn full(steps: usize, width: usize) -> Self {
        Window {
            steps,
            stride: 1,
            t0: 0,
            col0: 0,
            cols: width,
        }
    }

    /// Number of rows kept (`steps + 1`).
    pub fn rows(&self) -> usize {
        self.steps + 1
    }

    /// Checks the window against a row width; limits the simulated time to 2^40 generations.
    pub fn validate(&self, width: usize) -> Result<()> {
        ensure(self.stride >= 1, "stride", || "must be >= 1".into())?;
        ensure(self.cols >= 1, "crop", || {
            "the crop must keep at least one column".into()
        })?;
        ensure(
            self.col0.checked_add(self.cols).is_some_and(|e| e <= width),
            "crop",
            || {
                format!(
                    "columns {}..{} do not fit in width {width}",
                    self.col0,
                    self.col0.saturating_add(self.cols)
                )
            },
        )?;
        let last = (self.steps as u128) * (self.stride as u128) + self.t0 as u128;
        ensure(last <= 1u128 << 40, "steps", || {
            format!("t0 + steps * stride must be at most 2^40 generations, got {last}")
        })?;
        Ok(())
    }
}

/// How the initial rows of a batch are made.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// One live cell at column `width / 2`.
    Single,
    /// Each cell alive with probability `p`, item `i` drawn from `key.item_rng(start + i)`.
    Bernoulli { p: f64, key: StreamKey, start: u64 },
    /// Explicit cells, `[B, W]` bytes (non-zero = alive).
    Explicit(Vec<u8>),
}

/// The packed initial rows `[count, words]`.
pub fn initial_rows(init: &Init, count: usize, width: usize) -> Result<Vec<u64>> {
    let nw = words_for(width);
    let total = check_elements("initial rows", &[count, nw], 8)?;
    let mut rows = vec![0u64; total];
    match init {
        Init::Single => {
            for row in rows.chunks_mut(nw) {
                row[(width / 2) / 64] |= 1u64 << ((width / 2) % 64);
            }
        }
        Init::Bernoulli { p, key, start } => {
            ensure((0.0..=1.0).contains(p), "density", || {
                format!("must be in [0, 1], got {p}")
            })?;
            for (i, row) in rows.chunks_mut(nw).enumerate() {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                fill_bernoulli(row, width, *p, &mut rng);
            }
        }
        Init::Explicit(cells) => {
            ensure(cells.len() == count * width, "init", || {
                format!(
                    "must hold count * width = {} cells, got {}",
                    count * width,
                    cells.len()
                )
            })?;
            for (row, c) in rows.chunks_mut(nw).zip(cells.chunks(width)) {
                pack_row(c, row);
            }
        }
    }
    Ok(rows)
}

/// Fills a packed row of `width` cells with Bernoulli(`p`) cells: a cell is alive when a
/// 32-bit uniform draw is below `round(p * 2^32)`; for p = 1/2 the bits of 64-bit draws.
pub fn fill_bernoulli(row: &mut [u64], width: usize, p: f64, rng: &mut impl Rng) {
    if p == 0.5 {
        for w in row.iter_mut() {
            *w = rng.next_u64();
        }
    } else {
        let threshold = (p * 4_294_967_296.0).round() as u64;
        for (k, w) in row.iter_mut().enumerate() {
            let cells = (width - 64 * k).min(64);
            let mut v = 0u64;
            for i in 0..cells {
                v |= (((rng.next_u32() as u64) < threshold) as u64) << i;
            }
            *w = v;
        }
    }
    if let Some(last) = row.last_mut() {
        *last &= tail_mask(width);
    }
}

/// Generations advanced between two interrupt polls.
const POLL_EVERY: usize = 1 << 12;

/// Advances `n` generations, polling for an interrupt every [`POLL_EVERY`].
fn advance_polled(eca: &Eca, row: &mut [u64], scratch: &mut [u64], n: usize) -> Result<()> {
    let mut left = n;
    while left > 0 {
        crate::interrupt::poll()?;
        let now = left.min(POLL_EVERY);
        eca.advance(row, scratch, now);
        left -= now;
    }
    Ok(())
}

/// Runs one trajectory from a packed row and hands each kept row (packed, full width) to
/// `keep(j, row)`.
fn trajectory(
    eca: &Eca,
    window: &Window,
    init: &[u64],
    mut keep: impl FnMut(usize, &[u64]),
) -> Result<()> {
    let mut row = init.to_vec();
    let mut scratch = vec![0u64; row.len()];
    advance_polled(eca, &mut row, &mut scratch, window.t0)?;
    keep(0, &row);
    for j in 1..=window.steps {
        advance_polled(eca, &mut row, &mut scratch, window.stride)?;
        keep(j, &row);
    }
    Ok(())
}

/// Refuses runs longer than `KLEENE_MAX_WORK` word updates.
fn check_run_work(window: &Window, count: usize, words: usize) -> Result<()> {
    let generations = window.steps as u128 * window.stride as u128 + window.t0 as u128;
    check_work("the ECA run", &[count as u128, generations, words as u128])
}

/// Runs a batch of trajectories (`inits` packed `[B, words]`) and returns the kept cells as
/// bytes `[B, steps + 1, cols]`. Trajectories run in parallel; the result does not depend on
/// `threads`.
pub fn run_cells(
    eca: &Eca,
    window: &Window,
    inits: &[u64],
    threads: Option<usize>,
) -> Result<Vec<u8>> {
    window.validate(eca.width)?;
    let nw = eca.words();
    let count = inits.len() / nw;
    check_run_work(window, count, nw)?;
    let per = check_elements("ECA output", &[window.rows(), window.cols], 1)?;
    let total = check_elements("ECA output", &[count, window.rows(), window.cols], 1)?;
    let mut out = vec![0u8; total];
    let aligned = window.col0 == 0;
    with_threads(threads, || {
        out.par_chunks_mut(per.max(1))
            .zip(inits.par_chunks(nw))
            .try_for_each(|(dst, init)| {
                let mut crop = vec![0u64; words_for(window.cols)];
                trajectory(eca, window, init, |j, row| {
                    let cells = &mut dst[j * window.cols..(j + 1) * window.cols];
                    if aligned {
                        unpack_row(row, cells);
                    } else {
                        extract_bits(row, window.col0, window.cols, &mut crop);
                        unpack_row(&crop, cells);
                    }
                })
            })
    })?;
    Ok(out)
}

/// Like [`run_cells`] but keeps packed rows: `[B, steps + 1, words_for(cols)]` words.
pub fn run_packed(
    eca: &Eca,
    window: &Window,
    inits: &[u64],
    threads: Option<usize>,
) -> Result<Vec<u64>> {
    window.validate(eca.width)?;
    let nw = eca.words();
    let count = inits.len() / nw;
    check_run_work(window, count, nw)?;
    let cw = words_for(window.cols);
    let per = check_elements("ECA output", &[window.rows(), cw], 8)?;
    let total = check_elements("ECA output", &[count, window.rows(), cw], 8)?;
    let mut out = vec![0u64; total];
    with_threads(threads, || {
        out.par_chunks_mut(per.max(1))
            .zip(inits.par_chunks(nw))
            .try_for_each(|(dst, init)| {
                trajectory(eca, window, init, |j, row| {
                    extract_bits(
                        row,
                        window.col0,
                        window.cols,
                        &mut dst[j * cw..(j + 1) * cw],
                    );
                })
            })
    })?;
    Ok(out)
}

/// The naive per-cell reference: one generation on a byte row (the oracle of the tests).
pub fn step_ref(rule: u8, boundary: Boundary, row: &[u8]) -> Vec<u8> {
    let w = row.len();
    let cell = |i: isize| -> u8 {
        if i >= 0 && (i as usize) < w {
            return row[i as usize];
        }
        match boundary {
            Boundary::Periodic => row[i.rem_euclid(w as isize) as usize],
            Boundary::Fixed0 => 0,
            Boundary::Fixed1 => 1,
            Boundary::Reflective => row[if i < 0 { 0 } else { w - 1 }],
        }
    };
    (0..w as isize)
        .map(|i| {
            let k = 4 * cell(i - 1) + 2 * cell(i) + cell(i + 1);
            (rule >> k) & 1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn run_bytes(rule: u32, b: Boundary, init: &[u8], steps: usize) -> Vec<u8> {
        let eca = Eca::new(rule, init.len(), b).unwrap();
        let rows = initial_rows(&Init::Explicit(init.to_vec()), 1, init.len()).unwrap();
        run_cells(&eca, &Window::full(steps, init.len()), &rows, Some(1)).unwrap()
    }

    #[test]
    fn matches_naive_reference_on_random_rules_widths_and_boundaries() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let bounds = [
            Boundary::Periodic,
            Boundary::Fixed0,
            Boundary::Fixed1,
            Boundary::Reflective,
        ];
        for case in 0..300 {
            let width = [1, 2, 3, 63, 64, 65, 100, 127, 128, 129, 191, 200][case % 12];
            let rule = rng.random_range(0..256u32);
            let b = bounds[case % 4];
            let init: Vec<u8> = (0..width).map(|_| rng.random_range(0..2u8)).collect();
            let steps = 9;
            let got = run_bytes(rule, b, &init, steps);
            let mut row = init.clone();
            for t in 0..=steps {
                assert_eq!(
                    &got[t * width..(t + 1) * width],
                    &row[..],
                    "rule {rule} {b:?} w {width} t {t}"
                );
                row = step_ref(rule as u8, b, &row);
            }
        }
    }

    #[test]
    fn window_and_packed_agree_with_full_run() {
        let width = 150;
        let eca = Eca::new(110, width, Boundary::Periodic).unwrap();
        let key = StreamKey::new(1, 2);
        let rows = initial_rows(
            &Init::Bernoulli {
                p: 0.5,
                key,
                start: 0,
            },
            3,
            width,
        )
        .unwrap();
        let full = run_cells(&eca, &Window::full(40, width), &rows, Some(2)).unwrap();
        let win = Window {
            steps: 6,
            stride: 3,
            t0: 5,
            col0: 37,
            cols: 90,
        };
        let part = run_cells(&eca, &win, &rows, Some(2)).unwrap();
        let packed = run_packed(&eca, &win, &rows, Some(1)).unwrap();
        for b in 0..3 {
            for j in 0..=6 {
                let t = 5 + 3 * j;
                let want = &full[b * 41 * width + t * width..][37..127];
                let got = &part[(b * 7 + j) * 90..][..90];
                assert_eq!(got, want);
                let mut cells = vec![0u8; 90];
                unpack_row(&packed[(b * 7 + j) * 2..][..2], &mut cells);
                assert_eq!(cells, want);
            }
        }
    }

    #[test]
    fn bernoulli_density_and_bad_input() {
        let key = StreamKey::new(5, 0);
        let rows = initial_rows(
            &Init::Bernoulli {
                p: 0.25,
                key,
                start: 0,
            },
            10,
            1000,
        )
        .unwrap();
        let ones: u32 = rows.iter().map(|w| w.count_ones()).sum();
        // 10000 cells, sd ~ 43: within 5 sd of 2500.
        assert!((ones as i64 - 2500).abs() < 220, "{ones}");
        assert!(Eca::new(256, 10, Boundary::Periodic).is_err());
        assert!(Eca::new(1, 0, Boundary::Periodic).is_err());
        assert!(Boundary::parse("torus").is_err());
        let eca = Eca::new(30, 10, Boundary::Periodic).unwrap();
        let bad = Window {
            steps: 1,
            stride: 1,
            t0: 0,
            col0: 5,
            cols: 6,
        };
        assert!(run_cells(&eca, &bad, &[0], None).is_err());
    }
}
