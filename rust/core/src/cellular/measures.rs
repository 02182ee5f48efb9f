//! Complexity measures of a space-time diagram (for the complexity-versus-performance analysis
//! of "Intelligence at the Edge of Chaos"): compression ratio under DEFLATE, Lempel-Ziv (1976)
//! complexity and block entropy.

use std::io::Write;

use flate2::write::DeflateEncoder;
use flate2::Compression;
use rayon::prelude::*;

use crate::error::{ensure, Result};
use crate::pool::with_threads;

/// Measures of one trajectory (cells read row by row).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measures {
    /// DEFLATE (level 9, raw stream) size of the cells packed 8 per byte, divided by the packed
    /// size. Near 1 (or above) for random data, small for regular patterns.
    pub compression_ratio: f64,
    /// Number of phrases of the Lempel-Ziv (1976) parse of the cell sequence.
    pub lz_phrases: usize,
    /// `lz_phrases * log2(n) / n`: about 1 for a random binary sequence of length n.
    pub lz_normalized: f64,
    /// Shannon entropy (bits per cell) of the length-`block` words along each row,
    /// divided by `block`.
    pub block_entropy: f64,
}

/// Lempel-Ziv (1976) complexity: the number of phrases of the exhaustive-history parse,
/// where each phrase is the longest prefix of the rest that also starts at an earlier position
/// (overlap allowed), plus one symbol.
///
/// Linear after a suffix array: the longest previous match at `p` is found at the nearest
/// suffixes before and after `p` in suffix-array order that start earlier in the text (the
/// longest-previous-factor lemma), and matches are compared only at phrase starts.
pub fn lz76(s: &[u8]) -> usize {
    let n = s.len();
    if n < 2 {
        return n;
    }
    let sa = suffix_array(s);
    let (prev, next) = nearest_earlier_neighbours(&sa);
    let common = |p: usize, q: usize| {
        if q == usize::MAX {
            return 0;
        }
        s[p..]
            .iter()
            .zip(&s[q..])
            .take_while(|(a, b)| a == b)
            .count()
    };
    let (mut p, mut phrases) = (0usize, 0usize);
    while p < n {
        let longest = common(p, prev[p]).max(common(p, next[p]));
        phrases += 1;
        p += longest + 1;
    }
    phrases
}

/// Suffix array by prefix doubling with radix sorts, O(n log n).
fn suffix_array(s: &[u8]) -> Vec<usize> {
    let n = s.len();
    let mut rank: Vec<usize> = s.iter().map(|&c| c as usize).collect();
    let mut sa: Vec<usize> = (0..n).collect();
    sa.sort_by_key(|&i| rank[i]);
    let (mut by_second, mut new_rank) = (vec![0usize; n], vec![0usize; n]);
    let mut count = vec![0usize; n.max(256) + 1];
    let mut k = 1;
    loop {
        // Order by the rank of the second half: suffixes without one first.
        let mut j = 0;
        for i in n - k.min(n)..n {
            by_second[j] = i;
            j += 1;
        }
        for &i in &sa {
            if i >= k {
                by_second[j] = i - k;
                j += 1;
            }
        }
        // Stable counting sort by the rank of the first half.
        count.iter_mut().for_each(|c| *c = 0);
        for &r in &rank {
            count[r + 1] += 1;
        }
        for r in 1..count.len() {
            count[r] += count[r - 1];
        }
        for &i in &by_second {
            sa[count[rank[i]]] = i;
            count[rank[i]] += 1;
        }
        let key = |i: usize| (rank[i], if i + k < n { rank[i + k] as isize } else { -1 });
        new_rank[sa[0]] = 0;
        for r in 1..n {
            new_rank[sa[r]] = new_rank[sa[r - 1]] + (key(sa[r]) != key(sa[r - 1])) as usize;
        }
        std::mem::swap(&mut rank, &mut new_rank);
        if rank[sa[n - 1]] == n - 1 || k >= n {
            return sa;
        }
        k *= 2;
    }
}

/// For each text position, the nearest suffixes before and after it in suffix-array order
/// that start earlier in the text (`usize::MAX` if none).
fn nearest_earlier_neighbours(sa: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let n = sa.len();
    let (mut prev, mut next) = (vec![usize::MAX; n], vec![usize::MAX; n]);
    let mut stack: Vec<usize> = Vec::new();
    for &pos in sa {
        while let Some(&top) = stack.last() {
            if top < pos {
                break;
            }
            next[top] = pos;
            stack.pop();
        }
        prev[pos] = stack.last().copied().unwrap_or(usize::MAX);
        stack.push(pos);
    }
    (prev, next)
}

/// Compressed size over packed size (cells packed 8 per byte, raw DEFLATE at level 9).
pub fn compression_ratio(cells: &[u8]) -> f64 {
    let packed: Vec<u8> = cells
        .chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |b, (i, &v)| b | (((v != 0) as u8) << i))
        })
        .collect();
    if packed.is_empty() {
        return 0.0;
    }
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&packed)
        .expect("writing to a Vec cannot fail");
    let compressed = enc.finish().expect("writing to a Vec cannot fail");
    compressed.len() as f64 / packed.len() as f64
}

/// Entropy (bits per cell) of the overlapping length-`block` words inside each row of
/// `cols` cells, divided by `block`.
pub fn block_entropy(cells: &[u8], cols: usize, block: usize) -> f64 {
    let mut counts = vec![0u64; 1 << block];
    let mut total = 0u64;
    for row in cells.chunks(cols) {
        for word in row.windows(block) {
            let code = word
                .iter()
                .fold(0usize, |a, &v| (a << 1) | (v != 0) as usize);
            counts[code] += 1;
            total += 1;
        }
    }
    if total == 0 {
        return 0.0;
    }
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum();
    h / block as f64
}

/// All measures of one trajectory of rows of `cols` cells.
pub fn measure(cells: &[u8], cols: usize, block: usize) -> Measures {
    let n = cells.len();
    let lz = lz76(cells);
    Measures {
        compression_ratio: compression_ratio(cells),
        lz_phrases: lz,
        lz_normalized: if n > 1 {
            lz as f64 * (n as f64).log2() / n as f64
        } else {
            0.0
        },
        block_entropy: block_entropy(cells, cols, block),
    }
}

/// Measures of each trajectory of a batch `[B, rows, cols]` (in parallel).
pub fn measure_batch(
    cells: &[u8],
    count: usize,
    cols: usize,
    block: usize,
    threads: Option<usize>,
) -> Result<Vec<Measures>> {
    ensure(count >= 1 && cols >= 1, "states", || {
        "must be a non-empty [B, T, W] array".into()
    })?;
    ensure(cells.len().is_multiple_of(count), "states", || {
        "size is not a multiple of the batch".into()
    })?;
    ensure((1..=16).contains(&block), "block", || {
        format!("must be in 1..=16, got {block}")
    })?;
    let per = cells.len() / count;
    // The suffix array of the LZ76 parse needs about six words per cell.
    crate::limits::check_elements("complexity work space per trajectory", &[per, 6], 8)?;
    Ok(with_threads(threads, || {
        cells
            .par_chunks(per.max(1))
            .map(|t| measure(t, cols, block))
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The exhaustive-history parse by definition: each phrase extends the longest prefix of
    /// the rest that starts somewhere earlier (overlap allowed) by one symbol.
    fn lz76_naive(s: &[u8]) -> usize {
        let (n, mut p, mut c) = (s.len(), 0usize, 0usize);
        while p < n {
            let mut len = 0;
            while p + len < n && (0..p).any(|q| s[q..q + len + 1] == s[p..p + len + 1]) {
                len += 1;
            }
            c += 1;
            p += len + 1;
        }
        c
    }

    /// Kaspar and Schuster's (1987) algorithm, quadratic on regular sequences.
    fn lz76_kaspar_schuster(s: &[u8]) -> usize {
        let n = s.len();
        if n < 2 {
            return n;
        }
        let (mut c, mut l, mut i, mut k, mut k_max) = (1usize, 1usize, 0usize, 1usize, 1usize);
        loop {
            if s[i + k - 1] == s[l + k - 1] {
                k += 1;
                if l + k > n {
                    c += 1;
                    break;
                }
            } else {
                k_max = k_max.max(k);
                i += 1;
                if i == l {
                    c += 1;
                    l += k_max;
                    if l + 1 > n {
                        break;
                    }
                    i = 0;
                    k = 1;
                    k_max = 1;
                } else {
                    k = 1;
                }
            }
        }
        c
    }

    #[test]
    fn lz76_agrees_with_kaspar_schuster_on_long_and_regular_sequences() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
        for n in [2usize, 3, 100, 1000, 5000] {
            let random: Vec<u8> = (0..n).map(|_| rng.random_range(0..2u8)).collect();
            let periodic: Vec<u8> = (0..n).map(|i| ((i % 7) < 3) as u8).collect();
            let sparse: Vec<u8> = (0..n)
                .map(|_| (rng.random_range(0..50u8) == 0) as u8)
                .collect();
            let zeros = vec![0u8; n];
            for s in [random, periodic, sparse, zeros] {
                assert_eq!(lz76(&s), lz76_kaspar_schuster(&s));
            }
        }
    }

    #[test]
    fn lz76_matches_definition_and_published_example() {
        // Lempel & Ziv (1976) / Kaspar & Schuster (1987): 0.001.10.100.1000.101 -> 6.
        let s: Vec<u8> = "0001101001000101".bytes().map(|b| b - b'0').collect();
        assert_eq!(lz76(&s), 6);
        assert_eq!(lz76_naive(&s), 6);
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        for n in 1..60 {
            let s: Vec<u8> = (0..n).map(|_| rng.random_range(0..2u8)).collect();
            assert_eq!(lz76(&s), lz76_naive(&s), "{s:?}");
        }
    }

    #[test]
    fn measures_separate_order_from_noise() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2);
        let noise: Vec<u8> = (0..64 * 64).map(|_| rng.random_range(0..2u8)).collect();
        let zeros = vec![0u8; 64 * 64];
        let m_noise = measure(&noise, 64, 3);
        let m_zero = measure(&zeros, 64, 3);
        assert!(m_noise.compression_ratio > 0.95 && m_zero.compression_ratio < 0.05);
        assert!(m_noise.lz_normalized > 0.8 && m_zero.lz_normalized < 0.05);
        assert!((m_noise.block_entropy - 1.0).abs() < 0.01 && m_zero.block_entropy == 0.0);
    }
}
