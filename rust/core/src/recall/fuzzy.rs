//! MAD's fuzzy in-context recall (`generate_fuzzy_in_context_recall_instance`): keys and
//! values are ordered tuples of 1 ..= `k_motif_size` (`v_motif_size`) distinct tokens.
//!
//! Ids: `N` ordinary tokens (`V - 1 - noise` multi-query, `V - 2 - noise` single-query), keys
//! `[0, N/2)`, values `[N/2, N)`, noise `[N, N + noise)`; pad `V - 1` (multi) or `V - 2` with
//! copy prefix `V - 1` (single). A probe pair (key size uniform, or the maximum at test time;
//! value size uniform) is placed at the first pair boundary at or after an offset uniform in
//! `[0, L - 2|probe|)`; pairs (a tuple key bound on first sight to a uniform tuple value) or
//! noise runs are added while the length is below `L - |probe| - k_motif - v_motif`; then
//! (single-query: the copy prefix) the probe again. Left-padded to `L + 1` and shifted.
//! As in MAD, an offset beyond the last pair boundary leaves the probe shown only at the end.

use std::collections::HashMap;

use super::sampling::{distinct, Dice, Scratch};
use super::{check, Row, RowSampler, RowShape, IGNORE};
use crate::error::Result;

pub const MAX_MOTIF: usize = 4;
pub const MAX_VOCAB: usize = 1 << 15;
pub const MAX_LENGTH: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct FuzzyConfig {
    pub vocab_size: usize,
    pub length: usize,
    pub k_motif_size: usize,
    pub v_motif_size: usize,
    pub multi_query: bool,
    pub noise_vocab_size: usize,
    pub frac_noise: f64,
    /// Test split: keys always of the maximum size, and MAD's recall targets.
    pub test: bool,
}

impl FuzzyConfig {
    pub fn ordinary(&self) -> usize {
        (self.vocab_size - 1 - usize::from(!self.multi_query)).saturating_sub(self.noise_vocab_size)
    }

    pub fn validate(&self) -> Result<()> {
        let (v, l, km, vm) = (
            self.vocab_size,
            self.length,
            self.k_motif_size,
            self.v_motif_size,
        );
        check((3..=MAX_VOCAB).contains(&v), "vocab_size", || {
            format!("must be in 3..={MAX_VOCAB}, got {v}")
        })?;
        check((1..=MAX_MOTIF).contains(&km), "k_motif_size", || {
            format!("must be in 1..={MAX_MOTIF}, got {km}")
        })?;
        check((1..=MAX_MOTIF).contains(&vm), "v_motif_size", || {
            format!("must be in 1..={MAX_MOTIF}, got {vm}")
        })?;
        check(
            self.frac_noise.is_finite() && (0.0..1.0).contains(&self.frac_noise),
            "frac_noise",
            || format!("must be in [0, 1), got {}", self.frac_noise),
        )?;
        check(
            self.frac_noise == 0.0 || self.noise_vocab_size > 0,
            "noise_vocab_size",
            || "must be > 0 when frac_noise > 0".into(),
        )?;
        let n = self.ordinary();
        check(n / 2 >= km && n - n / 2 >= vm, "vocab_size", || {
            format!("leaves {n} ordinary tokens: {} keys and {} values, fewer than the motif sizes {km} and {vm} need", n / 2, n - n / 2)
        })?;
        let needed = 2 * (km + vm) + 2;
        check((needed..=MAX_LENGTH).contains(&l), "length", || {
            format!(
                "must be in {needed}..={MAX_LENGTH} (room for the probe twice and a pair), got {l}"
            )
        })
    }

    fn pad(&self) -> u32 {
        (self.vocab_size - 1 - usize::from(!self.multi_query)) as u32
    }
}

/// A tuple of up to four tokens packed as 16-bit `id + 1` digits (0 = absent).
fn pack(t: &[u32]) -> u64 {
    t.iter().fold(0u64, |acc, &x| acc << 16 | (x as u64 + 1))
}

fn unpack(mut code: u64, out: &mut Vec<u32>) {
    let start = out.len();
    while code != 0 {
        out.push((code & 0xffff) as u32 - 1);
        code >>= 16;
    }
    out[start..].reverse();
}

impl FuzzyConfig {
    fn draw_tuple(
        &self,
        dice: &mut Dice,
        scratch: &mut Scratch,
        lo: u32,
        n: u32,
        size: usize,
    ) -> u64 {
        let mut buf = [0u32; MAX_MOTIF];
        distinct(dice, lo, n, &mut buf[..size], scratch);
        pack(&buf[..size])
    }

    fn key_size(&self, dice: &mut Dice) -> usize {
        if self.test {
            self.k_motif_size
        } else {
            1 + dice.below(self.k_motif_size as u32) as usize
        }
    }
}

impl RowSampler for FuzzyConfig {
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
        let n = self.ordinary() as u32;
        let (nk, nv) = (n / 2, n - n / 2);
        let l = self.length;
        let (km, vm) = (self.k_motif_size, self.v_motif_size);
        let kp_size = self.key_size(dice);
        let vp_size = 1 + dice.below(vm as u32) as usize;
        let k_probe = self.draw_tuple(dice, scratch, 0, nk, kp_size);
        let v_probe = self.draw_tuple(dice, scratch, nk, nv, vp_size);
        let probe_len = kp_size + vp_size;
        let probe_at = dice.below((l - 2 * probe_len) as u32) as usize;
        let mut bound: HashMap<u64, u64> = HashMap::new();
        let mut raw: Vec<u32> = Vec::with_capacity(l + 1);
        let mut tgt: Vec<i64> = Vec::with_capacity(l + 1);
        let mut probe_added = false;
        let mut tuple = Vec::with_capacity(MAX_MOTIF);
        while raw.len() < l - probe_len - (km + vm) {
            let k_size = self.key_size(dice);
            let v_size = 1 + dice.below(vm as u32) as usize;
            if raw.len() >= probe_at && !probe_added {
                unpack(k_probe, &mut raw);
                unpack(v_probe, &mut raw);
                tgt.resize(raw.len(), IGNORE);
                bound.insert(k_probe, v_probe);
                probe_added = true;
                continue;
            }
            if self.frac_noise > 0.0 && dice.chance(self.frac_noise) {
                for _ in 0..k_size + v_size {
                    raw.push(n + dice.below(self.noise_vocab_size as u32));
                    tgt.push(IGNORE);
                }
                continue;
            }
            let key = self.draw_tuple(dice, scratch, 0, nk, k_size);
            let seen = bound.contains_key(&key);
            let value = if key == k_probe {
                probe_added = true;
                v_probe
            } else if let Some(&v) = bound.get(&key) {
                v
            } else {
                self.draw_tuple(dice, scratch, nk, nv, v_size)
            };
            bound.insert(key, value);
            unpack(key, &mut raw);
            tgt.resize(raw.len(), IGNORE);
            tuple.clear();
            unpack(value, &mut tuple);
            raw.extend_from_slice(&tuple);
            let recall = seen && self.multi_query;
            tgt.extend(
                tuple
                    .iter()
                    .map(|&x| if recall { x as i64 } else { IGNORE }),
            );
        }
        if !self.multi_query {
            raw.push(self.vocab_size as u32 - 1);
            tgt.push(IGNORE);
        }
        unpack(k_probe, &mut raw);
        tgt.resize(raw.len(), IGNORE);
        tuple.clear();
        unpack(v_probe, &mut tuple);
        raw.extend_from_slice(&tuple);
        tgt.extend(tuple.iter().map(|&x| x as i64));
        // Left-pad to L + 1, then shift.
        let pad = l + 1 - raw.len();
        let (tok_pad, tok_rest) = row.tokens.split_at_mut(pad);
        tok_pad.fill(self.pad());
        tok_rest.copy_from_slice(&raw[..raw.len() - 1]);
        if self.test {
            row.labels[pad..].copy_from_slice(&tgt[1..]);
        } else {
            if pad > 0 {
                row.labels[..pad - 1].fill(self.pad() as i64);
                row.labels[pad - 1] = raw[0] as i64;
            }
            for (dst, &src) in row.labels[pad..].iter_mut().zip(&raw[1..]) {
                *dst = src as i64;
            }
        }
    }
}
