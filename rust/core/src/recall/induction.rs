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
    pub seq_len: usize,
    /// Label every next token (H3's training targets) instead of only the answer.
    pub all_targets: bool,
}

impl InductionConfig {
    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.seq_len);
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB} (\".\", \"=>\" and at least one ordinary token), got {v}")
        })?;
        check((3..=MAX_LENGTH).contains(&l), "seq_len", || {
            format!("must be in 3..={MAX_LENGTH} (the trigger needs a position in [0, seq_len - 2)), got {l}")
        })
    }
}

impl RowSampler for InductionConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.seq_len + 1,
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, _scratch: &mut Scratch, row: Row<'_>) {
        let (v, l) = (self.vocab_size as u32, self.seq_len);
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
