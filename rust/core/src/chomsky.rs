//! The context-free and context-sensitive seq2seq tasks of DeepMind's Chomsky-hierarchy
//! suite (Delétang et al. 2023, "Neural Networks and the Chomsky Hierarchy",
//! `google-deepmind/neural_networks_chomsky_hierarchy`), with the suite's input/output
//! definitions.
//!
//! Every item is one row `input, SEP, output` padded with the pad id to
//! `T = length + 1 + output length at length`. Labels are output-aligned: `labels[t]` is the
//! token the model must emit after reading `tokens[..=t]`, so the output tokens sit one
//! position early (from SEP's position on; `-100` elsewhere), and `ints` (one per position)
//! mark the positions the suite scores (for binary addition, multiplication and stack
//! manipulation: up to the terminator). The input length is `length`, or uniform in
//! `[min_length, length]`.

use crate::error::{ensure, KleeneError, Result};
use crate::sampler::{Dice, Row, RowSampler, RowShape, Scratch};

/// Longest input the tasks accept.
pub const MAX_LENGTH: usize = 4096;

/// The eleven tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chomsky {
    ReverseString,
    DuplicateString,
    OddsFirst,
    BucketSort,
    ComputeSqrt,
    MissingDuplicate,
    BinaryAddition,
    BinaryMultiplication,
    StackManipulation,
    ModularArithmeticBrackets,
    SolveEquation,
}

impl Chomsky {
    pub const ALL: [Chomsky; 11] = [
        Chomsky::ReverseString,
        Chomsky::DuplicateString,
        Chomsky::OddsFirst,
        Chomsky::BucketSort,
        Chomsky::ComputeSqrt,
        Chomsky::MissingDuplicate,
        Chomsky::BinaryAddition,
        Chomsky::BinaryMultiplication,
        Chomsky::StackManipulation,
        Chomsky::ModularArithmeticBrackets,
        Chomsky::SolveEquation,
    ];

    /// The task's registry name.
    pub fn name(self) -> &'static str {
        match self {
            Chomsky::ReverseString => "reverse_string",
            Chomsky::DuplicateString => "duplicate_string",
            Chomsky::OddsFirst => "odds_first",
            Chomsky::BucketSort => "bucket_sort",
            Chomsky::ComputeSqrt => "compute_sqrt",
            Chomsky::MissingDuplicate => "missing_duplicate",
            Chomsky::BinaryAddition => "binary_addition",
            Chomsky::BinaryMultiplication => "binary_multiplication",
            Chomsky::StackManipulation => "stack_manipulation",
            Chomsky::ModularArithmeticBrackets => "modular_arithmetic_brackets",
            Chomsky::SolveEquation => "solve_equation",
        }
    }

    pub fn from_name(name: &str) -> Result<Self> {
        Chomsky::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Chomsky::ALL.iter().map(|t| t.name()).collect();
                KleeneError::invalid(
                    "task",
                    format!("must be one of {}; got {name:?}", names.join(", ")),
                )
            })
    }

    /// Output length for input length `n`.
    fn out_len(self, n: usize) -> usize {
        match self {
            Chomsky::DuplicateString => 2 * n,
            Chomsky::ComputeSqrt => n.div_ceil(2),
            Chomsky::BinaryAddition | Chomsky::StackManipulation => n + 1,
            Chomsky::MissingDuplicate
            | Chomsky::ModularArithmeticBrackets
            | Chomsky::SolveEquation => 1,
            _ => n,
        }
    }
}

/// A validated task configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ChomskyConfig {
    pub task: Chomsky,
    /// Input length (the maximum when `min_length` is set).
    pub length: usize,
    /// Draw each input length uniformly from `[min_length, length]`.
    pub min_length: Option<usize>,
    /// Modulus of the two modular tasks (values are single digits), in `[2, 10]`.
    pub modulus: u32,
    /// Whether `modular_arithmetic_brackets` uses `*`.
    pub mult: bool,
}

impl ChomskyConfig {
    pub fn validate(&self) -> Result<()> {
        let range = 1..=MAX_LENGTH;
        ensure(range.contains(&self.length), "length", || {
            format!("must be in [1, {MAX_LENGTH}]; got {}", self.length)
        })?;
        if let Some(lo) = self.min_length {
            ensure(range.contains(&lo), "min_length", || {
                format!("must be in [1, {MAX_LENGTH}]; got {lo}")
            })?;
            ensure(lo <= self.length, "min_length", || {
                format!("must be <= length; got {lo}")
            })?;
        }
        ensure((2..=10).contains(&self.modulus), "modulus", || {
            format!("must be in [2, 10]; got {}", self.modulus)
        })
    }

    /// The symbols before SEP and PAD (ids `0 .. k`).
    pub fn symbol_count(&self) -> u32 {
        let m = self.modulus;
        match self.task {
            Chomsky::BucketSort => 5,
            Chomsky::MissingDuplicate | Chomsky::BinaryAddition | Chomsky::BinaryMultiplication => {
                4
            }
            Chomsky::StackManipulation => 6,
            Chomsky::ModularArithmeticBrackets => m + 7,
            Chomsky::SolveEquation => m + 6,
            _ => 2,
        }
    }

    fn sep(&self) -> u32 {
        self.symbol_count()
    }
}

impl RowSampler for ChomskyConfig {
    fn vocab_size(&self) -> usize {
        self.symbol_count() as usize + 2
    }

    fn shape(&self) -> RowShape {
        let t = self.length + 1 + self.task.out_len(self.length);
        RowShape {
            length: t,
            labels: true,
            ints: t,
            reals: 0,
        }
    }

    fn pad_id(&self) -> u32 {
        self.symbol_count() + 1
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let lo = self.min_length.unwrap_or(self.length);
        let n = lo + dice.below((self.length - lo + 1) as u32) as usize;
        let (input, rest) = row.tokens.split_at_mut(n);
        rest[0] = self.sep();
        let out = &mut rest[1..];
        let (out_len, scored) = self.example(dice, scratch, input, out);
        // Output token `j` sits at `n + 1 + j` and is predicted at `n + j` (SEP is at `n`).
        for (dst, &x) in row.labels[n..n + out_len].iter_mut().zip(out.iter()) {
            *dst = x as i64;
        }
        row.ints[n..n + scored].fill(1);
        *row.length = n + 1 + out_len;
    }
}

/// Fills `bits` with uniform bits.
fn random_bits(dice: &mut Dice, bits: &mut [u32]) {
    for chunk in bits.chunks_mut(64) {
        let mut w = dice.next_u64();
        for b in chunk {
            *b = (w & 1) as u32;
            w >>= 1;
        }
    }
}

impl ChomskyConfig {
    /// Writes one example's input (exactly `input.len()` symbols) and output; returns the
    /// output length and the scored prefix of it.
    fn example(
        &self,
        dice: &mut Dice,
        scratch: &mut Scratch,
        input: &mut [u32],
        out: &mut [u32],
    ) -> (usize, usize) {
        let n = input.len();
        match self.task {
            Chomsky::ReverseString => {
                random_bits(dice, input);
                for (o, &x) in out.iter_mut().zip(input.iter().rev()) {
                    *o = x;
                }
                (n, n)
            }
            Chomsky::DuplicateString => {
                random_bits(dice, input);
                out[..n].copy_from_slice(input);
                out[n..2 * n].copy_from_slice(input);
                (2 * n, 2 * n)
            }
            Chomsky::OddsFirst => {
                random_bits(dice, input);
                let odds = input.iter().skip(1).step_by(2);
                let evens = input.iter().step_by(2);
                for (o, &x) in out.iter_mut().zip(odds.chain(evens)) {
                    *o = x;
                }
                (n, n)
            }
            Chomsky::BucketSort => {
                let mut counts = [0usize; 5];
                for x in input.iter_mut() {
                    *x = dice.below(5);
                    counts[*x as usize] += 1;
                }
                let mut t = 0;
                for (symbol, &c) in counts.iter().enumerate() {
                    out[t..t + c].fill(symbol as u32);
                    t += c;
                }
                (n, n)
            }
            Chomsky::ComputeSqrt => {
                let x = Big::random_nonzero(dice, n);
                x.write_big_endian(input);
                let m = n.div_ceil(2);
                x.isqrt().write_big_endian(&mut out[..m]);
                (m, m)
            }
            Chomsky::MissingDuplicate => {
                if n == 1 {
                    input[0] = 1;
                    out[0] = 1;
                    return (1, 1);
                }
                let half = n / 2;
                random_bits(dice, &mut input[..half]);
                input.copy_within(..half, half);
                let k = dice.below(2 * half as u32) as usize;
                out[0] = input[k];
                input[k] = 2;
                input[2 * half..].fill(3);
                (1, 1)
            }
            Chomsky::BinaryAddition | Chomsky::BinaryMultiplication => {
                self.binary_arithmetic(dice, input, out)
            }
            Chomsky::StackManipulation => stack_manipulation(dice, scratch, input, out),
            Chomsky::ModularArithmeticBrackets => {
                let m = self.modulus;
                out[0] = bracket_expression(dice, scratch, input, m, self.mult, true);
                (1, 1)
            }
            Chomsky::SolveEquation => {
                if n < 3 {
                    input.fill(0);
                    out[0] = 0;
                    return (1, 1);
                }
                let m = self.modulus;
                let (expr, tail) = input.split_at_mut(n - 2);
                let value = bracket_expression(dice, scratch, expr, m, false, false);
                let mut k = dice.below(expr.len() as u32) as usize;
                while expr[k] >= m {
                    k = (k + 1) % expr.len();
                }
                out[0] = expr[k];
                expr[k] = m + BRACKET_X;
                tail[0] = m + BRACKET_EQ;
                tail[1] = value;
                (1, 1)
            }
        }
    }

    /// binary_addition / binary_multiplication: little-endian `a`, the operator (id 2),
    /// little-endian `b` (lengths drawn as in the suite), then the little-endian result, the
    /// terminator (id 3) and zero padding; inputs of length <= 2 follow the suite's special
    /// case.
    fn binary_arithmetic(
        &self,
        dice: &mut Dice,
        input: &mut [u32],
        out: &mut [u32],
    ) -> (usize, usize) {
        let n = input.len();
        let add = self.task == Chomsky::BinaryAddition;
        let out_len = self.task.out_len(n);
        let result_len = if n <= 2 {
            // The suite's randint(0, 2**n - 1) with an exclusive upper bound.
            let x = dice.below((1u32 << n) - 1);
            for (i, b) in input.iter_mut().enumerate() {
                *b = x >> i & 1;
            }
            if add {
                let len = (u32::BITS - x.leading_zeros()).max(1) as usize;
                for (i, b) in out[..len].iter_mut().enumerate() {
                    *b = x >> i & 1;
                }
                len
            } else {
                out[..n - 1].fill(0);
                n - 1
            }
        } else {
            let len_a = 1 + dice.below(n as u32 - 2) as usize;
            let len_b = n - 1 - len_a;
            let a = Big::random_nonzero(dice, len_a);
            let b = Big::random_nonzero(dice, len_b);
            a.write_little_endian(&mut input[..len_a]);
            input[len_a] = 2;
            b.write_little_endian(&mut input[len_a + 1..]);
            let r = if add { a.add(&b) } else { a.mul(&b) };
            let len = r.bit_len();
            r.write_little_endian(&mut out[..len]);
            len
        };
        out[result_len] = 3;
        out[result_len + 1..out_len].fill(0);
        (out_len, result_len + 1)
    }
}

/// stack_manipulation: a stack (bottom to top, 1..n-1 bits), then actions POP / PUSH 0 /
/// PUSH 1 (ids 2 / 3 / 4; POP on an empty stack does nothing); the output is the final stack
/// top to bottom, the terminator (id 5) and zero padding to n + 1.
fn stack_manipulation(
    dice: &mut Dice,
    scratch: &mut Scratch,
    input: &mut [u32],
    out: &mut [u32],
) -> (usize, usize) {
    let n = input.len();
    let stack = &mut scratch.a;
    stack.clear();
    if n == 1 {
        input[0] = dice.below(2);
        stack.push(input[0]);
    } else {
        let k = 1 + dice.below(n as u32 - 1) as usize;
        random_bits(dice, &mut input[..k]);
        stack.extend_from_slice(&input[..k]);
        for a in input[k..].iter_mut() {
            *a = 2 + dice.below(3);
            if *a == 2 {
                stack.pop();
            } else {
                stack.push(*a - 3);
            }
        }
    }
    let s = stack.len();
    for (o, &x) in out.iter_mut().zip(stack.iter().rev()) {
        *o = x;
    }
    out[s] = 5;
    out[s + 1..n + 1].fill(0);
    (n + 1, s + 1)
}

// Ids of the non-digit symbols are offsets after the `modulus` digits:
// modular_arithmetic_brackets `+ - * ( ) x =`, solve_equation `+ - ( ) x =`.
const BRACKET_X: u32 = 4;
const BRACKET_EQ: u32 = 5;

/// Work items of the iterative expression builder.
enum Step {
    /// A subexpression of this many characters starting at this position.
    Node(usize, usize),
    /// Combine the top two values with this operator (0 +, 1 -, 2 *).
    Apply(u32),
}

/// Writes a random fully bracketed expression of exactly `text.len()` characters over the
/// digits `0 .. modulus` (ids as digits, the other symbols after them) and returns its value,
/// as the suite builds it: lengths 1-4 are `d`, `-d`, `(d)`, `(-d)`; longer ones are
/// `(left op right)` with the left length uniform in `[1, length - 4]` and the operator
/// uniform over `+ -` (and `*` when `mult`). `star_in_alphabet` says whether the task's
/// alphabet holds `*` (modular_arithmetic_brackets: `+ - * ( ) x =`, solve_equation:
/// `+ - ( ) x =`).
fn bracket_expression(
    dice: &mut Dice,
    scratch: &mut Scratch,
    text: &mut [u32],
    modulus: u32,
    mult: bool,
    star_in_alphabet: bool,
) -> u32 {
    let (plus, minus, mul) = (modulus, modulus + 1, modulus + 2);
    // The alphabet, not `mult`, places the brackets: solve_equation's has no `*`.
    let open = if star_in_alphabet {
        modulus + 3
    } else {
        modulus + 2
    };
    let close = open + 1;
    let m = modulus as u64;
    let mut work = vec![Step::Node(0, text.len())];
    let values = &mut scratch.b;
    values.clear();
    while let Some(step) = work.pop() {
        match step {
            Step::Apply(op) => {
                let b = values.pop().unwrap_or(0) as u64;
                let a = values.pop().unwrap_or(0) as u64;
                values.push(match op {
                    0 => (a + b) % m,
                    1 => (a + m - b) % m,
                    _ => a * b % m,
                } as u32);
            }
            Step::Node(at, len) if len <= 4 => {
                let d = dice.below(modulus);
                let leaf: &[u32] = match len {
                    1 => &[d],
                    2 => &[minus, d],
                    3 => &[open, d, close],
                    _ => &[open, minus, d, close],
                };
                text[at..at + len].copy_from_slice(leaf);
                values.push(if len % 2 == 1 {
                    d
                } else {
                    (modulus - d) % modulus
                });
            }
            Step::Node(at, len) => {
                let left = 1 + dice.below(len as u32 - 4) as usize;
                let right = len - left - 3;
                let op = dice.below(if mult { 3 } else { 2 });
                text[at] = open;
                text[at + 1 + left] = [plus, minus, mul][op as usize];
                text[at + len - 1] = close;
                work.push(Step::Apply(op));
                work.push(Step::Node(at + 2 + left, right));
                work.push(Step::Node(at + 1, left));
            }
        }
    }
    values.pop().unwrap_or(0)
}

/// A non-negative integer as little-endian 64-bit limbs (no high zero limbs kept beyond the
/// needed length), for the binary tasks' operands up to [`MAX_LENGTH`] bits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    /// Uniform in `[1, 2^bits - 1]` (rejection of zero).
    fn random_nonzero(dice: &mut Dice, bits: usize) -> Big {
        let limbs = bits.div_ceil(64);
        let top_mask = if bits.is_multiple_of(64) {
            u64::MAX
        } else {
            (1u64 << (bits % 64)) - 1
        };
        loop {
            let mut v: Vec<u64> = (0..limbs).map(|_| dice.next_u64()).collect();
            if let Some(top) = v.last_mut() {
                *top &= top_mask;
            }
            if v.iter().any(|&w| w != 0) {
                return Big(v);
            }
        }
    }

    fn bit(&self, i: usize) -> u32 {
        self.0.get(i / 64).map_or(0, |w| (w >> (i % 64) & 1) as u32)
    }

    /// Bits up to the highest set one (at least 1, so zero is `0`).
    fn bit_len(&self) -> usize {
        let top = self.0.iter().rposition(|&w| w != 0);
        top.map_or(1, |i| 64 * i + 64 - self.0[i].leading_zeros() as usize)
    }

    fn write_little_endian(&self, out: &mut [u32]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.bit(i);
        }
    }

    fn write_big_endian(&self, out: &mut [u32]) {
        let n = out.len();
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.bit(n - 1 - i);
        }
    }

    fn add(&self, other: &Big) -> Big {
        let len = self.0.len().max(other.0.len()) + 1;
        let mut out = vec![0u64; len];
        let mut carry = 0u64;
        for (i, o) in out.iter_mut().enumerate() {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(carry);
            *o = s2;
            carry = (c1 as u64) + (c2 as u64);
        }
        Big(out)
    }

    fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u64; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &b) in other.0.iter().enumerate() {
                let t = a as u128 * b as u128 + out[i + j] as u128 + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            out[i + other.0.len()] = carry as u64;
        }
        Big(out)
    }

    /// `floor(sqrt(self))`, two bits at a time from the top (the schoolbook digit method).
    fn isqrt(&self) -> Big {
        let pairs = self.bit_len().div_ceil(2);
        let limbs = pairs.div_ceil(64) + 2;
        let mut root = vec![0u64; limbs];
        let mut rem = vec![0u64; limbs + 1];
        let mut trial = vec![0u64; limbs + 1];
        for p in (0..pairs).rev() {
            shift_left(&mut rem, 2);
            rem[0] |= (self.bit(2 * p + 1) << 1 | self.bit(2 * p)) as u64;
            trial.fill(0);
            trial[..limbs].copy_from_slice(&root);
            shift_left(&mut trial, 2);
            trial[0] |= 1;
            shift_left(&mut root, 1);
            if !less(&rem, &trial) {
                subtract(&mut rem, &trial);
                root[0] |= 1;
            }
        }
        Big(root)
    }
}

fn shift_left(v: &mut [u64], s: u32) {
    let mut carry = 0u64;
    for w in v.iter_mut() {
        let next = *w >> (64 - s);
        *w = *w << s | carry;
        carry = next;
    }
}

fn less(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

fn subtract(a: &mut [u64], b: &[u64]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *x = d2;
        borrow = (b1 as u64) + (b2 as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamKey;
    use crate::sampler::generate;

    fn config(task: Chomsky, length: usize) -> ChomskyConfig {
        ChomskyConfig {
            task,
            length,
            min_length: None,
            modulus: 5,
            mult: true,
        }
    }

    fn value(big: &Big) -> u128 {
        big.0
            .iter()
            .rev()
            .fold(0u128, |acc, &w| (acc << 64) | w as u128)
    }

    #[test]
    fn big_arithmetic_matches_u128() {
        let mut dice = Dice::new(StreamKey::new(1, 2).item_rng(3));
        for bits in [1, 2, 5, 31, 63, 64] {
            for _ in 0..200 {
                let a = Big::random_nonzero(&mut dice, bits);
                let b = Big::random_nonzero(&mut dice, bits);
                let (x, y) = (value(&a), value(&b));
                assert!(x >= 1 && x < 1u128 << bits);
                assert_eq!(value(&a.add(&b)), x + y);
                assert_eq!(value(&a.mul(&b)), x * y);
                let r = value(&a.isqrt());
                assert!(r * r <= x && (r + 1) * (r + 1) > x);
                assert_eq!(a.bit_len(), 128 - x.leading_zeros() as usize);
            }
        }
    }

    #[test]
    fn rows_are_thread_independent_and_padded() {
        for task in Chomsky::ALL {
            let mut cfg = config(task, 12);
            cfg.min_length = Some(1);
            let key = StreamKey::new(7, 9);
            let one = generate::<u8, _>(&cfg, key, 5, 64, Some(1)).unwrap();
            let four = generate::<u8, _>(&cfg, key, 5, 64, Some(4)).unwrap();
            assert_eq!(one, four);
            let t = cfg.shape().length;
            for (row, &len) in one.tokens.chunks(t).zip(&one.lengths) {
                assert!(row[len as usize..]
                    .iter()
                    .all(|&x| x as u32 == cfg.pad_id()));
                assert!(row[..len as usize]
                    .iter()
                    .all(|&x| (x as u32) < cfg.pad_id()));
            }
        }
    }

    #[test]
    fn refuses_bad_configurations() {
        let mut cfg = config(Chomsky::ReverseString, 0);
        assert!(cfg.validate().is_err());
        cfg.length = 4;
        cfg.min_length = Some(5);
        assert!(cfg.validate().is_err());
        cfg.min_length = None;
        cfg.modulus = 11;
        assert!(cfg.validate().is_err());
        assert!(Chomsky::from_name("nope").is_err());
    }
}
