//! Random binary sequences ("In-Context Learning Dynamics with Random Binary Sequences",
//! `ebigelow/ICL-Random-Binary`): Bernoulli coin flips and periodic concepts.
//!
//! Tokens are 0 / 1. The real side array is output-aligned: for every position `t` it holds
//! the Bayes-optimal probability that token `t + 1` is 1 given tokens `..=t` under the
//! generating process (the last position predicts the token after the sequence):
//! - Bernoulli with a fixed `p`: `p`;
//! - Bernoulli with `p ~ Uniform(0, 1)` per sequence: Laplace's rule
//!   `(ones in ..=t + 1) / (t + 3)`;
//! - a periodic concept drawn uniformly from a list (with a uniform phase when `random_phase`):
//!   the share of the concepts and phases consistent with the prefix that continue with 1;
//! - a uniformly random pattern of length `period`: 1/2 while `t + 1 < period`, then the
//!   token one period before `t + 1`.

use super::sampling::{Dice, Scratch};
use super::{check, Row, RowSampler, RowShape};
use crate::error::Result;

pub const MAX_LENGTH: usize = 1 << 24;
pub const MAX_PATTERN_TOTAL: usize = 4096;

#[derive(Clone, Debug, PartialEq)]
pub enum BinaryKind {
    /// `None`: a fresh `p ~ Uniform(0, 1)` per sequence.
    Bernoulli { p: Option<f64> },
    /// Repeats of one concept from `patterns`; an empty list means a uniform pattern of
    /// length `period`.
    Periodic {
        patterns: Vec<Vec<u8>>,
        period: usize,
        random_phase: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct BinaryConfig {
    pub kind: BinaryKind,
    pub length: usize,
}

impl BinaryConfig {
    pub fn validate(&self) -> Result<()> {
        check((1..=MAX_LENGTH).contains(&self.length), "length", || {
            format!("must be in 1..={MAX_LENGTH}, got {}", self.length)
        })?;
        match &self.kind {
            BinaryKind::Bernoulli { p: Some(p) } => {
                check(p.is_finite() && (0.0..=1.0).contains(p), "p", || {
                    format!("must be in [0, 1], got {p}")
                })
            }
            BinaryKind::Bernoulli { p: None } => Ok(()),
            BinaryKind::Periodic {
                patterns, period, ..
            } => {
                if patterns.is_empty() {
                    return check((1..=64).contains(period), "period", || {
                        format!("must be in 1..=64 when no patterns are given, got {period}")
                    });
                }
                let total: usize = patterns.iter().map(Vec::len).sum();
                check(total <= MAX_PATTERN_TOTAL, "patterns", || {
                    format!("must hold at most {MAX_PATTERN_TOTAL} symbols in all, got {total}")
                })?;
                check(
                    patterns
                        .iter()
                        .all(|p| !p.is_empty() && p.iter().all(|&b| b <= 1)),
                    "patterns",
                    || "each pattern must be a non-empty string of 0 and 1".into(),
                )
            }
        }
    }
}

impl RowSampler for BinaryConfig {
    fn vocab_size(&self) -> usize {
        2
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.length,
            labels: false,
            ints: 0,
            reals: self.length,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        match &self.kind {
            BinaryKind::Bernoulli { p: Some(p) } => {
                for (tok, prob) in row.tokens.iter_mut().zip(row.reals.iter_mut()) {
                    *tok = dice.chance(*p) as u32;
                    *prob = *p as f32;
                }
            }
            BinaryKind::Bernoulli { p: None } => {
                let p = dice.unit();
                let mut ones = 0u32;
                for (t, (tok, prob)) in row.tokens.iter_mut().zip(row.reals.iter_mut()).enumerate()
                {
                    *tok = dice.chance(p) as u32;
                    ones += *tok;
                    *prob = ((ones + 1) as f64 / (t + 3) as f64) as f32;
                }
            }
            BinaryKind::Periodic {
                patterns, period, ..
            } if patterns.is_empty() => {
                let bits = dice.next_u64();
                for (t, tok) in row.tokens.iter_mut().enumerate() {
                    *tok = (bits >> (t % period) & 1) as u32;
                }
                for (t, prob) in row.reals.iter_mut().enumerate() {
                    *prob = if t + 1 < *period {
                        0.5
                    } else {
                        row.tokens[t + 1 - period] as f32
                    };
                }
            }
            BinaryKind::Periodic {
                patterns,
                random_phase,
                ..
            } => periodic_from_list(patterns, *random_phase, dice, scratch, row),
        }
    }
}

/// One concept from `patterns`, with the exact posterior predictive over (concept, phase).
fn periodic_from_list(
    patterns: &[Vec<u8>],
    random_phase: bool,
    dice: &mut Dice,
    scratch: &mut Scratch,
    row: Row<'_>,
) {
    let chosen = &patterns[dice.below(patterns.len() as u32) as usize];
    let phase = if random_phase {
        dice.below(chosen.len() as u32) as usize
    } else {
        0
    };
    for (t, tok) in row.tokens.iter_mut().enumerate() {
        *tok = chosen[(t + phase) % chosen.len()] as u32;
    }
    // Candidates (pattern, phase), each with prior weight 1 / (#patterns * #phases).
    let alive = &mut scratch.wide;
    alive.clear();
    let mut cands: Vec<(usize, usize, f64)> = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        let phases = if random_phase { p.len() } else { 1 };
        for ph in 0..phases {
            cands.push((i, ph, 1.0 / phases as f64));
        }
    }
    alive.resize(cands.len(), 1);
    for t in 0..row.tokens.len() {
        let x = row.tokens[t] as u8;
        for (c, &(i, ph, _)) in cands.iter().enumerate() {
            let p = &patterns[i];
            if p[(t + ph) % p.len()] != x {
                alive[c] = 0;
            }
        }
        // The posterior share of survivors whose next symbol (at `t + 1`) is 1.
        let (mut total, mut one) = (0.0, 0.0);
        for (c, &(i, ph, w)) in cands.iter().enumerate() {
            if alive[c] == 1 {
                let p = &patterns[i];
                total += w;
                if p[(t + 1 + ph) % p.len()] == 1 {
                    one += w;
                }
            }
        }
        row.reals[t] = (one / total) as f32;
    }
}
