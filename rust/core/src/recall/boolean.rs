//! In-context learning of Boolean functions (Bhattamishra et al., ICLR 2024,
//! `satwik77/incontext-bool`) and the GOTU setting ("Generalization on the Unseen",
//! `aryol/GOTU`).
//!
//! Boolean episodes: each row draws one function `f` of a class and `m` points
//! `x in {-1, +1}^n`; the tokens are, per point, its `n` bits (id 0 for -1, 1 for +1) and then
//! the label token (2 for `y = -1`, 3 for `y = +1`), so `T = m (n + 1)`. The label of the last
//! bit of each point is its label token (predict the next token); all others are `-100`.
//! Side arrays: the function's specification (`R x n` small integers, `R` = 3 for DNF/CNF,
//! else 1), the clean labels (`m`, before label noise) and one real (the threshold `b`).

use super::sampling::{distinct, Dice, Scratch};
use super::{check, Row, RowSampler, RowShape};
use crate::error::Result;

pub const MAX_DIMS: usize = 4096;
pub const MAX_POINTS: usize = 1 << 20;

/// The function classes of `src/bool_tasks.py`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolClass {
    Conjunction,
    Disjunction,
    SparseDisjunction,
    Dnf,
    Cnf,
    SparseParity,
    Parity,
    Majority,
    ZeroOneThreshold,
    IntegerHalfspace,
}

impl BoolClass {
    pub fn parse(name: &str) -> Option<Self> {
        use BoolClass::*;
        Some(match name {
            "conjunction" => Conjunction,
            "disjunction" => Disjunction,
            "sparse_disjunction" => SparseDisjunction,
            "dnf" => Dnf,
            "cnf" => Cnf,
            "sparse_parity" => SparseParity,
            "parity" => Parity,
            "majority" => Majority,
            "zero_one_threshold" => ZeroOneThreshold,
            "integer_halfspace" => IntegerHalfspace,
            _ => return None,
        })
    }

    /// Rows of the specification: terms of a DNF, clauses of a CNF, else one weight vector.
    pub fn spec_rows(self) -> usize {
        if matches!(self, BoolClass::Dnf | BoolClass::Cnf) {
            3
        } else {
            1
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BooleanConfig {
    pub class: BoolClass,
    pub n_dims: usize,
    pub n_points: usize,
    /// Support size of `sparse_parity` and `sparse_disjunction`.
    pub k: usize,
    /// Probability of flipping each label token.
    pub noise_rate: f64,
}

impl BooleanConfig {
    pub fn validate(&self) -> Result<()> {
        let (n, m) = (self.n_dims, self.n_points);
        check((1..=MAX_DIMS).contains(&n), "n_dims", || {
            format!("must be in 1..={MAX_DIMS}, got {n}")
        })?;
        check((1..=MAX_POINTS).contains(&m), "n_points", || {
            format!("must be in 1..={MAX_POINTS}, got {m}")
        })?;
        if matches!(
            self.class,
            BoolClass::SparseParity | BoolClass::SparseDisjunction
        ) {
            check((1..=n).contains(&self.k), "k", || {
                format!(
                    "must be in 1..=n_dims = {n} (the support size), got {}",
                    self.k
                )
            })?;
        }
        check(
            self.noise_rate.is_finite() && (0.0..=0.5).contains(&self.noise_rate),
            "noise_rate",
            || format!("must be in [0, 0.5], got {}", self.noise_rate),
        )
    }
}

/// Draws `{0, +1, -1}` with probabilities `1 - 2q`, `q`, `q`.
fn literal(dice: &mut Dice, q: f64) -> i8 {
    match dice.three_way(1.0 - 2.0 * q, q) {
        0 => 0,
        1 => 1,
        _ => -1,
    }
}

fn uniform_point(dice: &mut Dice, x: &mut [i8]) {
    for chunk in x.chunks_mut(64) {
        let bits = dice.next_u64();
        for (j, xi) in chunk.iter_mut().enumerate() {
            *xi = if bits >> j & 1 == 1 { 1 } else { -1 };
        }
    }
}

fn dot(w: &[i8], x: &[i8]) -> i32 {
    w.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum()
}

fn l1(w: &[i8]) -> i32 {
    w.iter().map(|&a| (a as i32).abs()).sum()
}

/// `+1` when every literal of `w` holds in `x` (an empty conjunction is true).
fn conj(w: &[i8], x: &[i8]) -> bool {
    dot(w, x) == l1(w)
}

/// `+1` when some literal of `w` holds in `x` (an empty disjunction is false).
fn disj(w: &[i8], x: &[i8]) -> bool {
    dot(w, x) > -l1(w)
}

/// Sets `x` to satisfy (`sign = 1`) or falsify (`sign = -1`) every literal of `w`.
fn force(w: &[i8], x: &mut [i8], sign: i8) {
    for (xi, &wi) in x.iter_mut().zip(w) {
        if wi != 0 {
            *xi = wi * sign;
        }
    }
}

impl BooleanConfig {
    fn draw_function(&self, dice: &mut Dice, scratch: &mut Scratch, spec: &mut [i8]) -> f32 {
        use BoolClass::*;
        let n = self.n_dims;
        match self.class {
            Conjunction | Disjunction | ZeroOneThreshold => {
                spec.iter_mut().for_each(|w| *w = literal(dice, 0.15));
            }
            Dnf | Cnf => spec.iter_mut().for_each(|w| *w = literal(dice, 0.1)),
            SparseDisjunction | SparseParity => {
                let mut support = std::mem::take(&mut scratch.a);
                support.resize(self.k, 0);
                distinct(dice, 0, n as u32, &mut support, scratch);
                support.iter().for_each(|&i| spec[i as usize] = 1);
                scratch.a = support;
            }
            Parity => {
                // Each variable joins the support with probability 1/2.
                uniform_point(dice, spec);
                spec.iter_mut().for_each(|w| *w = (*w + 1) / 2);
            }
            Majority => spec.iter_mut().for_each(|w| *w = dice.chance(0.3) as i8),
            IntegerHalfspace => spec.iter_mut().for_each(|w| *w = dice.below(7) as i8 - 3),
        }
        if self.class == ZeroOneThreshold {
            dice.below(6) as f32 - 2.5
        } else {
            0.0
        }
    }

    /// The label of `x` under the function `(spec, bias)`.
    pub fn evaluate(&self, spec: &[i8], bias: f32, x: &[i8]) -> bool {
        use BoolClass::*;
        let n = self.n_dims;
        match self.class {
            Conjunction => conj(spec, x),
            Disjunction | SparseDisjunction => disj(spec, x),
            Dnf => spec.chunks(n).any(|t| conj(t, x)),
            Cnf => spec.chunks(n).all(|c| disj(c, x)),
            SparseParity | Parity => {
                spec.iter()
                    .zip(x)
                    .filter(|(&s, &xi)| s == 1 && xi == 1)
                    .count()
                    % 2
                    == 1
            }
            Majority => dot(spec, x) > 0,
            ZeroOneThreshold => dot(spec, x) as f32 > bias,
            IntegerHalfspace => dot(spec, x) >= 1,
        }
    }

    /// Draws a point; some classes bias it towards the function's decisive region.
    fn draw_point(&self, dice: &mut Dice, spec: &[i8], focus: usize, x: &mut [i8]) {
        uniform_point(dice, x);
        let n = self.n_dims;
        match self.class {
            BoolClass::Conjunction if dice.chance(0.3) => force(spec, x, 1),
            BoolClass::Disjunction if dice.chance(0.3) => force(spec, x, -1),
            BoolClass::Dnf if dice.chance(0.35) => force(&spec[focus * n..][..n], x, 1),
            BoolClass::Cnf if dice.chance(0.3) => force(&spec[focus * n..][..n], x, -1),
            _ => {}
        }
    }
}

impl RowSampler for BooleanConfig {
    fn vocab_size(&self) -> usize {
        4
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.n_points * (self.n_dims + 1),
            labels: true,
            ints: self.class.spec_rows() * self.n_dims + self.n_points,
            reals: 1,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let n = self.n_dims;
        let (spec, clean) = row.ints.split_at_mut(self.class.spec_rows() * n);
        let bias = self.draw_function(dice, scratch, spec);
        row.reals[0] = bias;
        let focus = dice.below(self.class.spec_rows() as u32) as usize;
        let mut x = vec![0i8; n];
        for (j, (tok, lab)) in row
            .tokens
            .chunks_exact_mut(n + 1)
            .zip(row.labels.chunks_exact_mut(n + 1))
            .enumerate()
        {
            self.draw_point(dice, spec, focus, &mut x);
            let y = self.evaluate(spec, bias, &x);
            clean[j] = if y { 1 } else { -1 };
            let shown = if self.noise_rate > 0.0 && dice.chance(self.noise_rate) {
                !y
            } else {
                y
            };
            for (t, &xi) in tok[..n].iter_mut().zip(&x) {
                *t = (xi == 1) as u32;
            }
            tok[n] = 2 + shown as u32;
            lab[n - 1] = tok[n] as i64;
        }
    }
}

/// GOTU target functions on `{-1, +1}^d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GotuFunction {
    /// `prod_{i < s} x_i` (full parity when `s = d`).
    Parity,
    /// `sign(sum_{i < s} x_i)`, ties to +1.
    Majority,
    /// `sum_i prod_{j < s} x_{(i + j) mod d}` (GOTU's `cyclic<s>dim<d>`).
    Cyclic,
}

/// GOTU samples: `x` uniform over the points whose first `frozen` coordinates are +1 (the seen
/// region) and with at most `max_negatives` coordinates equal to -1 (the degree curriculum's
/// Hamming ball); tokens are the bits (0 for -1), the real is `f(x)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GotuConfig {
    pub dims: usize,
    pub function: GotuFunction,
    pub support: usize,
    pub frozen: usize,
    /// `None`: no curriculum restriction.
    pub max_negatives: Option<usize>,
}

/// A GOTU sampler with the distribution of the number of -1 coordinates precomputed.
pub struct Gotu {
    cfg: GotuConfig,
    /// Cumulative probabilities of `k` negatives, `k = 0 ..= r`: `C(free, k)` normalised.
    cum: Vec<f64>,
}

impl Gotu {
    pub fn new(cfg: GotuConfig) -> Result<Self> {
        let d = cfg.dims;
        check((1..=MAX_DIMS).contains(&d), "dims", || {
            format!("must be in 1..={MAX_DIMS}, got {d}")
        })?;
        check((1..=d).contains(&cfg.support), "support", || {
            format!("must be in 1..=dims = {d}, got {}", cfg.support)
        })?;
        check(cfg.frozen < d, "frozen", || {
            format!(
                "must be below dims = {d} (at least one free coordinate), got {}",
                cfg.frozen
            )
        })?;
        let free = d - cfg.frozen;
        let r = cfg.max_negatives.unwrap_or(free).min(free);
        // log C(free, k) keeps large dimensions finite.
        let mut logw = vec![0f64; r + 1];
        for k in 1..=r {
            logw[k] = logw[k - 1] + ((free - k + 1) as f64).ln() - (k as f64).ln();
        }
        let top = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = logw.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        let mut acc = 0.0;
        let cum = w
            .iter()
            .map(|x| {
                acc += x / total;
                acc
            })
            .collect();
        Ok(Gotu { cfg, cum })
    }

    pub fn evaluate(&self, x: &[i8]) -> f32 {
        let (d, s) = (self.cfg.dims, self.cfg.support);
        match self.cfg.function {
            GotuFunction::Parity => x[..s].iter().map(|&v| v as f32).product(),
            GotuFunction::Majority => {
                let sum: i32 = x[..s].iter().map(|&v| v as i32).sum();
                if sum >= 0 {
                    1.0
                } else {
                    -1.0
                }
            }
            GotuFunction::Cyclic => (0..d)
                .map(|i| (0..s).map(|j| x[(i + j) % d] as f32).product::<f32>())
                .sum(),
        }
    }
}

impl RowSampler for Gotu {
    fn vocab_size(&self) -> usize {
        2
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.cfg.dims,
            labels: false,
            ints: 0,
            reals: 1,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let (d, f) = (self.cfg.dims, self.cfg.frozen);
        let u = dice.unit();
        let k = self
            .cum
            .partition_point(|&c| c <= u)
            .min(self.cum.len() - 1);
        let mut negatives = std::mem::take(&mut scratch.a);
        negatives.resize(k, 0);
        distinct(dice, f as u32, (d - f) as u32, &mut negatives, scratch);
        let mut x = vec![1i8; d];
        negatives.iter().for_each(|&i| x[i as usize] = -1);
        for (t, &v) in row.tokens.iter_mut().zip(&x) {
            *t = (v == 1) as u32;
        }
        row.reals[0] = self.evaluate(&x);
        scratch.a = negatives;
    }
}
