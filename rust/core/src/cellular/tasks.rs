//! Samplers of the registered tasks: `eca` windows as in "Intelligence at the Edge of Chaos"
//! and `life` (t, t + k) pairs as in LifeGPT. Item `i` is a pure function of the
//! configuration, the stream key and `i`.

use rand::RngExt;
use rayon::prelude::*;

use super::bits::{unpack_row, words_for};
use super::eca::{fill_bernoulli, Boundary, Eca};
use super::life::{Life, LifeBoundary, LifeRule};
use crate::error::{ensure, Result};
use crate::limits::{check_elements, check_work};
use crate::pool::with_threads;
use crate::rng::StreamKey;

/// Configuration of the `eca` task: each item is a window of `seq_length` rows (every
/// `stride`-th generation) and `sample_width` columns cut at a random time `t0` in
/// `0 ..= horizon - (seq_length - 1) * stride` and a random column from one of `trajectories`
/// trajectories of a width-`width` automaton started from Bernoulli(`density`) cells
/// (`trajectories == 0`: a fresh trajectory per item).
#[derive(Clone, Debug, PartialEq)]
pub struct EcaTaskConfig {
    pub rule: u32,
    pub width: usize,
    pub boundary: Boundary,
    pub density: f64,
    pub stride: usize,
    pub seq_length: usize,
    pub sample_width: usize,
    pub horizon: usize,
    pub trajectories: usize,
    /// Which time range windows come from (the paper splits each trajectory 90/10 in time).
    pub split: EcaSplit,
    /// Fraction of the generations `0..=horizon` that belong to the training split.
    pub train_fraction: f64,
}

/// The time range of an `eca` window: all generations, the first `train_fraction` of them,
/// or the rest. Trajectories are the same in every split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcaSplit {
    All,
    Train,
    Test,
}

impl EcaSplit {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "all" => Ok(EcaSplit::All),
            "train" => Ok(EcaSplit::Train),
            "test" => Ok(EcaSplit::Test),
            other => Err(crate::error::KleeneError::invalid(
                "split",
                format!("{other:?} is not one of all, train, test"),
            )),
        }
    }
}

/// An `eca` batch: `cells [B, seq_length, sample_width]`, and per item the start time,
/// start column and trajectory index.
pub struct EcaTaskBatch {
    pub cells: Vec<u8>,
    pub t0: Vec<i64>,
    pub col0: Vec<i64>,
    pub trajectory: Vec<i64>,
}

impl EcaTaskConfig {
    pub fn validate(&self) -> Result<Eca> {
        let eca = Eca::new(self.rule, self.width, self.boundary)?;
        ensure((0.0..=1.0).contains(&self.density), "density", || {
            format!("must be in [0, 1], got {}", self.density)
        })?;
        ensure(self.stride >= 1, "stride", || "must be >= 1".into())?;
        ensure(self.seq_length >= 1, "seq_length", || "must be >= 1".into())?;
        ensure(
            (1..=self.width).contains(&self.sample_width),
            "sample_width",
            || {
                format!(
                    "must be in 1..=width ({}), got {}",
                    self.width, self.sample_width
                )
            },
        )?;
        let span = (self.seq_length as u128 - 1) * self.stride as u128;
        ensure(span <= self.horizon as u128, "horizon", || {
            format!(
                "must be at least (seq_length - 1) * stride = {span}, got {}",
                self.horizon
            )
        })?;
        ensure(self.horizon <= 1 << 24, "horizon", || {
            "must be at most 2^24".into()
        })?;
        ensure(
            (0.0..=1.0).contains(&self.train_fraction),
            "train_fraction",
            || format!("must be in [0, 1], got {}", self.train_fraction),
        )?;
        let (lo, hi) = self.start_range();
        ensure(lo <= hi, "split", || {
            format!(
                "the {:?} split has no room for a window of {} generations (horizon {}, \
                 train_fraction {})",
                self.split,
                span + 1,
                self.horizon,
                self.train_fraction
            )
        })?;
        Ok(eca)
    }

    /// The allowed window starts `lo..=hi` (empty when `lo > hi`): the window's generations
    /// `t0 ..= t0 + span` lie inside the split's part of `0..=horizon`.
    pub fn start_range(&self) -> (i64, i64) {
        let span = ((self.seq_length.max(1) - 1) * self.stride) as i64;
        let h = self.horizon as i64;
        let cut = (self.train_fraction * (h + 1) as f64).floor() as i64;
        match self.split {
            EcaSplit::All => (0, h - span),
            EcaSplit::Train => (0, cut - 1 - span),
            EcaSplit::Test => (cut, h - span),
        }
    }
}

/// Items `start .. start + count` of the `eca` stream.
pub fn eca_batch(
    cfg: &EcaTaskConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<EcaTaskBatch> {
    let eca = cfg.validate()?;
    let (rows, cols) = (cfg.seq_length, cfg.sample_width);
    check_work(
        "the eca batch",
        &[count as u128, cfg.horizon as u128 + 1, eca.words() as u128],
    )?;
    let per = check_elements("eca batch", &[rows, cols], 1)?;
    let total = check_elements("eca batch", &[count, rows, cols], 1)?;
    let mut cells = vec![0u8; total];
    let (lo, hi) = cfg.start_range();
    let init_key = key.derive(1);
    let meta: Vec<[i64; 3]> = with_threads(threads, || {
        cells
            .par_chunks_mut(per.max(1))
            .enumerate()
            .map(|(i, dst)| {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                let traj = if cfg.trajectories > 0 {
                    rng.random_range(0..cfg.trajectories as u64)
                } else {
                    start.wrapping_add(i as u64)
                };
                let t0 = rng.random_range(lo as u64..=hi as u64) as usize;
                let col0 = rng.random_range(0..=(cfg.width - cols) as u64) as usize;
                let mut row = vec![0u64; eca.words()];
                fill_bernoulli(
                    &mut row,
                    cfg.width,
                    cfg.density,
                    &mut init_key.item_rng(traj),
                );
                let mut scratch = vec![0u64; row.len()];
                let mut crop = vec![0u64; words_for(cols)];
                eca.advance(&mut row, &mut scratch, t0);
                for (j, out) in dst.chunks_mut(cols.max(1)).enumerate() {
                    if j > 0 {
                        eca.advance(&mut row, &mut scratch, cfg.stride);
                    }
                    super::bits::extract_bits(&row, col0, cols, &mut crop);
                    unpack_row(&crop, out);
                }
                [t0 as i64, col0 as i64, traj as i64]
            })
            .collect()
    });
    Ok(EcaTaskBatch {
        cells,
        t0: meta.iter().map(|m| m[0]).collect(),
        col0: meta.iter().map(|m| m[1]).collect(),
        trajectory: meta.iter().map(|m| m[2]).collect(),
    })
}

/// Configuration of the `life` task: a `size x size` grid of Bernoulli(d) cells with the
/// density d uniform in `[density_low, density_high]` per item, run `warmup` generations
/// (the input), then `horizon` more (the target).
#[derive(Clone, Debug, PartialEq)]
pub struct LifeTaskConfig {
    pub rule: LifeRule,
    pub size: usize,
    pub boundary: LifeBoundary,
    pub density_low: f64,
    pub density_high: f64,
    pub warmup: usize,
    pub horizon: usize,
}

/// A `life` batch: `input` and `target` `[B, size, size]`, and the density of each item.
pub struct LifeTaskBatch {
    pub input: Vec<u8>,
    pub target: Vec<u8>,
    pub density: Vec<f64>,
}

impl LifeTaskConfig {
    pub fn validate(&self) -> Result<Life> {
        let life = Life::new(self.rule, self.size, self.size, self.boundary)?;
        let ok = 0.0 <= self.density_low
            && self.density_low <= self.density_high
            && self.density_high <= 1.0;
        ensure(ok, "density", || {
            format!(
                "needs 0 <= density_low <= density_high <= 1, got [{}, {}]",
                self.density_low, self.density_high
            )
        })?;
        ensure(
            self.horizon >= 1 && self.horizon <= 1 << 20,
            "horizon",
            || format!("must be in 1..=2^20, got {}", self.horizon),
        )?;
        ensure(self.warmup <= 1 << 20, "warmup", || {
            "must be at most 2^20".into()
        })?;
        Ok(life)
    }
}

/// Items `start .. start + count` of the `life` stream.
pub fn life_batch(
    cfg: &LifeTaskConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<LifeTaskBatch> {
    let life = cfg.validate()?;
    let n = cfg.size;
    check_work(
        "the life batch",
        &[
            count as u128,
            cfg.warmup as u128 + cfg.horizon as u128,
            life.grid_words() as u128,
        ],
    )?;
    let per = check_elements("life batch", &[n, n], 1)?;
    let total = check_elements("life batch", &[count, n, n], 1)?;
    let (mut input, mut target) = (vec![0u8; total], vec![0u8; total]);
    let nw = life.words();
    let density: Vec<f64> = with_threads(threads, || {
        input
            .par_chunks_mut(per.max(1))
            .zip(target.par_chunks_mut(per.max(1)))
            .enumerate()
            .map(|(i, (inp, tgt))| {
                let mut rng = key.item_rng(start.wrapping_add(i as u64));
                let u: f64 = rng.random();
                let d = cfg.density_low + (cfg.density_high - cfg.density_low) * u;
                let mut grid = vec![0u64; life.grid_words()];
                for row in grid.chunks_mut(nw) {
                    fill_bernoulli(row, n, d, &mut rng);
                }
                let mut next = vec![0u64; grid.len()];
                let mut scratch = super::life::LifeScratch::default();
                let mut run = |k: usize, grid: &mut Vec<u64>| {
                    for _ in 0..k {
                        life.step_with(grid, &mut next, &mut scratch);
                        std::mem::swap(grid, &mut next);
                    }
                };
                run(cfg.warmup, &mut grid);
                for (cells, packed) in inp.chunks_mut(n).zip(grid.chunks(nw)) {
                    unpack_row(packed, cells);
                }
                run(cfg.horizon, &mut grid);
                for (cells, packed) in tgt.chunks_mut(n).zip(grid.chunks(nw)) {
                    unpack_row(packed, cells);
                }
                d
            })
            .collect()
    });
    Ok(LifeTaskBatch {
        input,
        target,
        density,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cellular::eca::{run_cells, Init, Window};
    use crate::cellular::life::step_ref;

    #[test]
    fn eca_items_are_windows_of_their_trajectory() {
        let cfg = EcaTaskConfig {
            rule: 110,
            width: 200,
            boundary: Boundary::Periodic,
            density: 0.5,
            stride: 2,
            seq_length: 7,
            sample_width: 50,
            horizon: 40,
            trajectories: 3,
            split: EcaSplit::All,
            train_fraction: 0.9,
        };
        let key = StreamKey::new(4, 9);
        let batch = eca_batch(&cfg, key, 5, 6, Some(2)).unwrap();
        let eca = cfg.validate().unwrap();
        for i in 0..6 {
            let traj = batch.trajectory[i] as u64;
            assert!(traj < 3);
            let init = crate::cellular::eca::initial_rows(
                &Init::Bernoulli {
                    p: 0.5,
                    key: key.derive(1),
                    start: traj,
                },
                1,
                200,
            )
            .unwrap();
            let full = run_cells(&eca, &Window::full(40, 200), &init, Some(1)).unwrap();
            let (t0, c0) = (batch.t0[i] as usize, batch.col0[i] as usize);
            for j in 0..7 {
                let want = &full[(t0 + 2 * j) * 200 + c0..][..50];
                assert_eq!(&batch.cells[(i * 7 + j) * 50..][..50], want);
            }
        }
        let again = eca_batch(&cfg, key, 7, 2, Some(1)).unwrap();
        assert_eq!(&again.cells[..], &batch.cells[2 * 350..4 * 350]);
    }

    #[test]
    fn eca_splits_partition_time() {
        let mut cfg = EcaTaskConfig {
            rule: 30,
            width: 64,
            boundary: Boundary::Periodic,
            density: 0.5,
            stride: 1,
            seq_length: 5,
            sample_width: 64,
            horizon: 99,
            trajectories: 1,
            split: EcaSplit::Train,
            train_fraction: 0.9,
        };
        let key = StreamKey::new(1, 1);
        let train = eca_batch(&cfg, key, 0, 200, Some(1)).unwrap();
        assert!(train.t0.iter().all(|&t| (0..=85).contains(&t)));
        assert!(train.t0.contains(&0) && train.t0.contains(&85));
        cfg.split = EcaSplit::Test;
        let test = eca_batch(&cfg, key, 0, 200, Some(1)).unwrap();
        assert!(test.t0.iter().all(|&t| (90..=95).contains(&t)));
        cfg.horizon = 10;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn life_target_is_input_after_horizon_steps() {
        let cfg = LifeTaskConfig {
            rule: LifeRule::CONWAY,
            size: 32,
            boundary: LifeBoundary::Torus,
            density_low: 0.1,
            density_high: 0.9,
            warmup: 1,
            horizon: 3,
        };
        let batch = life_batch(&cfg, StreamKey::new(1, 1), 0, 8, Some(2)).unwrap();
        for i in 0..8 {
            let mut cur = batch.input[i * 1024..(i + 1) * 1024].to_vec();
            for _ in 0..3 {
                cur = step_ref(cfg.rule, cfg.boundary, &cur, 32, 32);
            }
            assert_eq!(&cur[..], &batch.target[i * 1024..(i + 1) * 1024]);
            assert!((0.1..=0.9).contains(&batch.density[i]));
        }
    }
}
