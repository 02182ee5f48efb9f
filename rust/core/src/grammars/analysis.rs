//! PCFG analysis: the expected-children matrix, consistency (termination with probability
//! one), termination probabilities and expected string length.
//!
//! For a PCFG with expected-children matrix `M[A][B]` (expected number of `B`s in one
//! expansion of `A`), spectral radius `rho(M) < 1` means the PCFG is consistent and the
//! expected derivation size is finite (subcritical); `rho > 1` means some probability mass
//! is on infinite derivations (supercritical); `rho = 1` is critical (terminates almost
//! surely in the simple cases but with infinite expected size).

use super::{linalg, Grammar, Sym};

/// The result of [`consistency`].
#[derive(Clone, Debug, PartialEq)]
pub struct Consistency {
    /// Spectral radius of the expected-children matrix.
    pub spectral_radius: f64,
    /// Probability that a derivation from the start symbol terminates.
    pub termination_probability: f64,
    /// Expected length of a string (finite only when `spectral_radius < 1`).
    pub expected_length: Option<f64>,
    /// Expected number of rule applications per derivation (when finite).
    pub expected_size: Option<f64>,
}

impl Consistency {
    /// True when derivations terminate with probability 1 (within 1e-9).
    pub fn is_consistent(&self) -> bool {
        self.termination_probability > 1.0 - 1e-9
    }
}

/// Grammars with more nonterminals are analysed with sparse iterations.
const DENSE_ANALYSIS: usize = 256;

/// `x = sum_k M^k b` (two right-hand sides, `[n, 2]`) by iteration, `None` when it has not
/// converged within the iteration cap.
fn neumann_series(entries: &[(u32, u32, f64)], n: usize, b: &[f64]) -> Option<Vec<f64>> {
    let mut x = b.to_vec();
    for _ in 0..linalg::iteration_cap(entries.len() + n) {
        let mut next = b.to_vec();
        for &(r, c, v) in entries {
            next[r as usize * 2] += v * x[c as usize * 2];
            next[r as usize * 2 + 1] += v * x[c as usize * 2 + 1];
        }
        let delta = next
            .iter()
            .zip(&x)
            .map(|(a, c)| (a - c).abs() / a.abs().max(1.0))
            .fold(0.0, f64::max);
        x = next;
        if delta < 1e-13 {
            return Some(x);
        }
    }
    None
}

/// `M[A][B]`, row-major `N x N`.
pub fn expected_children(g: &Grammar) -> Vec<f64> {
    let n = g.num_nonterminals();
    let mut m = vec![0.0; n * n];
    for r in g.rules() {
        for s in &r.rhs {
            if let Sym::N(b) = *s {
                m[r.lhs as usize * n + b as usize] += r.prob;
            }
        }
    }
    m
}

/// Termination probability of every nonterminal: the least fixed point of
/// `Z_A = sum_rules p * prod Z_B`, by iteration from 0.
pub fn termination_probabilities(g: &Grammar) -> Vec<f64> {
    let n = g.num_nonterminals();
    let mut z = vec![0.0f64; n];
    let work: usize = g.rules().iter().map(|r| r.rhs.len() + 1).sum();
    for _ in 0..linalg::iteration_cap(work) {
        let mut next = vec![0.0f64; n];
        for r in g.rules() {
            let p: f64 = r.rhs.iter().fold(r.prob, |acc, s| match *s {
                Sym::T(_) => acc,
                Sym::N(b) => acc * z[b as usize],
            });
            next[r.lhs as usize] += p;
        }
        let delta = next
            .iter()
            .zip(&z)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        z = next;
        if delta < 1e-15 {
            break;
        }
    }
    z.iter().map(|v| v.min(1.0)).collect()
}

/// Consistency, termination probability and expected length of the start symbol.
pub fn consistency(g: &Grammar) -> Consistency {
    let n = g.num_nonterminals();
    let dense = n <= DENSE_ANALYSIS;
    let m = if dense {
        expected_children(g)
    } else {
        Vec::new()
    };
    let entries: Vec<(u32, u32, f64)> = g
        .rules()
        .iter()
        .flat_map(|r| {
            r.rhs.iter().filter_map(move |s| match *s {
                Sym::N(b) => Some((r.lhs, b, r.prob)),
                Sym::T(_) => None,
            })
        })
        .collect();
    let rho = if dense {
        linalg::spectral_radius_nonneg(&m, n)
    } else {
        linalg::spectral_radius_sparse(&entries, n)
    };
    let z = termination_probabilities(g);
    let (mut len, mut size) = (None, None);
    if rho < 1.0 - 1e-12 {
        // E[len] = (I - M)^-1 t and E[size] = (I - M)^-1 1, t = expected terminals per step.
        let mut rhs = vec![0.0; n * 2];
        for r in g.rules() {
            let terms = r.rhs.iter().filter(|s| matches!(s, Sym::T(_))).count();
            rhs[r.lhs as usize * 2] += r.prob * terms as f64;
        }
        for a in 0..n {
            rhs[a * 2 + 1] = 1.0;
        }
        let x = if dense {
            linalg::solve_identity_minus(&m, n, &rhs, 2)
        } else {
            neumann_series(&entries, n, &rhs)
        };
        if let Some(x) = x {
            len = Some(x[0]);
            size = Some(x[1]);
        }
    }
    Consistency {
        spectral_radius: rho,
        termination_probability: z[0],
        expected_length: len,
        expected_size: size,
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::parse;
    use super::*;

    fn ss(p: f64) -> Grammar {
        parse(&format!("S -> S S [{p}] | a [{}]", 1.0 - p), false).unwrap()
    }

    #[test]
    fn known_sub_super_and_critical_grammars() {
        // S -> S S [p] | a: rho = 2p; termination probability min(1, (1-p)/p).
        let c = consistency(&ss(2.0 / 3.0));
        assert!((c.spectral_radius - 4.0 / 3.0).abs() < 1e-9);
        assert!((c.termination_probability - 0.5).abs() < 1e-9);
        assert!(!c.is_consistent() && c.expected_length.is_none());
        let c = consistency(&ss(0.25));
        assert!((c.spectral_radius - 0.5).abs() < 1e-9);
        assert!(c.is_consistent());
        // E[len] for S -> S S [p] | a: L = 2pL + (1-p) => L = (1-p)/(1-2p) = 1.5.
        assert!((c.expected_length.unwrap() - 1.5).abs() < 1e-9);
        let c = consistency(&ss(0.5));
        assert!((c.spectral_radius - 1.0).abs() < 1e-9);
        assert!(c.expected_length.is_none());
    }

    #[test]
    fn expected_length_of_anbn() {
        // S -> a S b [p] | c: (1 + p) / (1 - p).
        let p = 0.4;
        let g = parse(&format!("S -> a S b [{p}] | c [{}]", 1.0 - p), false).unwrap();
        let c = consistency(&g);
        assert!((c.expected_length.unwrap() - (1.0 + p) / (1.0 - p)).abs() < 1e-12);
    }

    #[test]
    fn large_grammars_use_sparse_iterations() {
        // A chain of 400 nonterminals: nilpotent, expected length 401.
        let text: String = (0..400)
            .map(|i| format!("A{i} -> a A{}\n", i + 1))
            .chain(std::iter::once("A400 -> b\n".to_string()))
            .collect();
        let c = consistency(&parse(&text, false).unwrap());
        assert_eq!(c.spectral_radius, 0.0);
        assert!((c.expected_length.unwrap() - 401.0).abs() < 1e-9);
    }
}
