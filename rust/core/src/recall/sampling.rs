//! Exact sampling helpers shared by the recall tasks: distinct draws and weighted draws
//! without replacement.

pub use crate::sampler::{Dice, Scratch};

/// Writes `out.len()` distinct integers from `[lo, lo + n)` into `out`, a uniformly random
/// ordered sample (the law of `numpy.random.choice(..., replace=False)`).
pub fn distinct(dice: &mut Dice, lo: u32, n: u32, out: &mut [u32], scratch: &mut Scratch) {
    let k = out.len();
    debug_assert!(k as u64 <= n as u64);
    if 2 * k as u64 <= n as u64 {
        // Rejection against a bitset: at most half the range is taken, so < 2 draws per pick.
        let words = (n as usize).div_ceil(64);
        if scratch.bits.len() < words {
            scratch.bits.resize(words, 0);
        }
        for slot in out.iter_mut() {
            let x = loop {
                let x = dice.below(n);
                let (w, b) = ((x / 64) as usize, x % 64);
                if scratch.bits[w] >> b & 1 == 0 {
                    scratch.bits[w] |= 1 << b;
                    break x;
                }
            };
            *slot = lo + x;
        }
        for &x in out.iter() {
            scratch.bits[((x - lo) / 64) as usize] = 0;
        }
    } else {
        // Partial Fisher-Yates over the whole range.
        let pool = &mut scratch.c;
        pool.clear();
        pool.extend(0..n);
        for (i, slot) in out.iter_mut().enumerate() {
            let j = i + dice.below(n - i as u32) as usize;
            pool.swap(i, j);
            *slot = lo + pool[i];
        }
    }
}

/// Fixed weights over `[0, n)` sampled without replacement by successive draws (each pick
/// proportional to the weights of the items not yet picked), through a Fenwick tree.
#[derive(Clone, Debug)]
pub struct WeightedUrn {
    weights: Vec<f64>,
    tree: Vec<f64>,
    total: f64,
    top_bit: usize,
}

impl WeightedUrn {
    /// `weights` must be finite and positive.
    pub fn new(weights: Vec<f64>) -> Self {
        let n = weights.len();
        let mut tree = vec![0.0; n + 1];
        for i in 1..=n {
            tree[i] += weights[i - 1];
            let j = i + (i & i.wrapping_neg());
            if j <= n {
                tree[j] += tree[i];
            }
        }
        let total = weights.iter().sum();
        let top_bit = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        WeightedUrn {
            weights,
            tree,
            total,
            top_bit,
        }
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Fills `out` with distinct indices by successive weighted draws; `out.len() <= len()`.
    pub fn draw(&self, dice: &mut Dice, out: &mut [u32], scratch: &mut Scratch) {
        let n = self.weights.len();
        let tree = &mut scratch.tree;
        tree.clear();
        tree.extend_from_slice(&self.tree);
        let words = n.div_ceil(64);
        if scratch.bits.len() < words {
            scratch.bits.resize(words, 0);
        }
        let mut remaining = self.total;
        for slot in out.iter_mut() {
            let idx = loop {
                let idx = self.search(tree, dice.unit() * remaining);
                // Rounding can leave a removed item a sliver of mass, or push past the end.
                if idx < n && scratch.bits[idx / 64] >> (idx % 64) & 1 == 0 {
                    break idx;
                }
            };
            scratch.bits[idx / 64] |= 1 << (idx % 64);
            remaining -= self.weights[idx];
            let mut i = idx + 1;
            while i <= n {
                tree[i] -= self.weights[idx];
                i += i & i.wrapping_neg();
            }
            *slot = idx as u32;
        }
        for &x in out.iter() {
            scratch.bits[x as usize / 64] = 0;
        }
    }

    /// The number of leading items whose cumulative weight is at most `target`.
    #[inline]
    fn search(&self, tree: &[f64], mut target: f64) -> usize {
        let n = self.weights.len();
        let (mut pos, mut step) = (0, self.top_bit);
        while step > 0 {
            let next = pos + step;
            if next <= n && tree[next] <= target {
                pos = next;
                target -= tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::item_rng;

    #[test]
    fn distinct_draws_are_distinct_in_both_regimes() {
        let mut dice = Dice::new(item_rng(0, 0, 0));
        let mut scratch = Scratch::default();
        for (n, k) in [(100u32, 10usize), (10, 9), (5, 5), (64, 32), (65, 33)] {
            for _ in 0..50 {
                let mut out = vec![0; k];
                distinct(&mut dice, 3, n, &mut out, &mut scratch);
                let mut sorted = out.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), k);
                assert!(out.iter().all(|&x| (3..3 + n).contains(&x)));
            }
            assert!(scratch.bits.iter().all(|&w| w == 0));
        }
    }

    #[test]
    fn urn_first_draw_follows_the_weights() {
        let urn = WeightedUrn::new(vec![1.0, 2.0, 3.0, 4.0, 0.5]);
        let mut dice = Dice::new(item_rng(5, 5, 5));
        let mut scratch = Scratch::default();
        let mut counts = [0f64; 5];
        let trials = 105_000;
        for _ in 0..trials {
            let mut out = [0u32; 5];
            urn.draw(&mut dice, &mut out, &mut scratch);
            let mut sorted = out;
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3, 4]);
            counts[out[0] as usize] += 1.0;
        }
        for (i, w) in [1.0, 2.0, 3.0, 4.0, 0.5].iter().enumerate() {
            let expected = trials as f64 * w / 10.5;
            assert!(
                (counts[i] - expected).abs() < 5.0 * expected.sqrt(),
                "{counts:?}"
            );
        }
    }
}
