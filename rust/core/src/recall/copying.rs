//! Copying and selective copying as in MAD (`generate_copying_instance`).
//!
//! Row of length `L` with `n` data tokens (uniform over `[0, V - 2)`), blank `V - 2` and copy
//! token `V - 1`: the data with `L - 2n - 1` blanks, the copy token, then `n` blanks. Plain
//! copying puts all blanks after the data; selective copying inserts each blank before a data
//! token chosen uniformly (so the last data token always precedes the copy token). Labels are
//! `-100` except on the last `n` positions, which hold the data in order (no shift).

use super::sampling::{Dice, Scratch};
use super::{check, Row, RowSampler, RowShape};
use crate::error::Result;

pub const MAX_VOCAB: usize = 1 << 20;
pub const MAX_LENGTH: usize = 1 << 24;

#[derive(Clone, Debug, PartialEq)]
pub struct CopyingConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub num_tokens_to_copy: usize,
    pub selective: bool,
}

impl CopyingConfig {
    pub fn validate(&self) -> Result<()> {
        let (v, l, n) = (self.vocab_size, self.length, self.num_tokens_to_copy);
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB} (data tokens plus blank and copy), got {v}")
        })?;
        check(n >= 1, "num_tokens_to_copy", || {
            "must be >= 1, got 0".into()
        })?;
        check(l <= MAX_LENGTH, "length", || {
            format!("must be at most {MAX_LENGTH}, got {l}")
        })?;
        let needed = 2 * n as u128 + 1;
        check(l as u128 > needed, "length", || {
            format!("must exceed 2*num_tokens_to_copy + 1 = {needed} (data, copy token and the answer slots, plus at least one blank), got {l}")
        })
    }
}

impl RowSampler for CopyingConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.length,
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let (v, l, n) = (self.vocab_size as u32, self.length, self.num_tokens_to_copy);
        let (blank, copy) = (v - 2, v - 1);
        let data = &mut scratch.a;
        data.clear();
        data.extend((0..n).map(|_| dice.below(v - 2)));
        let blanks = l - 2 * n - 1;
        let body = l - n - 1;
        if self.selective {
            let before = &mut scratch.b;
            before.clear();
            before.resize(n, 0);
            for _ in 0..blanks {
                before[dice.below(n as u32) as usize] += 1;
            }
            let mut t = 0;
            for (&x, &gap) in data.iter().zip(before.iter()) {
                row.tokens[t..t + gap as usize].fill(blank);
                t += gap as usize;
                row.tokens[t] = x;
                t += 1;
            }
        } else {
            row.tokens[..n].copy_from_slice(data);
            row.tokens[n..body].fill(blank);
        }
        row.tokens[body] = copy;
        row.tokens[body + 1..].fill(blank);
        for (dst, &x) in row.labels[body + 1..].iter_mut().zip(data.iter()) {
            *dst = x as i64;
        }
    }
}
