//! Induction heads as in H3 (`HazyResearch/safari`, `synthetics.py`) and Mamba's evaluation.
//!
//! Ids: 0 is H3's no-op "." (unused here), ordinary tokens are `1 ..= V - 2`, `V - 1` is the
//! copy prefix "=>". A row draws `L` uniform ordinary tokens, turns a position `p` uniform in
//! `[0, L - 2)` into "=>", and appends "=>" followed by the token that followed the first "=>"
//! (the answer). The `L + 2` tokens are shifted: the row holds the first `L + 1` and the labels
//! the last `L + 1` (all next tokens for training; only the answer for testing).

use super::sampling::{Dice, Scratch};
use super::{check, Row, RowSampler, RowShape};
use crate::error::Result;

pub const MAX_VOCAB: usize = 1 << 20;
pub const MAX_LENGTH: usize = 1 << 24;

#[derive(Clone, Debug, PartialEq)]
pub struct InductionConfig {
    pub vocab_size: usize,
    pub length: usize,
    /// Label every next token (H3's training targets) instead of only the answer.
    pub all_targets: bool,
}

impl InductionConfig {
    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.length);
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB} (\".\", \"=>\" and at least one ordinary token), got {v}")
        })?;
        check((3..=MAX_LENGTH).contains(&l), "length", || {
            format!("must be in 3..={MAX_LENGTH} (the trigger needs a position in [0, length - 2)), got {l}")
        })
    }
}

impl RowSampler for InductionConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.length + 1,
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, _scratch: &mut Scratch, row: Row<'_>) {
        let (v, l) = (self.vocab_size as u32, self.length);
        let trigger = v - 1;
        for tok in &mut row.tokens[..l] {
            *tok = 1 + dice.below(v - 2);
        }
        let p = dice.below(l as u32 - 2) as usize;
        row.tokens[p] = trigger;
        let answer = row.tokens[p + 1];
        row.tokens[l] = trigger;
        if self.all_targets {
            for (dst, &src) in row.labels.iter_mut().zip(&row.tokens[1..]) {
                *dst = src as i64;
            }
        }
        row.labels[l] = answer as i64;
    }
}

/// H3's associative recall (safari's `generate_assoc_recall`, one-token keys).
///
/// Ids as for induction heads: `.` = 0, ordinary `1 ..= V - 2` (keys: the lower half,
/// values: the upper half), `=>` = `V - 1`. Each row draws a map from every key to a uniform
/// value, `L / 2` key-value pairs with uniform keys, then `=>`, a query key (uniform over the
/// keys shown; with `allow_dot` uniform over all keys) and its value (`.` when the key was not
/// shown). Shifted: `T = 2 (L / 2) + 2`.
#[derive(Clone, Debug, PartialEq)]
pub struct AssocRecallConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub allow_dot: bool,
    pub all_targets: bool,
}

impl AssocRecallConfig {
    fn keys(&self) -> u32 {
        (self.vocab_size as u32 - 2) / 2
    }

    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.length);
        check((4..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 4..={MAX_VOCAB} (\".\", \"=>\", at least one key and one value), got {v}")
        })?;
        check((2..=MAX_LENGTH).contains(&l), "length", || {
            format!("must be in 2..={MAX_LENGTH} (at least one key-value pair), got {l}")
        })
    }
}

impl RowSampler for AssocRecallConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: 2 * (self.length / 2) + 2,
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let (nk, nv) = (self.keys(), self.vocab_size as u32 - 2 - self.keys());
        let map = &mut scratch.a;
        map.clear();
        map.extend((0..nk).map(|_| 1 + nk + dice.below(nv)));
        let shown = &mut scratch.b;
        shown.clear();
        shown.resize(nk as usize, 0);
        let pairs = self.length / 2;
        let mut distinct_shown = 0u32;
        for pair in row.tokens[..2 * pairs].chunks_exact_mut(2) {
            let k = dice.below(nk);
            distinct_shown += u32::from(shown[k as usize] == 0);
            shown[k as usize] = 1;
            pair[0] = 1 + k;
            pair[1] = map[k as usize];
        }
        let query = if self.allow_dot {
            dice.below(nk)
        } else {
            // Uniform over the keys shown: the j-th shown key in id order.
            let j = dice.below(distinct_shown);
            let mut seen = 0;
            (0..nk)
                .find(|&k| {
                    let hit = shown[k as usize] == 1 && seen == j;
                    seen += shown[k as usize];
                    hit
                })
                .expect("a shown key")
        };
        let answer = if shown[query as usize] == 1 {
            map[query as usize]
        } else {
            0
        };
        let t = 2 * pairs;
        row.tokens[t] = self.vocab_size as u32 - 1;
        row.tokens[t + 1] = 1 + query;
        if self.all_targets {
            for (dst, &src) in row.labels.iter_mut().zip(&row.tokens[1..]) {
                *dst = src as i64;
            }
        }
        row.labels[t + 1] = answer as i64;
    }
}
