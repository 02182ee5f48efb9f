//! Counter-based seeding.
//!
//! Item `i` of a stream draws from its own generator, keyed by (seed, salt, i), where `salt`
//! is the hash of the task configuration. Output therefore does not depend on thread count,
//! batch size, worker or rank, and a stream can be resumed or sharded at any index.
//! The key is mixed with SplitMix64's finaliser, so neighbouring seeds or indices give
//! unrelated streams (no `seed + index` collisions).

use rand::SeedableRng;
pub use rand_xoshiro::Xoshiro256PlusPlus as ItemRng;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of a stream: a function of the user seed and the configuration hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamKey(u64);

impl StreamKey {
    pub fn new(seed: u64, salt: u64) -> Self {
        StreamKey(mix64(
            mix64(seed ^ GOLDEN).wrapping_add(salt).wrapping_mul(GOLDEN) ^ salt,
        ))
    }

    /// A sub-stream key, for a second independent stream of the same task (e.g. the test
    /// split, or the automaton of an episode as opposed to its strings).
    pub fn derive(self, tag: u64) -> Self {
        StreamKey(mix64(self.0 ^ mix64(tag.wrapping_add(GOLDEN))))
    }

    /// The generator of item `index`. Stream indices wrap modulo 2^64 (the Python boundary
    /// keeps `start + count` below 2^64, so only direct core callers can reach the wrap).
    pub fn item_rng(self, index: u64) -> ItemRng {
        ItemRng::seed_from_u64(mix64(self.0 ^ mix64(index.wrapping_mul(GOLDEN) ^ GOLDEN)))
    }
}

/// Shorthand for `StreamKey::new(seed, salt).item_rng(index)`.
pub fn item_rng(seed: u64, salt: u64, index: u64) -> ItemRng {
    StreamKey::new(seed, salt).item_rng(index)
}

/// Draws 32-bit uniforms two at a time from one 64-bit output.
pub struct U32Draws {
    rng: ItemRng,
    spare: u64,
    has_spare: bool,
}

impl U32Draws {
    pub fn new(rng: ItemRng) -> Self {
        U32Draws {
            rng,
            spare: 0,
            has_spare: false,
        }
    }

    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        use rand::Rng;
        if self.has_spare {
            self.has_spare = false;
            (self.spare >> 32) as u32
        } else {
            self.spare = self.rng.next_u64();
            self.has_spare = true;
            self.spare as u32
        }
    }

    /// Whether the high half of the last 64-bit output is still unused.
    #[inline(always)]
    pub fn has_spare(&self) -> bool {
        self.has_spare
    }

    /// The next two draws, the same as two calls of `next_u32`; only when no spare is pending.
    #[inline(always)]
    pub fn next_pair(&mut self) -> (u32, u32) {
        use rand::Rng;
        debug_assert!(!self.has_spare);
        let x = self.rng.next_u64();
        (x as u32, (x >> 32) as u32)
    }

    pub fn rng_mut(&mut self) -> &mut ItemRng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_across_seed_salt_and_index() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20u64 {
            for salt in 0..5u64 {
                for index in 0..20u64 {
                    assert!(seen.insert(item_rng(seed, salt, index).next_u64()));
                }
            }
        }
    }

    #[test]
    fn item_rng_is_a_pure_function() {
        let a: Vec<u64> = (0..4).map(|_| item_rng(7, 3, 11).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
    }
}
