//! Small dense linear algebra for closure matrices (row-major `n x n`).

/// Largest matrix inverted densely (larger systems are refused with a clear error).
pub const MAX_DENSE: usize = 2048;

/// Iterations of a fixed-point loop whose one step costs `work` operations: at most 1e5,
/// and at most about 2e8 operations in all (so large grammars cannot hang).
pub fn iteration_cap(work: usize) -> usize {
    (200_000_000 / work.max(1)).clamp(200, 100_000)
}

/// Spectral radius of a non-negative sparse matrix given as `(row, col, value)` entries,
/// by power iteration from the all-ones vector: the geometric mean growth over the last
/// half of the iterations (exact for nilpotent matrices, an estimate otherwise).
pub fn spectral_radius_sparse(entries: &[(u32, u32, f64)], n: usize) -> f64 {
    let mut x = vec![1.0f64; n];
    let steps = iteration_cap(entries.len() + n).min(4000);
    let mut log_growth = 0.0;
    let mut counted = 0usize;
    for step in 0..steps {
        let mut y = vec![0.0f64; n];
        for &(r, c, v) in entries {
            y[r as usize] += v * x[c as usize];
        }
        let norm = y.iter().cloned().fold(0.0, f64::max);
        if norm == 0.0 {
            return 0.0;
        }
        if step >= steps / 2 {
            log_growth += norm.ln();
            counted += 1;
        }
        y.iter_mut().for_each(|v| *v /= norm);
        x = y;
    }
    (log_growth / counted.max(1) as f64).exp()
}

/// Solves `(I - m) x = b` for several right-hand sides (columns of `b`, `n x k`), by
/// Gaussian elimination with partial pivoting. `None` when `I - m` is singular.
pub fn solve_identity_minus(m: &[f64], n: usize, b: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut a: Vec<f64> = (0..n * n)
        .map(|i| (if i / n == i % n { 1.0 } else { 0.0 }) - m[i])
        .collect();
    let mut x = b.to_vec();
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for c in 0..n {
                a.swap(piv * n + c, col * n + c);
            }
            for c in 0..k {
                x.swap(piv * k + c, col * k + c);
            }
        }
        let d = a[col * n + col];
        for r in 0..n {
            if r == col || a[r * n + col] == 0.0 {
                continue;
            }
            let f = a[r * n + col] / d;
            for c in col..n {
                a[r * n + c] -= f * a[col * n + c];
            }
            for c in 0..k {
                x[r * k + c] -= f * x[col * k + c];
            }
        }
    }
    for r in 0..n {
        let d = a[r * n + r];
        for c in 0..k {
            x[r * k + c] /= d;
        }
    }
    Some(x)
}

/// `(I - m)^-1`, or `None` when singular.
pub fn inverse_identity_minus(m: &[f64], n: usize) -> Option<Vec<f64>> {
    let eye: Vec<f64> = (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    solve_identity_minus(m, n, &eye, n)
}

/// Spectral radius of a non-negative matrix, by repeated squaring with rescaling:
/// `rho = lim ||M^(2^k)||^(1/2^k)`.
pub fn spectral_radius_nonneg(m: &[f64], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mut a = m.to_vec();
    let mut log_scale = 0.0f64;
    let mut weight = 1.0f64;
    for _ in 0..60 {
        let max = a.iter().cloned().fold(0.0, f64::max);
        if max == 0.0 {
            return 0.0;
        }
        for v in &mut a {
            *v /= max;
        }
        log_scale += weight * max.ln();
        a = matmul(&a, &a, n);
        weight *= 0.5;
    }
    let max = a.iter().cloned().fold(0.0, f64::max);
    if max == 0.0 {
        return 0.0;
    }
    (log_scale + weight * max.ln()).exp()
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let x = a[i * n + k];
            if x == 0.0 {
                continue;
            }
            for j in 0..n {
                c[i * n + j] += x * b[k * n + j];
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_and_inverse_of_known_matrices() {
        // [[0, 2], [0.5, 0]] has eigenvalues +-1; [[0.5, 0.25], [0, 0.3]] has 0.5.
        assert!((spectral_radius_nonneg(&[0.0, 2.0, 0.5, 0.0], 2) - 1.0).abs() < 1e-9);
        assert!((spectral_radius_nonneg(&[0.5, 0.25, 0.0, 0.3], 2) - 0.5).abs() < 1e-9);
        assert_eq!(spectral_radius_nonneg(&[0.0, 1.0, 0.0, 0.0], 2), 0.0);
        let inv = inverse_identity_minus(&[0.5, 0.25, 0.0, 0.3], 2).unwrap();
        // (I - M) * inv = I
        let im = [0.5, -0.25, 0.0, 0.7];
        for i in 0..2 {
            for j in 0..2 {
                let v: f64 = (0..2).map(|k| im[i * 2 + k] * inv[k * 2 + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn sparse_radius_agrees_with_dense() {
        let entries = [(0u32, 0u32, 0.5), (0, 1, 0.25), (1, 1, 0.3), (1, 0, 0.1)];
        let mut dense = vec![0.0; 4];
        for &(r, c, v) in &entries {
            dense[r as usize * 2 + c as usize] = v;
        }
        let (a, b) = (
            spectral_radius_nonneg(&dense, 2),
            spectral_radius_sparse(&entries, 2),
        );
        assert!((a - b).abs() < 1e-9, "{a} {b}");
        assert_eq!(spectral_radius_sparse(&[(0, 1, 1.0)], 2), 0.0);
    }
}
