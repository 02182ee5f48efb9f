//! Multi-query associative recall (MQAR) as defined by Zoology (`multiquery_ar`).
//!
//! Layout of one row of length `L` (`K` = `num_kv_pairs`, `P` = `num_passes`):
//! - context, positions `0 .. 2KP`: `k1 v1 k2 v2 ... kK vK`, repeated `P` times; the keys are
//!   `K` distinct ids from `[1, V/2)`, the values `K` distinct ids from `[V/2, V)`;
//! - queries: with `space = (L - 2KP) / 2`, key `i` reappears at `2KP + 2 g_i`, where the gaps
//!   `g_1..g_K` are drawn without replacement from `[0, space)` with weight `(g + 1)^(a - 1)`;
//! - labels are `-100` except at each query position, which holds the key's value (the label
//!   of position `t` is the token to predict after reading position `t`);
//! - every other query-region position is uniform over `[0, V)` (`random_non_queries`), or 0.
//!
//! Unlike the reference, the filler is drawn from the item's own generator.

use super::sampling::{distinct, Dice, Scratch, WeightedUrn};
use super::{check, Row, RowSampler, RowShape};
use crate::error::Result;

/// Largest vocabulary and sequence length.
pub const MAX_VOCAB: usize = 1 << 20;
pub const MAX_LENGTH: usize = 1 << 24;

/// Configuration of the `mqar` task (Zoology's parameter names).
#[derive(Clone, Debug, PartialEq)]
pub struct MqarConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub num_kv_pairs: usize,
    pub num_passes: usize,
    pub power_a: f64,
    pub random_non_queries: bool,
}

impl MqarConfig {
    /// Checks Zoology's constraints; the error names the first that fails.
    pub fn validate(&self) -> Result<()> {
        let (v, l, k, p) = (
            self.vocab_size,
            self.length,
            self.num_kv_pairs,
            self.num_passes,
        );
        check((4..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 4..={MAX_VOCAB}, got {v}")
        })?;
        check((2..=MAX_LENGTH).contains(&l), "length", || {
            format!("must be in 2..={MAX_LENGTH}, got {l}")
        })?;
        check(l % 2 == 0, "length", || {
            format!("must be even (keys and queries sit on even positions), got {l}")
        })?;
        check(k >= 1, "num_kv_pairs", || "must be >= 1, got 0".into())?;
        check(p >= 1, "num_passes", || "must be >= 1, got 0".into())?;
        let keys = v / 2 - 1;
        check(k <= keys, "vocab_size", || {
            format!("too small for the number of pairs: keys come from [1, vocab_size/2) which holds {keys} distinct keys, fewer than num_kv_pairs = {k}")
        })?;
        let needed = (2 * k as u128) * (p as u128 + 1);
        check(needed <= l as u128, "length", || {
            format!("sequence too short: the context (2*num_kv_pairs*num_passes = {}) plus one query slot pair per key (2*num_kv_pairs = {}) needs {needed} positions, got length = {l}", 2 * k * p, 2 * k)
        })?;
        check(v > l, "vocab_size", || {
            format!("must exceed length (Zoology's constraint vocab_size > length), got vocab_size = {v} <= {l}")
        })?;
        check(
            self.power_a.is_finite() && self.power_a > 0.0 && self.power_a <= 16.0,
            "power_a",
            || format!("must be in (0, 16], got {}", self.power_a),
        )?;
        Ok(())
    }
}

/// A validated MQAR sampler with its gap distribution precomputed.
pub struct Mqar {
    cfg: MqarConfig,
    gaps: WeightedUrn,
}

impl Mqar {
    pub fn new(cfg: MqarConfig) -> Result<Self> {
        cfg.validate()?;
        let space = (cfg.length - 2 * cfg.num_kv_pairs * cfg.num_passes) / 2;
        let weights = gap_weights(space, cfg.power_a);
        Ok(Mqar {
            gaps: WeightedUrn::new(weights),
            cfg,
        })
    }

    pub fn config(&self) -> &MqarConfig {
        &self.cfg
    }
}

/// Unnormalised weights of the gaps `0 .. space`: `(g + 1)^(a - 1)` (Zoology's `a g^(a-1)`
/// over `g = 1 .. space`, the constant `a` dropped).
pub fn gap_weights(space: usize, a: f64) -> Vec<f64> {
    (1..=space).map(|g| (g as f64).powf(a - 1.0)).collect()
}

impl RowSampler for Mqar {
    fn vocab_size(&self) -> usize {
        self.cfg.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.cfg.length,
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let c = &self.cfg;
        let (v, k) = (c.vocab_size as u32, c.num_kv_pairs);
        let half = v / 2;
        let mut keys = std::mem::take(&mut scratch.a);
        let mut values = std::mem::take(&mut scratch.b);
        keys.resize(k, 0);
        values.resize(k, 0);
        distinct(dice, 1, half - 1, &mut keys, scratch);
        distinct(dice, half, v - half, &mut values, scratch);

        let context = 2 * k * c.num_passes;
        for pass in row.tokens[..context].chunks_exact_mut(2 * k) {
            for (pair, (&key, &value)) in pass.chunks_exact_mut(2).zip(keys.iter().zip(&values)) {
                pair[0] = key;
                pair[1] = value;
            }
        }
        let queries = &mut row.tokens[context..];
        if c.random_non_queries {
            for tok in queries.iter_mut() {
                *tok = dice.below(v);
            }
        }
        let mut gaps = std::mem::take(&mut scratch.d);
        gaps.resize(k, 0);
        self.gaps.draw(dice, &mut gaps, scratch);
        for ((&g, &key), &value) in gaps.iter().zip(&keys).zip(&values) {
            let at = context + 2 * g as usize;
            row.tokens[at] = key;
            row.labels[at] = value as i64;
        }
        scratch.d = gaps;
        scratch.a = keys;
        scratch.b = values;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recall::{generate, IGNORE};
    use crate::rng::StreamKey;

    fn cfg(v: usize, l: usize, k: usize, p: usize) -> MqarConfig {
        MqarConfig {
            vocab_size: v,
            length: l,
            num_kv_pairs: k,
            num_passes: p,
            power_a: 0.01,
            random_non_queries: true,
        }
    }

    #[test]
    fn refuses_impossible_combinations_naming_the_constraint() {
        let err = |c: MqarConfig| c.validate().unwrap_err().to_string();
        assert!(err(cfg(8192, 63, 4, 1)).contains("even"));
        assert!(err(cfg(8192, 64, 17, 1)).contains("sequence too short"));
        assert!(err(cfg(8192, 64, 11, 2)).contains("sequence too short"));
        assert!(err(cfg(64, 256, 32, 1)).contains("too small for the number of pairs"));
        assert!(err(cfg(64, 64, 4, 1)).contains("vocab_size > length"));
        assert!(cfg(8192, 64, 16, 1).validate().is_ok());
        assert!(cfg(8192, 64, 8, 3).validate().is_ok());
    }

    #[test]
    fn rows_follow_the_layout() {
        let m = Mqar::new(cfg(300, 256, 32, 2)).unwrap();
        let b = generate::<i32, _>(&m, StreamKey::new(1, 1), 0, 20, Some(2)).unwrap();
        for (tok, lab) in b.tokens.chunks(256).zip(b.labels.chunks(256)) {
            let kv = &tok[..64];
            assert_eq!(&tok[64..128], kv);
            for pair in kv.chunks(2) {
                assert!((1..150).contains(&pair[0]) && (150..300).contains(&pair[1]));
            }
            let labelled: Vec<usize> = (0..256).filter(|&t| lab[t] != IGNORE).collect();
            assert_eq!(labelled.len(), 32);
            for t in labelled {
                assert!(t >= 128 && t % 2 == 0);
                let i = kv.iter().position(|&x| x == tok[t]).unwrap();
                assert_eq!(lab[t], kv[i + 1] as i64);
            }
        }
    }
}
