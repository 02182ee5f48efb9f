//! Exact-length sampling, uniform over derivations: a counting DP over (nonterminal,
//! length) on the binarised grammar (Hickey & Cohen 1983; McKenzie 1997), then top-down
//! choices weighted by the counts. Uniform over strings when the grammar is unambiguous.
//!
//! Counts are floats (relative precision 1e-16, enough for sampling); a grammar with ε rules
//! or a cycle of unit rules (infinitely many derivations of a length) is refused.

use rand::RngExt;
use rayon::prelude::*;

use super::cnf::{Binarised, Origin};
use super::Grammar;
use crate::error::{KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{ItemRng, StreamKey};

/// Largest length for exact-length sampling.
pub const MAX_LENGTH: usize = 1 << 16;

/// Derivation counts by length, ready to sample.
pub struct LengthSampler {
    b: Binarised,
    length: usize,
    /// `count[X * (length + 1) + l]`.
    count: Vec<f64>,
    unary_order: Vec<u32>,
}

fn refuse(m: impl Into<String>) -> KleeneError {
    KleeneError::invalid("grammar", m)
}

impl LengthSampler {
    pub fn new(g: &Grammar, length: usize) -> Result<Self> {
        if !(1..=MAX_LENGTH).contains(&length) {
            return Err(KleeneError::invalid(
                "length",
                format!("must be in 1..={MAX_LENGTH}, got {length}"),
            ));
        }
        let b = Binarised::new(g).with_unit_weights();
        if !b.epsilon.is_empty() {
            return Err(refuse(
                "exact-length sampling needs a grammar without ε rules",
            ));
        }
        let n = b.num_nonterminals;
        let mut pulls = vec![Vec::new(); n];
        for u in &b.unary {
            pulls[u.lhs as usize].push(u.child);
        }
        let unary_order = super::topological_order(&pulls).ok_or_else(|| {
            refuse("exact-length sampling needs a grammar without cycles of unit rules")
        })?;
        let w = length + 1;
        check_elements("length counts", &[n, w], 8)?;
        let mut count = vec![0.0f64; n * w];
        let mut by_lhs: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (r, rule) in b.binary.iter().enumerate() {
            by_lhs[rule.lhs as usize].push(r);
        }
        for l in 1..=length {
            if l == 1 {
                for r in &b.lexical {
                    count[r.lhs as usize * w + 1] += 1.0;
                }
            }
            for x in 0..n {
                for &r in &by_lhs[x] {
                    let rule = b.binary[r];
                    let (y, c) = (rule.left as usize * w, rule.right as usize * w);
                    let s: f64 = (1..l).map(|l1| count[y + l1] * count[c + l - l1]).sum();
                    count[x * w + l] += s;
                }
            }
            for &x in &unary_order {
                for u in b.unary.iter().filter(|u| u.lhs == x) {
                    count[x as usize * w + l] += count[u.child as usize * w + l];
                }
            }
        }
        if !count[length].is_finite() {
            return Err(KleeneError::invalid(
                "length",
                format!("{length} is too long: the number of derivations overflows a float"),
            ));
        }
        Ok(LengthSampler {
            b,
            length,
            count,
            unary_order,
        })
    }

    /// Number of derivations of strings of the length (as a float).
    pub fn num_derivations(&self) -> f64 {
        self.count[self.length]
    }

    fn c(&self, x: u32, l: usize) -> f64 {
        self.count[x as usize * (self.length + 1) + l]
    }

    /// One string (terminal indices), uniform over derivations of the length.
    pub fn sample(&self, rng: &mut ItemRng, out: &mut Vec<u32>) {
        out.clear();
        let mut stack = vec![(0u32, self.length)];
        while let Some((x, l)) = stack.pop() {
            let mut u = rng.random::<f64>() * self.c(x, l);
            let mut last = None;
            if l == 1 {
                for r in self.b.lexical.iter().filter(|r| r.lhs == x) {
                    last = Some(Pick::Lex(r.terminal));
                    u -= 1.0;
                    if u < 0.0 {
                        break;
                    }
                }
            }
            if u >= 0.0 {
                'outer: for rule in self.b.binary.iter().filter(|r| r.lhs == x) {
                    for l1 in 1..l {
                        let k = self.c(rule.left, l1) * self.c(rule.right, l - l1);
                        if k > 0.0 {
                            last = Some(Pick::Split(rule.left, l1, rule.right, l - l1));
                            u -= k;
                            if u < 0.0 {
                                break 'outer;
                            }
                        }
                    }
                }
            }
            if u >= 0.0 {
                for r in self.b.unary.iter().filter(|r| r.lhs == x) {
                    if self.c(r.child, l) > 0.0 {
                        last = Some(Pick::Unit(r.child));
                        u -= self.c(r.child, l);
                        if u < 0.0 {
                            break;
                        }
                    }
                }
            }
            // Rounding may leave u marginally >= 0: take the last option with weight.
            match last.expect("count > 0 implies an option") {
                Pick::Lex(t) => out.push(t),
                Pick::Split(y, l1, c, l2) => {
                    stack.push((c, l2));
                    stack.push((y, l1));
                }
                Pick::Unit(y) => stack.push((y, l)),
            }
        }
        let _ = (&self.unary_order, Origin::Intermediate);
    }
}

enum Pick {
    Lex(u32),
    Split(u32, usize, u32, usize),
    Unit(u32),
}

/// Items `start..start + count` of the stream: tokens `[count, length]`.
pub fn generate(
    g: &Grammar,
    length: usize,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<Vec<u32>> {
    let s = LengthSampler::new(g, length)?;
    if s.num_derivations() == 0.0 {
        return Err(KleeneError::invalid(
            "length",
            format!("the grammar has no string of length {length}"),
        ));
    }
    let n = check_elements("uniform-length batch", &[count, length], 4)?;
    let mut tokens = vec![0u32; n];
    let fill = |i: usize, row: &mut [u32]| {
        let mut buf = Vec::with_capacity(length);
        s.sample(&mut key.item_rng(start.wrapping_add(i as u64)), &mut buf);
        row.copy_from_slice(&buf);
    };
    with_threads(threads, || {
        tokens
            .par_chunks_mut(length)
            .enumerate()
            .for_each(|(i, row)| fill(i, row))
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::super::text::parse;
    use super::*;
    use crate::rng::item_rng;
    use std::collections::HashMap;

    #[test]
    fn uniform_over_derivations_of_the_length() {
        // Dyck-1 via S -> ( S ) S | ( ) S | ( S ) | ( ): unambiguous; length 8 has
        // Catalan(4) = 14 strings, each should get 1/14.
        let g = parse("S -> '(' S ')' S | '(' ')' S | '(' S ')' | '(' ')'", false).unwrap();
        let s = LengthSampler::new(&g, 8).unwrap();
        assert_eq!(s.num_derivations(), 14.0);
        let mut rng = item_rng(5, 0, 0);
        let mut hist: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut buf = Vec::new();
        let n = 28_000;
        for _ in 0..n {
            s.sample(&mut rng, &mut buf);
            assert_eq!(buf.len(), 8);
            *hist.entry(buf.clone()).or_default() += 1;
        }
        assert_eq!(hist.len(), 14);
        let e = n as f64 / 14.0;
        let chi2: f64 = hist.values().map(|&c| (c as f64 - e).powi(2) / e).sum();
        // 13 degrees of freedom: the 0.999 quantile is 34.5.
        assert!(chi2 < 34.5, "chi2 = {chi2}");
        assert!(LengthSampler::new(&parse("S -> a S | ε", false).unwrap(), 3).is_err());
    }
}
