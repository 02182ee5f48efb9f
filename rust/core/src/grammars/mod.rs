//! Context-free grammars and PCFGs: parsing a readable text format, loading the cfg3 family,
//! validation, top-down sampling (also bit-compatible with the official cfg3 generator),
//! membership and parsing, exact prefix probabilities and consistency analysis.
//!
//! A [`Grammar`] holds terminals and nonterminals by index; nonterminal 0 is the start symbol.
//! Rules are stored grouped by left-hand side with their probabilities (uniform when the user
//! gives no weights).

pub mod analysis;
pub mod cfg3;
pub mod cnf;
mod linalg;
pub mod parse;
pub mod prefix;
pub mod pyrandom;
pub mod sample;
pub mod text;
pub mod uniform;

use crate::error::{KleeneError, Result};

/// A symbol on a right-hand side: a terminal or a nonterminal, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sym {
    T(u32),
    N(u32),
}

/// One production `lhs -> rhs` with its probability among the rules of `lhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub lhs: u32,
    pub rhs: Vec<Sym>,
    pub prob: f64,
}

/// Largest number of symbols or rules a grammar may have.
pub const MAX_SYMBOLS: usize = 1 << 20;

/// A validated context-free grammar with rule probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct Grammar {
    terminals: Vec<String>,
    nonterminals: Vec<String>,
    rules: Vec<Rule>,
    /// Rules of nonterminal `a` are `rules[first_rule[a]..first_rule[a + 1]]`.
    first_rule: Vec<usize>,
}

/// How rule weights are turned into probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// Weights must already sum to 1 (within 1e-6) for each nonterminal.
    Exact,
    /// Weights are divided by their sum per nonterminal.
    Normalise,
    /// Probabilities kept bit for bit; each nonterminal's must sum to 1 (within 1e-6). Used to
    /// rebuild a grammar from its own `to_text` (pickling).
    Verbatim,
}

impl Grammar {
    /// Builds and validates a grammar. `rules` may come in any order; their `prob` fields are
    /// raw weights, checked or normalised per `weights`. Nonterminal 0 is the start symbol.
    pub fn new(
        terminals: Vec<String>,
        nonterminals: Vec<String>,
        rules: Vec<Rule>,
        weights: Weights,
    ) -> Result<Self> {
        Self::build(terminals, nonterminals, rules, weights, false)
    }

    /// As [`Grammar::new`], but unreachable nonterminals are kept (the official cfg3e1 file
    /// has some; they never take part in sampling or parsing).
    pub fn new_allow_unreachable(
        terminals: Vec<String>,
        nonterminals: Vec<String>,
        rules: Vec<Rule>,
        weights: Weights,
    ) -> Result<Self> {
        Self::build(terminals, nonterminals, rules, weights, true)
    }

    fn build(
        terminals: Vec<String>,
        nonterminals: Vec<String>,
        mut rules: Vec<Rule>,
        weights: Weights,
        allow_unreachable: bool,
    ) -> Result<Self> {
        let (nt, t) = (nonterminals.len(), terminals.len());
        ensure_size("nonterminals", nt)?;
        ensure_size("terminals", t)?;
        ensure_size("rules", rules.len())?;
        if nt == 0 {
            return Err(KleeneError::invalid("grammar", "has no nonterminal"));
        }
        for r in &rules {
            check_rule(r, &terminals, &nonterminals)?;
        }
        rules.sort_by_key(|r| r.lhs);
        let mut first_rule = vec![0usize; nt + 1];
        for r in &rules {
            first_rule[r.lhs as usize + 1] += 1;
        }
        for a in 0..nt {
            first_rule[a + 1] += first_rule[a];
        }
        let mut g = Grammar {
            terminals,
            nonterminals,
            rules,
            first_rule,
        };
        g.set_probabilities(weights)?;
        g.check_structure(allow_unreachable)?;
        Ok(g)
    }

    fn set_probabilities(&mut self, weights: Weights) -> Result<()> {
        for a in 0..self.nonterminals.len() {
            let range = self.rule_range(a);
            if range.is_empty() {
                return Err(KleeneError::invalid(
                    "grammar",
                    format!("nonterminal {} has no rule", self.nonterminals[a]),
                ));
            }
            let sum: f64 = self.rules[range.clone()].iter().map(|r| r.prob).sum();
            let name = &self.nonterminals[a];
            if !(sum.is_finite() && sum > 0.0) {
                return Err(KleeneError::invalid(
                    "weights",
                    format!("the weights of {name} sum to {sum}; they must be finite with a positive sum"),
                ));
            }
            if weights != Weights::Normalise && (sum - 1.0).abs() > 1e-6 {
                return Err(KleeneError::invalid(
                    "weights",
                    format!("the probabilities of {name} sum to {sum}, not 1 (ask for normalisation to rescale them)"),
                ));
            }
            if weights != Weights::Verbatim {
                for r in &mut self.rules[range] {
                    r.prob /= sum;
                }
            }
        }
        Ok(())
    }

    /// Names of the nonterminals whose flag is false.
    fn names_lacking(&self, flags: &[bool]) -> Vec<&str> {
        (0..self.num_nonterminals())
            .filter(|&a| !flags[a])
            .map(|a| self.nonterminals[a].as_str())
            .collect()
    }

    /// Rejects unreachable and non-productive nonterminals, naming them.
    fn check_structure(&self, allow_unreachable: bool) -> Result<()> {
        let dead = self.names_lacking(&self.productive());
        if !dead.is_empty() {
            return Err(KleeneError::invalid(
                "grammar",
                format!(
                    "non-productive nonterminal(s) {} derive no finite string",
                    dead.join(", ")
                ),
            ));
        }
        if allow_unreachable {
            return Ok(());
        }
        let lost = self.names_lacking(&self.reachable());
        if !lost.is_empty() {
            return Err(KleeneError::invalid(
                "grammar",
                format!(
                    "unreachable nonterminal(s) {} (not derivable from the start symbol {})",
                    lost.join(", "),
                    self.nonterminals[0]
                ),
            ));
        }
        Ok(())
    }

    pub fn terminals(&self) -> &[String] {
        &self.terminals
    }
    pub fn nonterminals(&self) -> &[String] {
        &self.nonterminals
    }
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    pub fn num_terminals(&self) -> usize {
        self.terminals.len()
    }
    pub fn num_nonterminals(&self) -> usize {
        self.nonterminals.len()
    }
    /// Index range (into [`Grammar::rules`]) of the rules of nonterminal `a`.
    pub fn rule_range(&self, a: usize) -> std::ops::Range<usize> {
        self.first_rule[a]..self.first_rule[a + 1]
    }
    pub fn rules_of(&self, a: usize) -> &[Rule] {
        &self.rules[self.rule_range(a)]
    }

    /// Which nonterminals derive at least one finite terminal string.
    pub fn productive(&self) -> Vec<bool> {
        self.min_lengths().iter().map(|&m| m != u64::MAX).collect()
    }

    /// Which nonterminals occur in some sentential form derived from the start symbol.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.num_nonterminals()];
        let mut stack = vec![0usize];
        seen[0] = true;
        while let Some(a) = stack.pop() {
            for r in self.rules_of(a) {
                for s in &r.rhs {
                    if let Sym::N(b) = *s {
                        if !seen[b as usize] {
                            seen[b as usize] = true;
                            stack.push(b as usize);
                        }
                    }
                }
            }
        }
        seen
    }

    /// Length of the shortest terminal string each nonterminal derives (saturating;
    /// `u64::MAX` for a non-productive one).
    ///
    /// Knuth's generalisation of Dijkstra's algorithm (Knuth 1977, "A generalization of
    /// Dijkstra's algorithm"): nonterminals are settled in increasing order of their value, a
    /// rule becoming ready once all its nonterminals are settled. O(size log size), so long
    /// chains of nonterminals cost linear time, not one pass per link.
    pub fn min_lengths(&self) -> Vec<u64> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let n = self.num_nonterminals();
        let mut uses: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut pending = vec![0usize; self.rules.len()];
        let mut partial = vec![0u64; self.rules.len()];
        let mut heap = BinaryHeap::new();
        for (i, r) in self.rules.iter().enumerate() {
            for s in &r.rhs {
                match *s {
                    Sym::T(_) => partial[i] = partial[i].saturating_add(1),
                    Sym::N(b) => {
                        uses[b as usize].push(i as u32);
                        pending[i] += 1;
                    }
                }
            }
            if pending[i] == 0 {
                heap.push(Reverse((partial[i], r.lhs)));
            }
        }
        let mut best = vec![u64::MAX; n];
        let mut settled = vec![false; n];
        while let Some(Reverse((len, a))) = heap.pop() {
            if std::mem::replace(&mut settled[a as usize], true) {
                continue;
            }
            best[a as usize] = len;
            for &i in &uses[a as usize] {
                let i = i as usize;
                partial[i] = partial[i].saturating_add(len);
                pending[i] -= 1;
                if pending[i] == 0 {
                    heap.push(Reverse((partial[i], self.rules[i].lhs)));
                }
            }
        }
        best
    }

    /// Length of the longest string each nonterminal derives, `None` where unbounded
    /// (the nonterminal reaches a cycle that can produce terminals or loop forever).
    pub fn max_lengths(&self) -> Vec<Option<u64>> {
        let n = self.num_nonterminals();
        let order = match self.acyclic_order() {
            Some(o) => o,
            None => return self.max_lengths_cyclic(),
        };
        let mut best = vec![Some(0u64); n];
        for &a in &order {
            let mut m = 0u64;
            for r in self.rules_of(a) {
                let len = r.rhs.iter().fold(0u64, |acc, s| match *s {
                    Sym::T(_) => acc.saturating_add(1),
                    Sym::N(b) => acc.saturating_add(best[b as usize].unwrap_or(u64::MAX)),
                });
                m = m.max(len);
            }
            best[a] = Some(m);
        }
        best
    }

    fn max_lengths_cyclic(&self) -> Vec<Option<u64>> {
        // Nonterminals that reach a cycle are unbounded (every symbol is productive, so a
        // cycle through a rule with other symbols pumps; a pure unit/epsilon cycle still
        // allows arbitrarily deep derivations, but only boundedly long strings: we report
        // unbounded conservatively).
        let n = self.num_nonterminals();
        let mut out = vec![None; n];
        for (a, slot) in out.iter_mut().enumerate() {
            if !self.reaches_cycle(a) {
                *slot = Some(0);
            }
        }
        let order_all: Vec<usize> = self.post_order();
        let mut best: Vec<Option<u64>> = vec![None; n];
        for &a in &order_all {
            if out[a].is_none() {
                continue;
            }
            let mut m = 0u64;
            for r in self.rules_of(a) {
                let len = r.rhs.iter().fold(0u64, |acc, s| match *s {
                    Sym::T(_) => acc.saturating_add(1),
                    Sym::N(b) => acc.saturating_add(best[b as usize].unwrap_or(0)),
                });
                m = m.max(len);
            }
            best[a] = Some(m);
        }
        best
    }

    fn reaches_cycle(&self, a: usize) -> bool {
        // a reaches a cycle iff the subgraph reachable from a is not acyclic.
        let n = self.num_nonterminals();
        let mut state = vec![0u8; n];
        let mut stack = vec![(a, 0usize)];
        state[a] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            let kids = self.children(v);
            if *next < kids.len() {
                let w = kids[*next];
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => return true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
        false
    }

    fn children(&self, a: usize) -> Vec<usize> {
        let mut kids: Vec<usize> = self
            .rules_of(a)
            .iter()
            .flat_map(|r| r.rhs.iter())
            .filter_map(|s| match *s {
                Sym::N(b) => Some(b as usize),
                Sym::T(_) => None,
            })
            .collect();
        kids.sort_unstable();
        kids.dedup();
        kids
    }

    /// Nonterminals in an order where every nonterminal comes after all it derives, or
    /// `None` when the grammar is recursive.
    pub fn acyclic_order(&self) -> Option<Vec<usize>> {
        let n = self.num_nonterminals();
        let order = self.post_order();
        let mut pos = vec![0usize; n];
        for (i, &a) in order.iter().enumerate() {
            pos[a] = i;
        }
        let ok = (0..n).all(|a| self.children(a).iter().all(|&b| pos[b] < pos[a]));
        ok.then_some(order)
    }

    /// DFS post-order over all nonterminals (children first where the graph is acyclic).
    fn post_order(&self) -> Vec<usize> {
        let n = self.num_nonterminals();
        let mut state = vec![0u8; n];
        let mut order = Vec::with_capacity(n);
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            state[root] = 1;
            let mut stack = vec![(root, self.children(root), 0usize)];
            while let Some((v, kids, next)) = stack.last_mut() {
                if *next < kids.len() {
                    let w = kids[*next];
                    *next += 1;
                    if state[w] == 0 {
                        state[w] = 1;
                        let k = self.children(w);
                        stack.push((w, k, 0));
                    }
                } else {
                    state[*v] = 2;
                    order.push(*v);
                    stack.pop();
                }
            }
        }
        order
    }

    /// The grammar in the text format (round-trips through [`text::parse`]).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for a in 0..self.num_nonterminals() {
            out.push_str(&self.nonterminals[a]);
            out.push_str(" ->");
            for (k, r) in self.rules_of(a).iter().enumerate() {
                if k > 0 {
                    out.push_str(" |");
                }
                if r.rhs.is_empty() {
                    out.push_str(" ε");
                }
                for s in &r.rhs {
                    out.push(' ');
                    match *s {
                        Sym::N(b) => out.push_str(&self.nonterminals[b as usize]),
                        Sym::T(t) => out.push_str(&text::quote(&self.terminals[t as usize])),
                    }
                }
                out.push_str(&format!(" [{}]", r.prob));
            }
            out.push('\n');
        }
        out
    }
}

fn ensure_size(what: &str, n: usize) -> Result<()> {
    if n > MAX_SYMBOLS {
        return Err(KleeneError::invalid(
            "grammar",
            format!("has {n} {what}; at most {MAX_SYMBOLS} are allowed"),
        ));
    }
    Ok(())
}

fn check_rule(r: &Rule, terminals: &[String], nonterminals: &[String]) -> Result<()> {
    let bad = |m: String| Err(KleeneError::invalid("rules", m));
    if r.lhs as usize >= nonterminals.len() {
        return bad(format!(
            "rule left-hand side {} is not a nonterminal",
            r.lhs
        ));
    }
    for s in &r.rhs {
        match *s {
            Sym::T(t) if t as usize >= terminals.len() => {
                return bad(format!("terminal index {t} out of range"))
            }
            Sym::N(b) if b as usize >= nonterminals.len() => {
                return bad(format!("nonterminal index {b} out of range"))
            }
            _ => {}
        }
    }
    if !(r.prob.is_finite() && r.prob >= 0.0) {
        return bad(format!(
            "a rule of {} has weight {}; weights must be finite and >= 0",
            nonterminals[r.lhs as usize], r.prob
        ));
    }
    Ok(())
}

/// An order of the nodes of a graph (`pulls[v]`: the nodes `v` depends on) where every node
/// comes after all it depends on, or `None` when the graph has a cycle.
pub(crate) fn topological_order(pulls: &[Vec<u32>]) -> Option<Vec<u32>> {
    let n = pulls.len();
    let mut state = vec![0u8; n];
    let mut order = Vec::with_capacity(n);
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
                    1 => return None,
                    _ => {}
                }
            } else {
                state[v] = 2;
                order.push(v as u32);
                stack.pop();
            }
        }
    }
    Some(order)
}
