//! CPython's `random.Random` as far as the official cfg3 generator uses it: MT19937 seeded
//! from an integer by `init_by_array`, 32-bit outputs, and `_randbelow` by rejection on
//! `getrandbits(k)`, so that `randint(0, n - 1)` matches CPython draw for draw.

const N: usize = 624;
const M: usize = 397;

/// The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998), as in CPython.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    fn init_genrand(s: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = s;
        for i in 1..N {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    /// The reference `init_by_array`.
    pub fn from_key(key: &[u32]) -> Self {
        let mut mt = Self::init_genrand(19_650_218);
        let st = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        let klen = key.len().max(1);
        for _ in 0..N.max(klen) {
            st[i] = (st[i] ^ (st[i - 1] ^ (st[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(*key.get(j).unwrap_or(&0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                st[0] = st[N - 1];
                i = 1;
            }
            if j >= klen {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            st[i] = (st[i] ^ (st[i - 1] ^ (st[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                st[0] = st[N - 1];
                i = 1;
            }
        }
        st[0] = 0x8000_0000;
        mt
    }

    /// `random.Random(seed)` for a non-negative integer seed of up to 128 bits: the key is
    /// the seed's 32-bit words, least significant first (`[0]` for 0).
    pub fn from_python_seed(seed: u128) -> Self {
        let mut key = Vec::new();
        let mut s = seed;
        while s > 0 {
            key.push(s as u32);
            s >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        Self::from_key(&key)
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        for i in 0..N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next 32-bit output (`genrand_uint32`, also `getrandbits(32)`).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// CPython's `_randbelow(n)` for `1 <= n < 2^32`: `getrandbits(k)` with
    /// `k = n.bit_length()`, rejected while `>= n`. Equals `randint(0, n - 1)`.
    #[inline]
    pub fn randbelow(&mut self, n: u32) -> u32 {
        debug_assert!(n >= 1);
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.next_u32() >> (32 - k);
            if r < n {
                return r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_mt19937ar_vector() {
        // mt19937ar.out: init_by_array({0x123, 0x234, 0x345, 0x456}), first outputs.
        let mut mt = Mt19937::from_key(&[0x123, 0x234, 0x345, 0x456]);
        let want = [1067595299u32, 955945823, 477289528, 4107218783, 4228976476];
        for w in want {
            assert_eq!(mt.next_u32(), w);
        }
    }

    #[test]
    fn randbelow_stays_in_range() {
        let mut mt = Mt19937::from_python_seed(42);
        for n in 1..20 {
            for _ in 0..100 {
                assert!(mt.randbelow(n) < n);
            }
        }
    }
}
