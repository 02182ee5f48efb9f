//! Bounded Dyck-(k, m) (Hewitt et al. 2020, "RNNs can generate bounded hierarchical languages
//! with optimal memory") by a stack sampler: the distribution of their PFA run with OpenFst
//! `randgen` semantics, without building the k^<=m-state automaton, so k and m can be large
//! (their main setting Dyck-(8, 10) has about 1.2e9 stacks).
//!
//! At depth 0: stop with probability 1/2 or open each bracket type with 1/(2k); at depth m:
//! close; otherwise open each type with 1/(2k) or close with 1/2. Before `min_len` the stop
//! option is removed and the rest renormalised; a walk reaching `max_len` is dropped and
//! redrawn. Each choice among several options draws `next_u64() >> 32` against thresholds
//! rounded from the cumulative probabilities, exactly as [`super::sample`]'s `StopWalk` does on
//! the automaton, so both give the same strings for the same stream.
//!
//! Symbols `0..k` open, `k..2k` close (`k + b` closes `b`); pad is `2k`. Labels per position
//! `t` (the prefix `tokens[..=t]`): `depth` (`-100` past the end) and `valid_next`, the
//! multi-hot of the symbols that keep the prefix completable (zeros past the end).

use super::sample::MAX_TRIES;
use crate::error::{ensure, KleeneError, Result};
use crate::sampler::{Dice, Row, RowSampler, RowShape, Scratch};

/// Largest number of bracket types.
pub const MAX_K: usize = 1024;
/// Longest string.
pub const MAX_LENGTH: usize = 1 << 16;

/// A validated Dyck-(k, m) sampler.
#[derive(Clone, Debug, PartialEq)]
pub struct Dyck {
    k: usize,
    m: usize,
    min_len: usize,
    max_len: usize,
    /// Thresholds of the choices at depth 0 with the stop option (opens, then stop).
    root_stop: Vec<u64>,
    /// At depth 0 before `min_len` (opens only).
    root: Vec<u64>,
    /// At depths 1..m-1 (opens, then the close).
    inner: Vec<u64>,
}

/// `randgen`'s thresholds for options of the given weights: cumulative probabilities times
/// 2^32, rounded, the last one 2^32 (as the automaton sampler computes them).
fn thresholds(weights: &[f64]) -> Vec<u64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            acc += w / total;
            if i + 1 == weights.len() {
                1u64 << 32
            } else {
                ((acc * 4_294_967_296.0).round() as u64).min(1 << 32)
            }
        })
        .collect()
}

impl Dyck {
    pub fn new(k: usize, m: usize, min_len: usize, max_len: usize) -> Result<Self> {
        ensure((1..=MAX_K).contains(&k), "k", || {
            format!("must be in [1, {MAX_K}], got {k}")
        })?;
        ensure((1..=MAX_LENGTH).contains(&m), "m", || {
            format!("must be in [1, {MAX_LENGTH}], got {m}")
        })?;
        ensure((1..=MAX_LENGTH).contains(&max_len), "max_length", || {
            format!("must be in [1, {MAX_LENGTH}], got {max_len}")
        })?;
        ensure(min_len <= max_len, "min_length", || {
            format!("must be <= max_length = {max_len}, got {min_len}")
        })?;
        let open = 1.0 / (2 * k) as f64;
        let opens = vec![open; k];
        let with = |last: f64| {
            let mut w = opens.clone();
            w.push(last);
            thresholds(&w)
        };
        Ok(Dyck {
            k,
            m,
            min_len,
            max_len,
            root_stop: with(0.5),
            root: thresholds(&opens),
            inner: with(0.5),
        })
    }

    /// One walk into `tokens`; its length, or `None` if dropped.
    #[allow(clippy::needless_range_loop)] // t also runs one past the end (the final stop)
    fn walk(&self, dice: &mut Dice, stack: &mut Vec<u32>, tokens: &mut [u32]) -> Option<usize> {
        let k = self.k as u32;
        stack.clear();
        for t in 0..=self.max_len {
            let depth = stack.len();
            let choice = if depth == self.m {
                k // the close, the only option: no draw
            } else {
                let options = match depth {
                    0 if t < self.min_len => &self.root,
                    0 => &self.root_stop,
                    _ => &self.inner,
                };
                if options.len() == 1 {
                    0
                } else {
                    let u = dice.next_u64() >> 32;
                    options.partition_point(|&c| c <= u) as u32
                }
            };
            // Option k is the stop at depth 0 and the close elsewhere.
            if choice == k && depth == 0 {
                return Some(t);
            }
            if t == self.max_len {
                return None;
            }
            if choice < k {
                stack.push(choice);
                tokens[t] = choice;
            } else {
                tokens[t] = k + stack.pop().unwrap_or(0);
            }
        }
        None
    }
}

impl RowSampler for Dyck {
    fn vocab_size(&self) -> usize {
        2 * self.k + 1
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.max_len,
            labels: true,
            ints: self.max_len * 2 * self.k,
            reals: 0,
        }
    }

    fn pad_id(&self) -> u32 {
        2 * self.k as u32
    }

    /// Unused: the driver calls [`RowSampler::try_fill`], which can run out of tries.
    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let _ = self.try_fill(dice, scratch, row);
    }

    fn try_fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) -> Result<()> {
        let stack = &mut scratch.a;
        let len = (0..MAX_TRIES)
            .find_map(|_| {
                let len = self.walk(dice, stack, row.tokens);
                if len.is_none() {
                    row.tokens.fill(self.pad_id()); // a dropped walk leaves nothing behind
                }
                len
            })
            .ok_or_else(|| {
                KleeneError::invalid(
                    "max_length",
                    format!("{MAX_TRIES} walks in a row reached max_length; raise max_length or lower min_length"),
                )
            })?;
        *row.length = len;
        let (k, m) = (self.k, self.m);
        stack.clear();
        for (t, &x) in row.tokens[..len].iter().enumerate() {
            if (x as usize) < k {
                stack.push(x);
            } else {
                stack.pop();
            }
            row.labels[t] = stack.len() as i64;
            let valid = &mut row.ints[t * 2 * k..(t + 1) * 2 * k];
            if stack.len() < m {
                valid[..k].fill(1);
            }
            if let Some(&top) = stack.last() {
                valid[k + top as usize] = 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::StreamKey;
    use crate::sampler::generate;

    #[test]
    fn strings_are_balanced_and_bounded() {
        let d = Dyck::new(8, 10, 2, 200).unwrap();
        let b = generate::<u16, _>(&d, StreamKey::new(1, 2), 0, 200, Some(2)).unwrap();
        for (row, &len) in b.tokens.chunks(200).zip(&b.lengths) {
            let mut stack = Vec::new();
            for &x in &row[..len as usize] {
                if x < 8 {
                    stack.push(x);
                    assert!(stack.len() <= 10);
                } else {
                    assert_eq!(stack.pop(), Some(x - 8));
                }
            }
            assert!(stack.is_empty() && len >= 2);
            assert!(row[len as usize..].iter().all(|&x| x == 16));
        }
    }

    #[test]
    fn impossible_lengths_are_reported() {
        let d = Dyck::new(2, 3, 3, 3).unwrap(); // no Dyck string has odd length
        assert!(generate::<u8, _>(&d, StreamKey::new(0, 0), 0, 1, Some(1)).is_err());
        assert!(Dyck::new(0, 3, 0, 4).is_err() && Dyck::new(2, 3, 5, 4).is_err());
    }
}
