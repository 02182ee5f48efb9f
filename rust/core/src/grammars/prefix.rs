//! Exact prefix probabilities and next-token distributions under a PCFG (after Jelinek &
//! Lafferty 1991, generalised to unit and ε rules through the left-corner closure).
//!
//! For a prefix `u`, `PP(u) = P(S =>* u v for some v)`. With `PI(X, i)` the probability that
//! `X` derives `w[i..m]` followed by anything (`m` = prefix length):
//!
//! `PI(X, i) = sum_{X -> Y C} p [ sum_{i<k<m} inside(Y, i, k) PI(C, k) + PI(Y, i) Z(C)
//!             + e(Y) PI(C, i) ] + sum_{X -> Y} p PI(Y, i) + [i = m-1] P(X -> w_i)`
//!
//! where `Z` are termination probabilities and `e` the ε probabilities. The terms with `X`'s
//! left corner at the same position form the left-corner matrix `R_L`; they are solved in
//! left-corner order (or with `(I - R_L)^-1` when left-recursive). The next-token
//! distribution after `w[..t]` is `PP(w[..t] a)` for every terminal `a` together with
//! `P(S => w[..t])` for end of string, normalised.

use super::cnf::Binarised;
use super::parse::Parser;
use super::{linalg, Grammar};
use crate::error::{KleeneError, Result};
use crate::limits::{check_elements, check_work};

/// Next-token distributions of every prefix of a string.
pub struct PrefixModel {
    parser: Parser,
    /// Left-corner edges (lhs, child, weight), and an order solving them (children first).
    edges: Vec<(u32, u32, f64)>,
    order: Option<Vec<u32>>,
    dense: Option<Vec<f64>>,
    /// Left-corner probability `P(X =>* a ...)`, `[N, V]`.
    first: Vec<f64>,
    eps: Vec<f64>,
    term: Vec<f64>,
}

impl PrefixModel {
    pub fn new(g: &Grammar) -> Result<Self> {
        let parser = Parser::new(g);
        let b = parser.binarised().clone();
        let n = b.num_nonterminals;
        let term = termination(&b);
        let eps = epsilon(&b);
        let mut edges = Vec::new();
        for u in &b.unary {
            edges.push((u.lhs, u.child, u.prob));
        }
        for r in &b.binary {
            edges.push((r.lhs, r.left, r.prob * term[r.right as usize]));
            if eps[r.left as usize] > 0.0 {
                edges.push((r.lhs, r.right, r.prob * eps[r.left as usize]));
            }
        }
        let mut pulls = vec![Vec::new(); n];
        for &(a, c, _) in &edges {
            pulls[a as usize].push(c);
        }
        let (order, dense) = match super::topological_order(&pulls) {
            Some(o) => (Some(o), None),
            None => {
                if n > linalg::MAX_DENSE {
                    return Err(KleeneError::invalid(
                        "grammar",
                        format!("is left-recursive with {n} binarised nonterminals; prefix probabilities support at most {} there", linalg::MAX_DENSE),
                    ));
                }
                let mut m = vec![0.0; n * n];
                for &(a, c, w) in &edges {
                    m[a as usize * n + c as usize] += w;
                }
                let inv = linalg::inverse_identity_minus(&m, n)
                    .filter(|v| v.iter().all(|x| x.is_finite() && *x >= -1e-9))
                    .ok_or_else(|| {
                        KleeneError::invalid("grammar", "its left-corner closure diverges")
                    })?;
                (None, Some(inv))
            }
        };
        let v = b.num_terminals;
        let mut model = PrefixModel {
            parser,
            edges,
            order,
            dense,
            first: vec![],
            eps,
            term,
        };
        let mut lex = vec![0.0; n * v];
        for r in &b.lexical {
            lex[r.lhs as usize * v + r.terminal as usize] += r.prob;
        }
        model.close(&mut lex, v);
        model.first = lex;
        Ok(model)
    }

    /// Replaces `d` (`[N, k]`) by `(I - R_L)^-1 d`.
    fn close(&self, d: &mut [f64], k: usize) {
        if let Some(order) = &self.order {
            // Children first: X += w * (closed) child.
            // Sized by the nonterminals, not by `d` (empty when the grammar has no terminal).
            let nts = self.parser.binarised().num_nonterminals;
            let mut by_lhs: Vec<Vec<(u32, f64)>> = vec![Vec::new(); nts];
            for &(a, c, w) in &self.edges {
                by_lhs[a as usize].push((c, w));
            }
            for &x in order {
                for &(c, w) in &by_lhs[x as usize] {
                    for t in 0..k {
                        d[x as usize * k + t] += w * d[c as usize * k + t];
                    }
                }
            }
        } else if let Some(inv) = &self.dense {
            let n = d.len() / k.max(1);
            let src = d.to_vec();
            for x in 0..n {
                for t in 0..k {
                    d[x * k + t] = (0..n).map(|c| inv[x * n + c] * src[c * k + t]).sum();
                }
            }
        }
    }

    /// Unnormalised next-symbol weights after every prefix of `w`: row `t` (0..=n) holds
    /// `[P(S => w[..t]), PP(w[..t] a) for each terminal a]`, `[(n + 1), V + 1]`.
    pub fn prefix_weights(&self, w: &[u32]) -> Result<Vec<f64>> {
        let b = self.parser.binarised();
        let (nts, v, n) = (b.num_nonterminals, b.num_terminals, w.len());
        if let Some(&t) = w.iter().find(|&&t| t as usize >= v) {
            return Err(KleeneError::invalid(
                "string",
                format!("token {t} is not a terminal index (0..{v})"),
            ));
        }
        check_elements("prefix table", &[n + 1, nts, v], 8)?;
        let rules = (b.binary.len() + b.unary.len() + 1) as u128;
        let (n3, v1) = (n as u128, v as u128 + 1);
        check_work("prefix probabilities", &[n3, n3, n3, rules, v1])?;
        let mut out = vec![0.0; (n + 1) * (v + 1)];
        out[0] = self.eps[0];
        out[1..=v].copy_from_slice(&self.first[..v]);
        if n == 0 {
            return Ok(out);
        }
        let items = self.inside_items(w)?;
        let mut pi = vec![0.0; (n + 1) * nts * v];
        for t in 1..=n {
            crate::interrupt::poll()?;
            pi[t * nts * v..(t + 1) * nts * v].copy_from_slice(&self.first);
            let mut d = vec![0.0; nts * v];
            for i in (0..t).rev() {
                d.fill(0.0);
                for r in &b.binary {
                    let (x, y, c) = (r.lhs as usize, r.left as usize, r.right as usize);
                    for &(k, val) in &items[y * (n + 1) + i] {
                        let k = k as usize;
                        if k > t {
                            break;
                        }
                        let src = (k * nts + c) * v;
                        let f = r.prob * val;
                        for a in 0..v {
                            d[x * v + a] += f * pi[src + a];
                        }
                    }
                }
                self.close(&mut d, v);
                pi[i * nts * v..(i + 1) * nts * v].copy_from_slice(&d);
            }
            let row = &mut out[t * (v + 1)..(t + 1) * (v + 1)];
            row[0] = items[0]
                .iter()
                .find(|&&(k, _)| k as usize == t)
                .map_or(0.0, |&(_, val)| val);
            row[1..].copy_from_slice(&pi[..v]);
        }
        Ok(out)
    }

    /// Non-zero inside values per (nonterminal, start), sorted by end.
    fn inside_items(&self, w: &[u32]) -> Result<Vec<Vec<(u32, f64)>>> {
        let n = w.len();
        let nts = self.parser.binarised().num_nonterminals;
        let (vals, _) = self.parser.inside_chart(w)?;
        let mut items = vec![Vec::new(); nts * (n + 1)];
        for i in 0..n {
            crate::interrupt::poll()?;
            for j in i + 1..=n {
                for y in 0..nts {
                    let val = vals.get(i, j, y);
                    if val != 0.0 {
                        items[y * (n + 1) + i].push((j as u32, val));
                    }
                }
            }
        }
        Ok(items)
    }

    /// Next-token distributions after every prefix: `[(n + 1), V + 1]`, end of string first,
    /// each row normalised (conditioned on termination). Rows of impossible prefixes are 0.
    pub fn next_token_distributions(&self, w: &[u32]) -> Result<Vec<f64>> {
        let mut out = self.prefix_weights(w)?;
        let v1 = self.parser.binarised().num_terminals + 1;
        for row in out.chunks_mut(v1) {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|x| *x /= s);
            }
        }
        Ok(out)
    }

    /// `PP(w)`: probability that a string starts with `w`.
    pub fn prefix_probability(&self, w: &[u32]) -> Result<f64> {
        if w.is_empty() {
            return Ok(self.term[0]);
        }
        let v1 = self.parser.binarised().num_terminals + 1;
        let weights = self.prefix_weights(&w[..w.len() - 1])?;
        let last = w.len() - 1;
        Ok(weights[last * v1 + 1 + w[last] as usize])
    }
}

fn termination(b: &Binarised) -> Vec<f64> {
    fixed_point(b, true)
}

fn epsilon(b: &Binarised) -> Vec<f64> {
    fixed_point(b, false)
}

/// Least fixed point of the termination (`with_terminals`) or ε probabilities.
fn fixed_point(b: &Binarised, with_terminals: bool) -> Vec<f64> {
    let n = b.num_nonterminals;
    let mut z = vec![0.0f64; n];
    let work = b.binary.len() + b.unary.len() + b.lexical.len() + b.epsilon.len() + n;
    for _ in 0..linalg::iteration_cap(work) {
        let mut next = vec![0.0f64; n];
        for &(a, p) in &b.epsilon {
            next[a as usize] += p;
        }
        if with_terminals {
            for r in &b.lexical {
                next[r.lhs as usize] += r.prob;
            }
        }
        for u in &b.unary {
            next[u.lhs as usize] += u.prob * z[u.child as usize];
        }
        for r in &b.binary {
            next[r.lhs as usize] += r.prob * z[r.left as usize] * z[r.right as usize];
        }
        let delta = next
            .iter()
            .zip(&z)
            .map(|(a, c)| (a - c).abs())
            .fold(0.0, f64::max);
        z = next;
        if delta < 1e-16 {
            break;
        }
    }
    z.iter().map(|v| v.min(1.0)).collect()
}
