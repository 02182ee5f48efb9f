//! Counting accepted strings by length: c_0(q) = [q accepting], c_l(q) = sum_a c_{l-1}(d(q, a)).
//!
//! Counts are exact `u128` while every entry fits; beyond that the table is kept in natural-log
//! space (`f64`), and the type says which ([`CountTable::is_exact`]).

use super::dfa::{Dfa, NONE};
use crate::error::Result;
use crate::limits::check_elements;

/// Longest length a count table may be built for.
pub const MAX_COUNT_LENGTH: usize = 1 << 20;

/// `c_l(q)` for `l in 0..=max_len`, row-major `[(max_len + 1), states]`.
#[derive(Clone, Debug)]
pub enum CountTable {
    Exact(Vec<u128>),
    /// Natural logarithms; `-inf` for zero.
    Log(Vec<f64>),
}

/// One count: exact when it fits in `u128`, otherwise its natural logarithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Count {
    Exact(u128),
    Log(f64),
}

impl Count {
    /// The natural logarithm of the count (`-inf` for zero).
    pub fn ln(self) -> f64 {
        match self {
            Count::Exact(0) => f64::NEG_INFINITY,
            Count::Exact(c) => (c as f64).ln(),
            Count::Log(l) => l,
        }
    }

    pub fn is_zero(self) -> bool {
        matches!(self, Count::Exact(0)) || matches!(self, Count::Log(l) if l == f64::NEG_INFINITY)
    }
}

impl CountTable {
    /// Builds the table for lengths `0..=max_len`.
    pub fn new(dfa: &Dfa, max_len: usize) -> Result<Self> {
        crate::error::ensure(max_len <= MAX_COUNT_LENGTH, "length", || {
            format!("must be at most {MAX_COUNT_LENGTH}, got {max_len}")
        })?;
        check_elements("count table", &[max_len + 1, dfa.num_states()], 16)?;
        Ok(match exact_table(dfa, max_len) {
            Some(t) => CountTable::Exact(t),
            None => CountTable::Log(log_table(dfa, max_len)),
        })
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, CountTable::Exact(_))
    }

    /// `c_len(state)`.
    pub fn get(&self, n_states: usize, len: usize, state: u32) -> Count {
        let i = len * n_states + state as usize;
        match self {
            CountTable::Exact(t) => Count::Exact(t[i]),
            CountTable::Log(t) => Count::Log(t[i]),
        }
    }

    /// The table in log space (for labels), `[(max_len + 1) * states]`.
    pub fn ln_values(&self) -> Vec<f64> {
        match self {
            CountTable::Exact(t) => t
                .iter()
                .map(|&c| {
                    if c == 0 {
                        f64::NEG_INFINITY
                    } else {
                        (c as f64).ln()
                    }
                })
                .collect(),
            CountTable::Log(t) => t.clone(),
        }
    }
}

fn exact_table(dfa: &Dfa, max_len: usize) -> Option<Vec<u128>> {
    let n = dfa.num_states();
    let mut t = vec![0u128; (max_len + 1) * n];
    for (c, &a) in t.iter_mut().zip(dfa.accepting()) {
        *c = a as u128;
    }
    for l in 1..=max_len {
        let (prev, cur) = t.split_at_mut(l * n);
        let prev = &prev[(l - 1) * n..];
        for (q, c) in cur[..n].iter_mut().enumerate() {
            let mut sum: u128 = 0;
            for &s in dfa.row(q as u32) {
                if s != NONE {
                    sum = sum.checked_add(prev[s as usize])?;
                }
            }
            *c = sum;
        }
    }
    Some(t)
}

fn log_table(dfa: &Dfa, max_len: usize) -> Vec<f64> {
    let n = dfa.num_states();
    let mut t = vec![f64::NEG_INFINITY; (max_len + 1) * n];
    for (c, &a) in t.iter_mut().zip(dfa.accepting()) {
        if a {
            *c = 0.0;
        }
    }
    let mut terms = Vec::with_capacity(dfa.num_symbols());
    for l in 1..=max_len {
        let (prev, cur) = t.split_at_mut(l * n);
        let prev = &prev[(l - 1) * n..];
        for (q, c) in cur[..n].iter_mut().enumerate() {
            terms.clear();
            terms.extend(
                dfa.row(q as u32)
                    .iter()
                    .filter(|&&s| s != NONE)
                    .map(|&s| prev[s as usize]),
            );
            *c = log_sum_exp(&terms);
        }
    }
    t
}

pub(crate) fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// The number of strings of length `len` accepted by `dfa`.
pub fn count(dfa: &Dfa, len: usize) -> Result<Count> {
    // Only two rows are needed; reuse the table code with a rolling window for exactness.
    crate::error::ensure(len <= MAX_COUNT_LENGTH, "length", || {
        format!("must be at most {MAX_COUNT_LENGTH}, got {len}")
    })?;
    let n = dfa.num_states();
    let mut prev: Vec<u128> = dfa.accepting().iter().map(|&a| a as u128).collect();
    let mut cur = vec![0u128; n];
    for _ in 0..len {
        let mut overflow = false;
        for (q, c) in cur.iter_mut().enumerate() {
            let mut sum: u128 = 0;
            for &s in dfa.row(q as u32) {
                if s != NONE {
                    match sum.checked_add(prev[s as usize]) {
                        Some(v) => sum = v,
                        None => overflow = true,
                    }
                }
            }
            *c = sum;
        }
        if overflow {
            let table = log_table(dfa, len);
            return Ok(Count::Log(table[len * n + dfa.start() as usize]));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Ok(Count::Exact(prev[dfa.start() as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tomita5_counts() {
        // both #0 and #1 even: states (p0, p1) = 0..4, state = 2*p0 + p1
        let table = vec![2, 1, 3, 0, 0, 3, 1, 2];
        let d = Dfa::new(2, table, vec![true, false, false, false], 0).unwrap();
        let want = [1u128, 0, 2, 0, 8, 0, 32, 0, 128, 0, 512, 0, 2048];
        for (n, &w) in want.iter().enumerate() {
            assert_eq!(count(&d, n).unwrap(), Count::Exact(w));
        }
    }

    #[test]
    fn falls_back_to_log_space() {
        let d = Dfa::new(2, vec![0, 0], vec![true], 0).unwrap();
        assert_eq!(count(&d, 127).unwrap(), Count::Exact(1u128 << 127));
        match count(&d, 200).unwrap() {
            Count::Log(l) => assert!((l - 200.0 * 2f64.ln()).abs() < 1e-9),
            c => panic!("expected log count, got {c:?}"),
        }
        assert!(!CountTable::new(&d, 200).unwrap().is_exact());
        assert!(CountTable::new(&d, 127).unwrap().is_exact());
    }
}
