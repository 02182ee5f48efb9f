//! Membership and parsing on the binarised grammar.
//!
//! * Recognition (`accepts`) is a CYK over bitsets: for every start position `i` (right to
//!   left) and nonterminal `A`, the set of ends `j > i` such that `A` derives `w[i..j]`.
//!   A binary rule `A -> B C` ORs the end sets of `C` at every end of `B`; unit rules and
//!   rules with a nullable side are closed over in left-corner order (iterated to a fixed
//!   point for left-recursive grammars).
//! * Inside values (string probability, number of parses) and the Viterbi tree run over the
//!   items the recogniser found, spans by increasing end, with unit/ε closure per span.
//!
//! Memory is `N (n + 1)^2 / 64` words for the end sets and `N (n + 1)(n + 2) / 2` floats for
//! inside values (`N` binarised nonterminals, `n` tokens), checked before allocation.

use super::cnf::{Binarised, Origin};
use super::{linalg, Grammar};
use crate::error::{KleeneError, Result};
use crate::limits::{check_elements, check_work};

/// Semiring of an inside pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sum,
    Max,
}

/// A unit-like edge `lhs => child` over the same span, with its weight and cause.
#[derive(Clone, Copy, Debug)]
struct UnitEdge {
    lhs: u32,
    child: u32,
    weight: f64,
    cause: Back,
}

/// How an item was derived (Viterbi back-pointer).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Back {
    #[default]
    None,
    /// `A -> a`.
    Lexical,
    /// `A -> ε`.
    Epsilon,
    /// `A -> B` (index into `unary`).
    Unary(u32),
    /// Binary rule split at `k` (`k` unused for ε items).
    Binary(u32, u32),
    /// Binary rule whose right child is empty.
    RightEmpty(u32),
    /// Binary rule whose left child is empty.
    LeftEmpty(u32),
}

/// A node of a parse tree in pre-order: a nonterminal or terminal of the original grammar
/// over `start..end`, with the index of its parent node (-1 for the root).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub terminal: bool,
    pub symbol: u32,
    pub start: u32,
    pub end: u32,
    pub parent: i32,
}

/// A grammar prepared for parsing.
pub struct Parser {
    b: Binarised,
    /// Nonterminals, each after those it pulls from at the same start position.
    order: Vec<u32>,
    /// Whether one pass in `order` reaches the fixed point.
    one_pass: bool,
    nullable: Vec<bool>,
    /// Binary rules grouped by lhs (indices into `b.binary`).
    binary_of: Vec<Vec<u32>>,
    /// For each lhs, the children it inherits end sets from (unit-like edges).
    unit_children: Vec<Vec<u32>>,
    /// ε probabilities (sum) and unit edges with those weights.
    eps_prob: Vec<f64>,
    unit_prob: Vec<UnitEdge>,
}

/// Refuses chart parsing above `KLEENE_MAX_WORK`: about `n^3` steps per binary rule.
pub(crate) fn check_parse_work(b: &Binarised, n: usize) -> Result<()> {
    let n = n as u128;
    let rules = (b.binary.len() + b.unary.len() + 1) as u128;
    check_work("parsing the string", &[n, n, n, rules])
}

fn invalid(m: impl Into<String>) -> KleeneError {
    KleeneError::invalid("grammar", m)
}

impl Parser {
    pub fn new(g: &Grammar) -> Self {
        let b = Binarised::new(g);
        let n = b.num_nonterminals;
        let nullable = nullable_set(&b);
        let mut binary_of = vec![Vec::new(); n];
        for (r, rule) in b.binary.iter().enumerate() {
            binary_of[rule.lhs as usize].push(r as u32);
        }
        let eps_prob = epsilon_values(&b, Mode::Sum).0;
        let unit_prob = unit_edges(&b, &eps_prob);
        let mut unit_children = vec![Vec::new(); n];
        for e in &unit_prob {
            unit_children[e.lhs as usize].push(e.child);
        }
        // Left-corner graph: A pulls from its binary left children and unit-like children.
        let mut pulls = unit_children.clone();
        for rule in &b.binary {
            pulls[rule.lhs as usize].push(rule.left);
        }
        let (order, one_pass) = post_order(&pulls);
        Parser {
            b,
            order,
            one_pass,
            nullable,
            binary_of,
            unit_children,
            eps_prob,
            unit_prob,
        }
    }

    pub fn binarised(&self) -> &Binarised {
        &self.b
    }

    /// Whether the grammar derives `w` (terminal indices; unknown indices are rejected).
    pub fn accepts(&self, w: &[u32]) -> Result<bool> {
        if w.iter().any(|&t| t as usize >= self.b.num_terminals) {
            return Ok(false);
        }
        if w.is_empty() {
            return Ok(self.nullable[0]);
        }
        let chart = self.recognise(w)?;
        Ok(chart.has(0, 0, w.len()))
    }

    fn recognise(&self, w: &[u32]) -> Result<Chart> {
        let n = w.len();
        let nts = self.b.num_nonterminals;
        let words = (n + 1).div_ceil(64);
        check_parse_work(&self.b, n)?;
        let len = check_elements("parse chart", &[nts, n + 1, words], 8)?;
        let mut c = Chart {
            n,
            words,
            ends: vec![0u64; len],
        };
        let mut scratch = vec![0u64; words];
        for i in (0..n).rev() {
            crate::interrupt::poll()?;
            for rule in &self.b.lexical {
                if rule.terminal == w[i] {
                    c.set(rule.lhs as usize, i, i + 1);
                }
            }
            loop {
                let mut changed = false;
                for &a in &self.order {
                    changed |= self.pull(&mut c, a as usize, i, &mut scratch);
                }
                if self.one_pass || !changed {
                    break;
                }
            }
        }
        Ok(c)
    }

    /// Recomputes the ends of `a` at `i` from its rules; true when they grew.
    fn pull(&self, c: &mut Chart, a: usize, i: usize, acc: &mut [u64]) -> bool {
        acc.copy_from_slice(c.row(a, i));
        for &r in &self.binary_of[a] {
            let rule = self.b.binary[r as usize];
            let left = c.row(rule.left as usize, i);
            for k in BitIter::new(left) {
                if k < c.n {
                    let right = c.row(rule.right as usize, k);
                    for (x, y) in acc.iter_mut().zip(right) {
                        *x |= *y;
                    }
                }
            }
        }
        for &b in &self.unit_children[a] {
            for (x, y) in acc.iter_mut().zip(c.row(b as usize, i)) {
                *x |= *y;
            }
        }
        let row = c.row_mut(a, i);
        let grew = row != &*acc;
        row.copy_from_slice(acc);
        grew
    }

    /// Probability of `w` under the PCFG (sum over its derivations).
    pub fn string_probability(&self, w: &[u32]) -> Result<f64> {
        if w.iter().any(|&t| t as usize >= self.b.num_terminals) {
            return Ok(0.0);
        }
        if w.is_empty() {
            return Ok(self.eps_prob[0]);
        }
        let chart = self.recognise(w)?;
        let closure = self.sum_closure(&self.eps_prob, &self.unit_prob)?;
        let inside = self.inside(w, &chart, &self.b, &closure)?;
        Ok(inside.get(0, w.len(), 0))
    }

    /// Number of derivations (parse trees) of `w`, as a float (exact below 2^53).
    /// Errors when the grammar allows infinitely many parses of some string.
    pub fn count_parses(&self, w: &[u32]) -> Result<f64> {
        if w.iter().any(|&t| t as usize >= self.b.num_terminals) {
            return Ok(0.0);
        }
        let ones = self.b.with_unit_weights();
        let (eps, converged) = epsilon_values(&ones, Mode::Sum);
        if !converged {
            return Err(invalid(
                "it has infinitely many derivations of the empty string (an ε cycle)",
            ));
        }
        if w.is_empty() {
            return Ok(eps[0]);
        }
        let edges = unit_edges(&ones, &eps);
        let mut pulls = vec![Vec::new(); ones.num_nonterminals];
        for e in &edges {
            pulls[e.lhs as usize].push(e.child);
        }
        if !post_order(&pulls).1 {
            return Err(invalid(
                "it has a cycle of unit (or ε-padded) rules, so some strings have infinitely many parses",
            ));
        }
        let chart = self.recognise(w)?;
        let closure = self.sum_closure(&eps, &edges)?;
        let inside = self.inside(w, &chart, &ones, &closure)?;
        Ok(inside.get(0, w.len(), 0))
    }

    /// `(I - U)^-1` as sparse columns: for each child, the (ancestor, weight) pairs. Only
    /// the nonterminals touched by unit-like edges take part in the (dense) solve.
    fn sum_closure(&self, _eps: &[f64], edges: &[UnitEdge]) -> Result<Vec<Vec<(u32, f64)>>> {
        let n = self.b.num_nonterminals;
        let mut cols: Vec<Vec<(u32, f64)>> = (0..n).map(|b| vec![(b as u32, 1.0)]).collect();
        if edges.is_empty() {
            return Ok(cols);
        }
        let mut local = vec![usize::MAX; n];
        let mut nodes = Vec::new();
        for e in edges {
            for x in [e.lhs as usize, e.child as usize] {
                if local[x] == usize::MAX {
                    local[x] = nodes.len();
                    nodes.push(x);
                }
            }
        }
        let k = nodes.len();
        if k > linalg::MAX_DENSE {
            return Err(invalid(format!(
                "{k} nonterminals take part in unit (or ε-padded) rules; at most {} are supported",
                linalg::MAX_DENSE
            )));
        }
        let mut m = vec![0.0; k * k];
        for e in edges {
            m[local[e.lhs as usize] * k + local[e.child as usize]] += e.weight;
        }
        let inv = linalg::inverse_identity_minus(&m, k)
            .filter(|inv| inv.iter().all(|v| v.is_finite() && *v >= -1e-9))
            .ok_or_else(|| {
                invalid("its unit-rule closure diverges (a unit cycle of probability 1)")
            })?;
        for (cb, &b) in nodes.iter().enumerate() {
            let col = &mut cols[b];
            col.clear();
            for (ca, &a) in nodes.iter().enumerate() {
                let v = inv[ca * k + cb];
                if v > 1e-300 {
                    col.push((a as u32, v));
                }
            }
        }
        Ok(cols)
    }

    /// Inside values (sum semiring) of every recognised item.
    fn inside(
        &self,
        w: &[u32],
        chart: &Chart,
        b: &Binarised,
        closure: &[Vec<(u32, f64)>],
    ) -> Result<Values> {
        let mut vals = Values::new(w.len(), b.num_nonterminals)?;
        let mut direct = vec![0.0; b.num_nonterminals];
        for i in (0..w.len()).rev() {
            crate::interrupt::poll()?;
            for j in i + 1..=w.len() {
                if !chart.any_at(i, j, b.num_nonterminals) {
                    continue;
                }
                self.direct(w, chart, b, &vals, i, j, Mode::Sum, &mut direct, None);
                for (child, &d) in direct.iter().enumerate() {
                    if d != 0.0 {
                        for &(a, c) in &closure[child] {
                            *vals.get_mut(i, j, a as usize) += c * d;
                        }
                    }
                }
            }
        }
        Ok(vals)
    }

    /// Values of `A` over `i..j` from lexical rules and binary rules with both sides
    /// non-empty, into `out` (sum or max; with back-pointers for max).
    #[allow(clippy::too_many_arguments)]
    fn direct(
        &self,
        w: &[u32],
        chart: &Chart,
        b: &Binarised,
        vals: &Values,
        i: usize,
        j: usize,
        mode: Mode,
        out: &mut [f64],
        mut back: Option<&mut [Back]>,
    ) {
        out.fill(0.0);
        if let Some(bk) = back.as_deref_mut() {
            bk.fill(Back::None);
        }
        if j == i + 1 {
            for rule in &b.lexical {
                if rule.terminal == w[i] {
                    let a = rule.lhs as usize;
                    combine(
                        mode,
                        &mut out[a],
                        rule.prob,
                        back.as_deref_mut(),
                        a,
                        Back::Lexical,
                    );
                }
            }
        }
        for (r, rule) in b.binary.iter().enumerate() {
            let (a, left, right) = (rule.lhs as usize, rule.left as usize, rule.right as usize);
            if !chart.has(a, i, j) {
                continue;
            }
            for k in BitIter::new(chart.row(left, i)) {
                if k >= j {
                    break;
                }
                if chart.has(right, k, j) {
                    let v = rule.prob * vals.get(i, k, left) * vals.get(k, j, right);
                    let cause = Back::Binary(r as u32, k as u32);
                    combine(mode, &mut out[a], v, back.as_deref_mut(), a, cause);
                }
            }
        }
    }

    /// The most probable parse tree of `w` (pre-order nodes), or `None` if `w` is not in
    /// the language.
    pub fn best_tree(&self, w: &[u32]) -> Result<Option<(f64, Vec<TreeNode>)>> {
        if w.iter().any(|&t| t as usize >= self.b.num_terminals) {
            return Ok(None);
        }
        let n = w.len();
        let (eps_best, eps_back) = epsilon_best(&self.b);
        if n == 0 {
            if eps_best[0] <= 0.0 {
                return Ok(None);
            }
        } else if !self.accepts(w)? {
            return Ok(None);
        }
        let chart = if n == 0 {
            None
        } else {
            Some(self.recognise(w)?)
        };
        let nts = self.b.num_nonterminals;
        let mut vals = Values::new(n, nts)?;
        let backs_len = check_elements("parse back-pointers", &[vals.data.len()], 16)?;
        let mut backs = vec![Back::None; backs_len];
        let edges = unit_edges_max(&self.b, &eps_best);
        let mut best = vec![0.0; nts];
        let mut bk = vec![Back::None; nts];
        if let Some(chart) = &chart {
            for i in (0..n).rev() {
                crate::interrupt::poll()?;
                for j in i + 1..=n {
                    if !chart.any_at(i, j, nts) {
                        continue;
                    }
                    self.direct(
                        w,
                        chart,
                        &self.b,
                        &vals,
                        i,
                        j,
                        Mode::Max,
                        &mut best,
                        Some(&mut bk),
                    );
                    relax_units(&edges, &mut best, &mut bk);
                    let base = vals.index(i, j);
                    vals.data[base..base + nts].copy_from_slice(&best);
                    backs[base..base + nts].copy_from_slice(&bk);
                }
            }
        }
        let score = if n == 0 {
            eps_best[0]
        } else {
            vals.get(0, n, 0)
        };
        let tree = self.build_tree(w, &vals, &backs, &eps_back);
        Ok(Some((score, tree)))
    }

    fn build_tree(
        &self,
        w: &[u32],
        vals: &Values,
        backs: &[Back],
        eps_back: &[Back],
    ) -> Vec<TreeNode> {
        let (b, n) = (&self.b, w.len());
        let mut nodes: Vec<TreeNode> = Vec::new();
        // (nonterminal, start, end, parent node)
        let mut stack: Vec<(u32, usize, usize, i32)> = vec![(0, 0, n, -1)];
        while let Some((a, i, j, parent)) = stack.pop() {
            let here = match b.origin[a as usize] {
                Origin::Original(x) => {
                    nodes.push(TreeNode {
                        terminal: false,
                        symbol: x,
                        start: i as u32,
                        end: j as u32,
                        parent,
                    });
                    (nodes.len() - 1) as i32
                }
                Origin::Intermediate => parent,
                Origin::Preterminal(_) => parent,
            };
            let back = if i == j {
                eps_back[a as usize]
            } else {
                backs[vals.index(i, j) + a as usize]
            };
            match back {
                Back::Lexical => {
                    nodes.push(TreeNode {
                        terminal: true,
                        symbol: w[i],
                        start: i as u32,
                        end: j as u32,
                        parent: here,
                    });
                }
                Back::Epsilon | Back::None => {}
                Back::Unary(r) => stack.push((b.unary[r as usize].child, i, j, here)),
                Back::Binary(r, k) => {
                    let rule = b.binary[r as usize];
                    let k = if i == j { i } else { k as usize };
                    stack.push((rule.right, k, j, here));
                    stack.push((rule.left, i, k, here));
                }
                Back::RightEmpty(r) => {
                    let rule = b.binary[r as usize];
                    stack.push((rule.right, j, j, here));
                    stack.push((rule.left, i, j, here));
                }
                Back::LeftEmpty(r) => {
                    let rule = b.binary[r as usize];
                    stack.push((rule.right, i, j, here));
                    stack.push((rule.left, i, i, here));
                }
            }
        }
        nodes
    }
}

#[inline]
fn combine(mode: Mode, slot: &mut f64, v: f64, back: Option<&mut [Back]>, a: usize, cause: Back) {
    match mode {
        Mode::Sum => *slot += v,
        Mode::Max => {
            if v > *slot {
                *slot = v;
                if let Some(bk) = back {
                    bk[a] = cause;
                }
            }
        }
    }
}

/// Max-product closure over unit-like edges (weights <= 1, so it ends).
fn relax_units(edges: &[UnitEdge], best: &mut [f64], back: &mut [Back]) {
    if edges.is_empty() {
        return;
    }
    loop {
        let mut changed = false;
        for e in edges {
            let v = e.weight * best[e.child as usize];
            if v > best[e.lhs as usize] * (1.0 + 1e-12) {
                best[e.lhs as usize] = v;
                back[e.lhs as usize] = e.cause;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Which nonterminals derive ε.
fn nullable_set(b: &Binarised) -> Vec<bool> {
    let mut ok = vec![false; b.num_nonterminals];
    for &(a, _) in &b.epsilon {
        ok[a as usize] = true;
    }
    loop {
        let mut changed = false;
        for u in &b.unary {
            if ok[u.child as usize] && !ok[u.lhs as usize] {
                ok[u.lhs as usize] = true;
                changed = true;
            }
        }
        for r in &b.binary {
            if ok[r.left as usize] && ok[r.right as usize] && !ok[r.lhs as usize] {
                ok[r.lhs as usize] = true;
                changed = true;
            }
        }
        if !changed {
            return ok;
        }
    }
}

/// Total weight of the ε-derivations of each nonterminal (least fixed point), and whether
/// the iteration converged (it does not when that weight is infinite).
fn epsilon_values(b: &Binarised, mode: Mode) -> (Vec<f64>, bool) {
    let n = b.num_nonterminals;
    let mut e = vec![0.0f64; n];
    let work = b.binary.len() + b.unary.len() + b.epsilon.len() + n;
    for _ in 0..linalg::iteration_cap(work) {
        let mut next = vec![0.0f64; n];
        for &(a, p) in &b.epsilon {
            next[a as usize] += p;
        }
        for u in &b.unary {
            next[u.lhs as usize] += u.prob * e[u.child as usize];
        }
        for r in &b.binary {
            next[r.lhs as usize] += r.prob * e[r.left as usize] * e[r.right as usize];
        }
        let _ = mode;
        let delta = next
            .iter()
            .zip(&e)
            .map(|(x, y)| (x - y).abs() / x.abs().max(1.0))
            .fold(0.0, f64::max);
        e = next;
        if delta < 1e-15 {
            return (e, true);
        }
        if e.iter().any(|v| !v.is_finite() || *v > 1e300) {
            return (e, false);
        }
    }
    (e, false)
}

/// Unit-like edges with sum weights: unary rules and binary rules with a nullable side.
fn unit_edges(b: &Binarised, eps: &[f64]) -> Vec<UnitEdge> {
    let mut edges = Vec::new();
    for (r, u) in b.unary.iter().enumerate() {
        edges.push(UnitEdge {
            lhs: u.lhs,
            child: u.child,
            weight: u.prob,
            cause: Back::Unary(r as u32),
        });
    }
    for (r, rule) in b.binary.iter().enumerate() {
        let er = eps[rule.right as usize];
        if er > 0.0 {
            edges.push(UnitEdge {
                lhs: rule.lhs,
                child: rule.left,
                weight: rule.prob * er,
                cause: Back::RightEmpty(r as u32),
            });
        }
        let el = eps[rule.left as usize];
        if el > 0.0 {
            edges.push(UnitEdge {
                lhs: rule.lhs,
                child: rule.right,
                weight: rule.prob * el,
                cause: Back::LeftEmpty(r as u32),
            });
        }
    }
    edges
}

fn unit_edges_max(b: &Binarised, eps_best: &[f64]) -> Vec<UnitEdge> {
    unit_edges(b, eps_best)
}

/// Best ε-derivation probability of each nonterminal and its back-pointer.
fn epsilon_best(b: &Binarised) -> (Vec<f64>, Vec<Back>) {
    let n = b.num_nonterminals;
    let mut best = vec![0.0f64; n];
    let mut back = vec![Back::None; n];
    for &(a, p) in &b.epsilon {
        if p > best[a as usize] {
            best[a as usize] = p;
            back[a as usize] = Back::Epsilon;
        }
    }
    loop {
        let mut changed = false;
        for (r, u) in b.unary.iter().enumerate() {
            let v = u.prob * best[u.child as usize];
            if v > best[u.lhs as usize] * (1.0 + 1e-12) {
                best[u.lhs as usize] = v;
                back[u.lhs as usize] = Back::Unary(r as u32);
                changed = true;
            }
        }
        for (r, rule) in b.binary.iter().enumerate() {
            let v = rule.prob * best[rule.left as usize] * best[rule.right as usize];
            if v > best[rule.lhs as usize] * (1.0 + 1e-12) {
                best[rule.lhs as usize] = v;
                back[rule.lhs as usize] = Back::Binary(r as u32, 0);
                changed = true;
            }
        }
        if !changed {
            return (best, back);
        }
    }
}

/// Post-order of the "pulls from" graph; true when it is acyclic.
fn post_order(pulls: &[Vec<u32>]) -> (Vec<u32>, bool) {
    let n = pulls.len();
    let mut state = vec![0u8; n];
    let mut order = Vec::with_capacity(n);
    let mut acyclic = true;
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < pulls[v].len() {
                let w = pulls[v][*next] as usize;
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => acyclic = false,
                    _ => {}
                }
            } else {
                state[v] = 2;
                order.push(v as u32);
                stack.pop();
            }
        }
    }
    (order, acyclic)
}

/// End sets: bit `j` of row `(A, i)` is set when `A` derives `w[i..j]`, `j > i`.
struct Chart {
    n: usize,
    words: usize,
    ends: Vec<u64>,
}

impl Chart {
    #[inline]
    fn row(&self, a: usize, i: usize) -> &[u64] {
        let s = (a * (self.n + 1) + i) * self.words;
        &self.ends[s..s + self.words]
    }
    #[inline]
    fn row_mut(&mut self, a: usize, i: usize) -> &mut [u64] {
        let s = (a * (self.n + 1) + i) * self.words;
        &mut self.ends[s..s + self.words]
    }
    #[inline]
    fn set(&mut self, a: usize, i: usize, j: usize) {
        self.row_mut(a, i)[j / 64] |= 1 << (j % 64);
    }
    #[inline]
    fn has(&self, a: usize, i: usize, j: usize) -> bool {
        self.row(a, i)[j / 64] >> (j % 64) & 1 == 1
    }
    fn any_at(&self, i: usize, j: usize, nts: usize) -> bool {
        (0..nts).any(|a| self.has(a, i, j))
    }
}

/// Iterates the set bits of a bitset in increasing order.
struct BitIter<'a> {
    words: &'a [u64],
    word: usize,
    cur: u64,
}

impl<'a> BitIter<'a> {
    fn new(words: &'a [u64]) -> Self {
        BitIter {
            words,
            word: 0,
            cur: words.first().copied().unwrap_or(0),
        }
    }
}

impl Iterator for BitIter<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.cur == 0 {
            self.word += 1;
            if self.word >= self.words.len() {
                return None;
            }
            self.cur = self.words[self.word];
        }
        let bit = self.cur.trailing_zeros() as usize;
        self.cur &= self.cur - 1;
        Some(self.word * 64 + bit)
    }
}

/// Inside values of items over spans `i < j` (triangular rows).
pub(crate) struct Values {
    n: usize,
    nts: usize,
    row_start: Vec<usize>,
    data: Vec<f64>,
}

impl Values {
    fn new(n: usize, nts: usize) -> Result<Self> {
        let mut row_start = Vec::with_capacity(n + 1);
        let mut acc = 0usize;
        for i in 0..=n {
            row_start.push(acc);
            acc += n + 1 - i;
        }
        let len = check_elements("inside chart", &[acc, nts], 8)?;
        Ok(Values {
            n,
            nts,
            row_start,
            data: vec![0.0; len],
        })
    }
    #[inline]
    fn index(&self, i: usize, j: usize) -> usize {
        debug_assert!(j >= i && j <= self.n);
        (self.row_start[i] + j - i) * self.nts
    }
    #[inline]
    pub(crate) fn get(&self, i: usize, j: usize, a: usize) -> f64 {
        self.data[self.index(i, j) + a]
    }
    #[inline]
    fn get_mut(&mut self, i: usize, j: usize, a: usize) -> &mut f64 {
        let k = self.index(i, j) + a;
        &mut self.data[k]
    }
}

impl Parser {
    /// Inside values of `w` under the PCFG (for prefix probabilities).
    pub(crate) fn inside_chart(&self, w: &[u32]) -> Result<(Values, Vec<f64>)> {
        let chart = self.recognise(w)?;
        let closure = self.sum_closure(&self.eps_prob, &self.unit_prob)?;
        Ok((
            self.inside(w, &chart, &self.b, &closure)?,
            self.eps_prob.clone(),
        ))
    }
}

impl Parser {
    /// Membership of many strings, in parallel.
    pub fn accepts_batch(&self, strings: &[Vec<u32>], threads: Option<usize>) -> Result<Vec<bool>> {
        use rayon::prelude::*;
        crate::pool::with_threads(threads, || {
            strings.par_iter().map(|w| self.accepts(w)).collect()
        })
    }
}
