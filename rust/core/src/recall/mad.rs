//! MAD's recall-type tasks (athms/mad-lab, `mad/data/instances.py`): in-context recall (plain
//! and noisy, single- or multi-query), memorization and compression.

use super::sampling::{Dice, Scratch};
use super::{check, Row, RowSampler, RowShape, IGNORE};
use crate::error::Result;
use crate::rng::StreamKey;

pub const MAX_VOCAB: usize = 1 << 20;
pub const MAX_LENGTH: usize = 1 << 24;

/// Which targets a recall row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// MAD's training targets: the next token at every position.
    NextToken,
    /// MAD's test targets: `-100` except where the next token is a recallable value.
    Recall,
}

fn check_noise(vocab_left: usize, noise_vocab_size: usize, frac_noise: f64) -> Result<()> {
    check(
        frac_noise.is_finite() && (0.0..1.0).contains(&frac_noise),
        "frac_noise",
        || format!("must be in [0, 1), got {frac_noise}"),
    )?;
    check(
        frac_noise == 0.0 || noise_vocab_size > 0,
        "noise_vocab_size",
        || "must be > 0 when frac_noise > 0".into(),
    )?;
    check(vocab_left >= 2, "vocab_size", || {
        format!("leaves {vocab_left} ordinary tokens after the special and {noise_vocab_size} noise tokens; keys and values need at least 2")
    })
}

/// Configuration of `in_context_recall` (MAD's `generate_in_context_recall_instance`).
#[derive(Clone, Debug, PartialEq)]
pub struct RecallConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub multi_query: bool,
    pub noise_vocab_size: usize,
    pub frac_noise: f64,
    pub targets: Targets,
}

impl RecallConfig {
    /// Ordinary (key and value) tokens: `V - noise`, less the copy prefix when single-query.
    pub fn ordinary(&self) -> usize {
        (self.vocab_size - usize::from(!self.multi_query)).saturating_sub(self.noise_vocab_size)
    }

    /// Row length: `length` single-query (copy prefix included), `length - 1` multi-query.
    pub fn length(&self) -> usize {
        self.length - usize::from(self.multi_query)
    }

    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.length);
        check((2..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 2..={MAX_VOCAB}, got {v}")
        })?;
        check(
            (4..=MAX_LENGTH).contains(&l) && l % 2 == 0,
            "length",
            || format!("must be even and in 4..={MAX_LENGTH} (pairs of tokens), got {l}"),
        )?;
        check_noise(self.ordinary(), self.noise_vocab_size, self.frac_noise)
    }
}

impl RowSampler for RecallConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn shape(&self) -> RowShape {
        RowShape {
            length: self.length(),
            labels: true,
            ints: 0,
            reals: 0,
        }
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        let n = self.ordinary() as u32;
        let (n_keys, n_values) = (n / 2, n - n / 2);
        let pairs = self.length / 2 - 1;
        let mut map = std::mem::take(&mut scratch.a);
        map.clear();
        map.resize(n_keys as usize, u32::MAX);
        let mut shown = std::mem::take(&mut scratch.b);
        shown.clear();
        let raw = &mut scratch.c;
        raw.clear();
        let targets = &mut scratch.wide;
        targets.clear();
        // MAD exempts one pair slot from noise so that a key is always shown; it draws the
        // slot from [0, length/2), which can miss the loop; we draw it from the loop's range.
        let exempt = dice.below(pairs as u32) as usize;
        for i in 0..pairs {
            if self.frac_noise > 0.0 && i != exempt && dice.chance(self.frac_noise) {
                for _ in 0..2 {
                    raw.push(n + dice.below(self.noise_vocab_size as u32));
                    targets.push(IGNORE);
                }
                continue;
            }
            let k = dice.below(n_keys);
            let known = map[k as usize] != u32::MAX;
            if !known {
                map[k as usize] = n_keys + dice.below(n_values);
                shown.push(k);
            }
            let value = map[k as usize];
            raw.extend([k, value]);
            let recallable = known && self.multi_query;
            targets.extend([IGNORE, if recallable { value as i64 } else { IGNORE }]);
        }
        let probe = shown[dice.below(shown.len() as u32) as usize];
        if !self.multi_query {
            raw.push(self.vocab_size as u32 - 1);
            targets.push(IGNORE);
        }
        raw.extend([probe, map[probe as usize]]);
        targets.extend([IGNORE, map[probe as usize] as i64]);
        row.tokens.copy_from_slice(&raw[..raw.len() - 1]);
        match self.targets {
            Targets::NextToken => {
                for (dst, &src) in row.labels.iter_mut().zip(&raw[1..]) {
                    *dst = src as i64;
                }
            }
            Targets::Recall => row.labels.copy_from_slice(&targets[1..]),
        }
        scratch.a = map;
        scratch.b = shown;
    }
}

/// Configuration of `memorization`: a fixed key-to-value map learnt across the dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct MemorizationConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub noise_vocab_size: usize,
    pub frac_noise: f64,
    /// Seeds the map (a function of the configuration only, shared by every stream).
    pub map_seed: u64,
}

/// A memorization sampler with its fixed map.
pub struct Memorization {
    cfg: MemorizationConfig,
    map: Vec<u32>,
}

impl MemorizationConfig {
    /// Ordinary tokens `V - 1 - noise`: keys are the lower half, values the upper half.
    pub fn ordinary(&self) -> usize {
        (self.vocab_size - 1).saturating_sub(self.noise_vocab_size)
    }

    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.length);
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB}, got {v}")
        })?;
        check(
            (2..=MAX_LENGTH).contains(&l) && l % 2 == 0,
            "length",
            || format!("must be even and in 2..={MAX_LENGTH} (key, insert-token pairs), got {l}"),
        )?;
        check_noise(self.ordinary(), self.noise_vocab_size, self.frac_noise)
    }
}

impl Memorization {
    pub fn new(cfg: MemorizationConfig) -> Result<Self> {
        cfg.validate()?;
        let n = cfg.ordinary() as u32;
        let n_keys = n / 2;
        // A uniformly random injection: keys [0, n/2) onto a shuffled [n/2, n).
        let mut values: Vec<u32> = (n_keys..n).collect();
        let mut dice = Dice::new(StreamKey::new(cfg.map_seed, 0x006d_6170).item_rng(0));
        for i in (1..values.len()).rev() {
            let j = dice.below(i as u32 + 1) as usize;
            values.swap(i, j);
        }
        values.truncate(n_keys as usize);
        Ok(Memorization { cfg, map: values })
    }

    /// The value of each key `[0, n/2)`.
    pub fn map(&self) -> &[u32] {
        &self.map
    }
}

impl RowSampler for Memorization {
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

    fn fill(&self, dice: &mut Dice, _scratch: &mut Scratch, row: Row<'_>) {
        let c = &self.cfg;
        let n = c.ordinary() as u32;
        let insert = c.vocab_size as u32 - 1;
        let pairs = c.length / 2;
        let exempt = dice.below(pairs as u32) as usize;
        for (i, (tok, lab)) in row
            .tokens
            .chunks_exact_mut(2)
            .zip(row.labels.chunks_exact_mut(2))
            .enumerate()
        {
            if c.frac_noise > 0.0 && i != exempt && dice.chance(c.frac_noise) {
                tok[0] = n + dice.below(c.noise_vocab_size as u32);
                tok[1] = n + dice.below(c.noise_vocab_size as u32);
                continue;
            }
            let k = dice.below(self.map.len() as u32);
            tok[0] = k;
            tok[1] = insert;
            lab[1] = self.map[k as usize] as i64;
        }
    }
}

/// Configuration of `compression`: `length - 1` uniform tokens then the compression token.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressionConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub noise_vocab_size: usize,
    pub frac_noise: f64,
}

impl CompressionConfig {
    pub fn ordinary(&self) -> usize {
        (self.vocab_size - 1).saturating_sub(self.noise_vocab_size)
    }

    pub fn validate(&self) -> Result<()> {
        let (v, l) = (self.vocab_size, self.length);
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB}, got {v}")
        })?;
        check((2..=MAX_LENGTH).contains(&l), "length", || {
            format!("must be in 2..={MAX_LENGTH}, got {l}")
        })?;
        check_noise(self.ordinary(), self.noise_vocab_size, self.frac_noise)
    }
}

impl RowSampler for CompressionConfig {
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

    fn fill(&self, dice: &mut Dice, _scratch: &mut Scratch, row: Row<'_>) {
        let n = self.ordinary() as u32;
        let last = self.length - 1;
        for tok in &mut row.tokens[..last] {
            *tok = dice.below(n);
        }
        if self.frac_noise > 0.0 {
            for tok in &mut row.tokens[..last] {
                if dice.chance(self.frac_noise) {
                    *tok = n + dice.below(self.noise_vocab_size as u32);
                }
            }
        }
        row.tokens[last] = self.vocab_size as u32 - 1;
        // MAD returns the inputs themselves as the targets (an autoencoding objective).
        for (dst, &src) in row.labels.iter_mut().zip(row.tokens.iter()) {
            *dst = src as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recall::generate;

    #[test]
    fn recall_rows_have_consistent_pairs_and_probe() {
        for multi in [false, true] {
            let cfg = RecallConfig {
                vocab_size: 32,
                length: 64,
                multi_query: multi,
                noise_vocab_size: 16,
                frac_noise: 0.3,
                targets: Targets::Recall,
            };
            cfg.validate().unwrap();
            let t = cfg.length();
            let b = generate::<i32, _>(&cfg, StreamKey::new(0, 1), 0, 30, Some(2)).unwrap();
            for (tok, lab) in b.tokens.chunks(t).zip(b.labels.chunks(t)) {
                let probe = tok[t - 1];
                assert!(probe < 8);
                assert_eq!(lab[t - 1] as i32, {
                    let at = tok[..t - 1]
                        .chunks(2)
                        .find(|p| p[0] == probe)
                        .expect("probe key was shown");
                    at[1]
                });
                if !multi {
                    assert_eq!(tok[t - 2], 31);
                }
            }
        }
    }

    #[test]
    fn memorization_map_is_an_injection_fixed_by_its_seed() {
        let cfg = MemorizationConfig {
            vocab_size: 256,
            length: 32,
            noise_vocab_size: 0,
            frac_noise: 0.0,
            map_seed: 12345,
        };
        let a = Memorization::new(cfg.clone()).unwrap();
        let mut sorted = a.map().to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 127);
        assert!(sorted.iter().all(|&v| (127..255).contains(&v)));
        assert_eq!(a.map(), Memorization::new(cfg).unwrap().map());
    }
}
