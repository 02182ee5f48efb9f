//! The DFA type: a dense transition table over symbols `0..k`, partial transitions allowed.
//!
//! Every operation returns a new automaton. [`Dfa::minimize`] returns the canonical form of the
//! language: the minimal trimmed automaton (no dead state) with states numbered in BFS order
//! from the start state, symbols visited in increasing order. Two DFAs accept the same
//! language iff their canonical forms are equal, which makes [`Dfa::canonical_hash`]
//! invariant under isomorphism.

use std::collections::HashMap;

use crate::error::{ensure, Result};
use crate::limits::check_elements;
use crate::rng::mix64;

/// Marks a missing transition in the table.
pub const NONE: u32 = u32::MAX;
/// Largest number of states.
pub const MAX_STATES: usize = 1 << 24;
/// Largest alphabet.
pub const MAX_SYMBOLS: usize = 1 << 16;
/// Largest table (states x symbols).
pub const MAX_TABLE: usize = 1 << 27;

/// A deterministic finite automaton over symbols `0..num_symbols`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dfa {
    num_symbols: usize,
    start: u32,
    accepting: Vec<bool>,
    /// Row-major `[states, symbols]`; `NONE` where the transition is missing.
    table: Vec<u32>,
}

/// How a product automaton combines acceptance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductOp {
    And,
    Or,
    Difference,
    Xor,
}

impl ProductOp {
    fn accepts(self, a: bool, b: bool) -> bool {
        match self {
            ProductOp::And => a && b,
            ProductOp::Or => a || b,
            ProductOp::Difference => a && !b,
            ProductOp::Xor => a != b,
        }
    }
}

impl Dfa {
    /// Builds a DFA from a row-major table `[states, symbols]` (`NONE` = missing transition).
    pub fn new(
        num_symbols: usize,
        table: Vec<u32>,
        accepting: Vec<bool>,
        start: u32,
    ) -> Result<Self> {
        let n = accepting.len();
        ensure((1..=MAX_SYMBOLS).contains(&num_symbols), "alphabet", || {
            format!("must have 1..={MAX_SYMBOLS} symbols, got {num_symbols}")
        })?;
        ensure((1..=MAX_STATES).contains(&n), "accepting", || {
            format!("needs one flag per state, 1..={MAX_STATES} states; got {n}")
        })?;
        ensure(n.saturating_mul(num_symbols) <= MAX_TABLE, "table", || {
            format!("states x symbols must be at most {MAX_TABLE}, got {n} x {num_symbols}")
        })?;
        ensure(table.len() == n * num_symbols, "table", || {
            format!(
                "must have {n} rows (one per state) of {num_symbols} entries; got {} entries",
                table.len()
            )
        })?;
        if let Some(i) = table.iter().position(|&t| t != NONE && t as usize >= n) {
            return Err(crate::KleeneError::invalid(
                "table",
                format!(
                    "entry [{}, {}] = {} is not a state (0..{n}) nor missing (-1)",
                    i / num_symbols,
                    i % num_symbols,
                    table[i]
                ),
            ));
        }
        ensure((start as usize) < n, "start", || {
            format!("must be a state in 0..{n}, got {start}")
        })?;
        Ok(Dfa {
            num_symbols,
            start,
            accepting,
            table,
        })
    }

    /// Builds without checks; callers guarantee the invariants.
    pub(crate) fn from_parts(
        num_symbols: usize,
        table: Vec<u32>,
        accepting: Vec<bool>,
        start: u32,
    ) -> Self {
        debug_assert_eq!(table.len(), accepting.len() * num_symbols);
        Dfa {
            num_symbols,
            start,
            accepting,
            table,
        }
    }

    pub fn num_states(&self) -> usize {
        self.accepting.len()
    }
    pub fn num_symbols(&self) -> usize {
        self.num_symbols
    }
    pub fn start(&self) -> u32 {
        self.start
    }
    pub fn accepting(&self) -> &[bool] {
        &self.accepting
    }
    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// The target of `state` on `symbol`, `NONE` if missing.
    #[inline(always)]
    pub fn next(&self, state: u32, symbol: u32) -> u32 {
        self.table[state as usize * self.num_symbols + symbol as usize]
    }

    /// The state reached from the start by `word`, `None` if a transition is missing.
    /// Symbols outside the alphabet count as missing transitions.
    pub fn run(&self, word: &[u32]) -> Option<u32> {
        let mut q = self.start;
        for &a in word {
            if a as usize >= self.num_symbols {
                return None;
            }
            q = self.next(q, a);
            if q == NONE {
                return None;
            }
        }
        Some(q)
    }

    pub fn accepts(&self, word: &[u32]) -> bool {
        self.run(word).is_some_and(|q| self.accepting[q as usize])
    }

    /// True if every transition is defined.
    pub fn is_complete(&self) -> bool {
        !self.table.contains(&NONE)
    }

    /// States reachable from the start.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.num_states()];
        let mut stack = vec![self.start];
        seen[self.start as usize] = true;
        while let Some(q) = stack.pop() {
            for &t in self.row(q) {
                if t != NONE && !seen[t as usize] {
                    seen[t as usize] = true;
                    stack.push(t);
                }
            }
        }
        seen
    }

    /// States from which some accepting state is reachable ("live" states).
    pub fn coreachable(&self) -> Vec<bool> {
        let n = self.num_states();
        let (offsets, sources) = self.reverse_edges();
        let mut live = self.accepting.clone();
        let mut stack: Vec<u32> = (0..n as u32).filter(|&q| live[q as usize]).collect();
        while let Some(q) = stack.pop() {
            for &p in &sources[offsets[q as usize] as usize..offsets[q as usize + 1] as usize] {
                if !live[p as usize] {
                    live[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        live
    }

    /// CSR of predecessors over all symbols: sources of state q are
    /// `sources[offsets[q]..offsets[q+1]]`.
    fn reverse_edges(&self) -> (Vec<u32>, Vec<u32>) {
        let n = self.num_states();
        let mut offsets = vec![0u32; n + 1];
        for &t in self.table.iter().filter(|&&t| t != NONE) {
            offsets[t as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut sources = vec![0u32; offsets[n] as usize];
        for (i, &t) in self.table.iter().enumerate() {
            if t != NONE {
                sources[fill[t as usize] as usize] = (i / self.num_symbols) as u32;
                fill[t as usize] += 1;
            }
        }
        (offsets, sources)
    }

    #[inline(always)]
    pub fn row(&self, state: u32) -> &[u32] {
        let k = self.num_symbols;
        &self.table[state as usize * k..(state as usize + 1) * k]
    }

    /// Keeps the states that are reachable and live (plus the start state, always), renumbered
    /// in BFS order; transitions into removed states become missing.
    pub fn trim(&self) -> Dfa {
        let reach = self.reachable();
        let live = self.coreachable();
        let keep: Vec<bool> = reach.iter().zip(&live).map(|(&r, &l)| r && l).collect();
        self.bfs_renumber(&keep)
    }

    /// The sub-automaton on the `keep` states reachable through kept states (BFS numbering).
    pub fn restrict(&self, keep: &[bool]) -> Dfa {
        self.bfs_renumber(keep)
    }

    /// The sub-automaton on the `keep` states reachable from the start through kept states,
    /// numbered in BFS order (symbols in increasing order). The start is always kept.
    fn bfs_renumber(&self, keep: &[bool]) -> Dfa {
        let k = self.num_symbols;
        let mut new_id = vec![NONE; self.num_states()];
        let mut order = vec![self.start];
        new_id[self.start as usize] = 0;
        let mut head = 0;
        while head < order.len() {
            let q = order[head];
            head += 1;
            for &t in self.row(q) {
                if t != NONE && keep[t as usize] && new_id[t as usize] == NONE {
                    new_id[t as usize] = order.len() as u32;
                    order.push(t);
                }
            }
        }
        let mut table = Vec::with_capacity(order.len() * k);
        for &q in &order {
            table.extend(self.row(q).iter().map(|&t| {
                if t == NONE || !keep[t as usize] {
                    NONE
                } else {
                    new_id[t as usize]
                }
            }));
        }
        let accepting = order.iter().map(|&q| self.accepting[q as usize]).collect();
        Dfa::from_parts(k, table, accepting, 0)
    }

    /// The same language with every transition defined (a rejecting sink is added if needed).
    pub fn complete(&self) -> Dfa {
        if self.is_complete() {
            return self.clone();
        }
        let n = self.num_states() as u32;
        let mut table: Vec<u32> = self
            .table
            .iter()
            .map(|&t| if t == NONE { n } else { t })
            .collect();
        table.extend(std::iter::repeat_n(n, self.num_symbols));
        let mut accepting = self.accepting.clone();
        accepting.push(false);
        Dfa::from_parts(self.num_symbols, table, accepting, self.start)
    }

    /// The complement over the same alphabet (all strings of symbols `0..k` not accepted).
    pub fn complement(&self) -> Dfa {
        let mut c = self.complete();
        c.accepting.iter_mut().for_each(|a| *a = !*a);
        c
    }

    /// The product automaton (reachable pairs only), complete, accepting by `op`.
    pub fn product(&self, other: &Dfa, op: ProductOp) -> Result<Dfa> {
        ensure(self.num_symbols == other.num_symbols, "other", || {
            format!(
                "alphabets differ: {} vs {} symbols",
                self.num_symbols, other.num_symbols
            )
        })?;
        let k = self.num_symbols;
        let (a, b) = (self.complete(), other.complete());
        let key = |p: u32, q: u32| (p as u64) << 32 | q as u64;
        let mut ids: HashMap<u64, u32> = HashMap::new();
        let mut pairs = vec![(a.start, b.start)];
        ids.insert(key(a.start, b.start), 0);
        let mut table = Vec::new();
        let mut head = 0;
        while head < pairs.len() {
            let (p, q) = pairs[head];
            head += 1;
            check_elements("product automaton", &[pairs.len(), k], 4)?;
            ensure(
                pairs.len() <= MAX_STATES && pairs.len() * k <= MAX_TABLE,
                "other",
                || {
                    format!("product automaton exceeds {MAX_STATES} states or {MAX_TABLE} table entries")
                },
            )?;
            for s in 0..k as u32 {
                let (tp, tq) = (a.next(p, s), b.next(q, s));
                let next_id = pairs.len() as u32;
                let id = *ids.entry(key(tp, tq)).or_insert(next_id);
                if id == next_id {
                    pairs.push((tp, tq));
                }
                table.push(id);
            }
        }
        let accepting = pairs
            .iter()
            .map(|&(p, q)| op.accepts(a.accepting[p as usize], b.accepting[q as usize]))
            .collect();
        Ok(Dfa::from_parts(k, table, accepting, 0))
    }

    /// True if no string is accepted.
    pub fn is_empty(&self) -> bool {
        !self
            .reachable()
            .iter()
            .zip(&self.accepting)
            .any(|(&r, &a)| r && a)
    }

    /// True if both accept the same language (the symmetric difference is empty).
    pub fn equivalent(&self, other: &Dfa) -> Result<bool> {
        Ok(self.product(other, ProductOp::Xor)?.is_empty())
    }

    /// The canonical minimal DFA: reachable part, Hopcroft partition refinement, dead state
    /// removed, states numbered in BFS order. The empty language gives one rejecting state
    /// with no transitions.
    pub fn minimize(&self) -> Dfa {
        let reach = self.reachable();
        let reachable = self.bfs_renumber(&reach).complete();
        let blocks = hopcroft(&reachable);
        let quotient = reachable.quotient(&blocks);
        quotient.trim()
    }

    /// The automaton whose states are the blocks of a congruence partition.
    fn quotient(&self, block_of: &[u32]) -> Dfa {
        let k = self.num_symbols;
        let nb = block_of.iter().map(|&b| b as usize + 1).max().unwrap_or(0);
        let mut table = vec![NONE; nb * k];
        let mut accepting = vec![false; nb];
        for q in 0..self.num_states() {
            let b = block_of[q] as usize;
            accepting[b] = self.accepting[q];
            for (s, &t) in self.row(q as u32).iter().enumerate() {
                table[b * k + s] = if t == NONE {
                    NONE
                } else {
                    block_of[t as usize]
                };
            }
        }
        Dfa::from_parts(k, table, accepting, block_of[self.start as usize])
    }

    /// A 64-bit hash of the canonical form: equal for DFAs with the same language, whatever
    /// their state numbering.
    pub fn canonical_hash(&self) -> u64 {
        self.minimize().structural_hash()
    }

    /// A hash of this exact table (not invariant under renumbering; see `canonical_hash`).
    pub fn structural_hash(&self) -> u64 {
        let mut h = mix64(self.num_symbols as u64 ^ 0x6b6c_6565_6e65);
        h = mix64(h ^ self.num_states() as u64);
        h = mix64(h ^ self.start as u64);
        for (q, &a) in self.accepting.iter().enumerate() {
            h = mix64(h ^ ((q as u64) << 1 | a as u64));
        }
        for &t in &self.table {
            h = mix64(h.wrapping_add(t as u64));
        }
        h
    }
}

/// Hopcroft's partition refinement on a complete DFA; returns the block of each state.
fn hopcroft(dfa: &Dfa) -> Vec<u32> {
    let (n, k) = (dfa.num_states(), dfa.num_symbols());
    let inverse = Inverse::new(dfa);
    let mut part = Partition::new(dfa.accepting());
    if part.num_blocks() < 2 {
        return vec![0; n];
    }
    let mut pending = vec![false; n * k];
    let mut work: Vec<(u32, u32)> = Vec::new();
    let smaller = if part.size(0) <= part.size(1) { 0 } else { 1 };
    for a in 0..k as u32 {
        work.push((smaller, a));
        pending[smaller as usize * k + a as usize] = true;
    }
    let mut splitter: Vec<u32> = Vec::new();
    let mut touched: Vec<u32> = Vec::new();
    while let Some((b, a)) = work.pop() {
        pending[b as usize * k + a as usize] = false;
        splitter.clear();
        splitter.extend_from_slice(part.members(b));
        for &s in &splitter {
            for &p in inverse.sources(a, s) {
                part.mark(p, &mut touched);
            }
        }
        for c in touched.drain(..) {
            let Some(d) = part.split(c) else { continue };
            for e in 0..k {
                let pick = if pending[c as usize * k + e] || part.size(d) <= part.size(c) {
                    d
                } else {
                    c
                };
                if !pending[pick as usize * k + e] {
                    pending[pick as usize * k + e] = true;
                    work.push((pick, e as u32));
                }
            }
        }
    }
    part.block_of
}

/// Per-symbol predecessor lists of a complete DFA.
struct Inverse {
    n: usize,
    offsets: Vec<u32>,
    sources: Vec<u32>,
}

impl Inverse {
    fn new(dfa: &Dfa) -> Self {
        let (n, k) = (dfa.num_states(), dfa.num_symbols());
        let mut offsets = vec![0u32; k * (n + 1)];
        for q in 0..n {
            for a in 0..k {
                let t = dfa.table[q * k + a] as usize;
                offsets[a * (n + 1) + t + 1] += 1;
            }
        }
        for a in 0..k {
            for t in 0..n {
                offsets[a * (n + 1) + t + 1] += offsets[a * (n + 1) + t];
            }
        }
        let mut fill: Vec<u32> = offsets.clone();
        let mut sources = vec![0u32; k * n];
        for q in 0..n {
            for a in 0..k {
                let t = dfa.table[q * k + a] as usize;
                let slot = &mut fill[a * (n + 1) + t];
                sources[a * n + *slot as usize] = q as u32;
                *slot += 1;
            }
        }
        Inverse {
            n,
            offsets,
            sources,
        }
    }

    fn sources(&self, a: u32, t: u32) -> &[u32] {
        let base = a as usize * (self.n + 1) + t as usize;
        let (lo, hi) = (self.offsets[base] as usize, self.offsets[base + 1] as usize);
        &self.sources[a as usize * self.n + lo..a as usize * self.n + hi]
    }
}

/// A partition of states into contiguous blocks of `elems`, with a marked prefix per block.
struct Partition {
    elems: Vec<u32>,
    loc: Vec<u32>,
    block_of: Vec<u32>,
    first: Vec<u32>,
    end: Vec<u32>,
    mid: Vec<u32>,
}

impl Partition {
    fn new(accepting: &[bool]) -> Self {
        let n = accepting.len();
        let mut elems: Vec<u32> = (0..n as u32).filter(|&q| accepting[q as usize]).collect();
        let n_acc = elems.len() as u32;
        elems.extend((0..n as u32).filter(|&q| !accepting[q as usize]));
        let mut loc = vec![0u32; n];
        for (i, &q) in elems.iter().enumerate() {
            loc[q as usize] = i as u32;
        }
        let mut p = Partition {
            elems,
            loc,
            block_of: vec![0; n],
            first: vec![],
            end: vec![],
            mid: vec![],
        };
        let bounds = [(0, n_acc), (n_acc, n as u32)];
        for (lo, hi) in bounds.into_iter().filter(|(lo, hi)| lo < hi) {
            let b = p.first.len() as u32;
            p.first.push(lo);
            p.end.push(hi);
            p.mid.push(lo);
            for i in lo..hi {
                p.block_of[p.elems[i as usize] as usize] = b;
            }
        }
        p
    }

    fn num_blocks(&self) -> usize {
        self.first.len()
    }

    fn size(&self, b: u32) -> u32 {
        self.end[b as usize] - self.first[b as usize]
    }

    fn members(&self, b: u32) -> &[u32] {
        &self.elems[self.first[b as usize] as usize..self.end[b as usize] as usize]
    }

    /// Moves `q` into the marked prefix of its block.
    fn mark(&mut self, q: u32, touched: &mut Vec<u32>) {
        let b = self.block_of[q as usize] as usize;
        let i = self.loc[q as usize];
        let m = self.mid[b];
        if i < m {
            return;
        }
        if m == self.first[b] {
            touched.push(b as u32);
        }
        let other = self.elems[m as usize];
        self.elems.swap(i as usize, m as usize);
        self.loc[other as usize] = i;
        self.loc[q as usize] = m;
        self.mid[b] = m + 1;
    }

    /// Splits the marked prefix of `c` off into a new block (returned), unless all or none
    /// of `c` is marked. Clears the marks.
    fn split(&mut self, c: u32) -> Option<u32> {
        let ci = c as usize;
        let (lo, m) = (self.first[ci], self.mid[ci]);
        self.mid[ci] = lo;
        if m == self.end[ci] || m == lo {
            return None;
        }
        let d = self.first.len() as u32;
        self.first.push(lo);
        self.end.push(m);
        self.mid.push(lo);
        self.first[ci] = m;
        self.mid[ci] = m;
        for i in lo..m {
            self.block_of[self.elems[i as usize] as usize] = d;
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parity of ones over {0, 1}, with a redundant copy of each state.
    fn redundant_parity() -> Dfa {
        // states 0,2 = even; 1,3 = odd
        let table = vec![2, 1, 3, 0, 0, 3, 1, 2];
        Dfa::new(2, table, vec![true, false, true, false], 0).unwrap()
    }

    #[test]
    fn minimize_merges_equivalent_states() {
        let m = redundant_parity().minimize();
        assert_eq!(m.num_states(), 2);
        assert_eq!(m.table(), &[0, 1, 1, 0]);
        assert!(m.accepts(&[1, 1]) && !m.accepts(&[0, 1]));
    }

    #[test]
    fn empty_language_is_one_rejecting_state() {
        let d = Dfa::new(2, vec![1, NONE, 1, 1], vec![false, false], 0).unwrap();
        let m = d.minimize();
        assert!(m.is_empty());
        assert_eq!(m.num_states(), 1);
        assert_eq!(m.table(), &[NONE, NONE]);
    }

    #[test]
    fn complement_and_product() {
        let p = redundant_parity();
        let c = p.complement();
        assert!(c.accepts(&[1]) && !c.accepts(&[]));
        assert!(p.product(&c, ProductOp::And).unwrap().is_empty());
        assert!(p.equivalent(&p.minimize()).unwrap());
        assert!(!p.equivalent(&c).unwrap());
    }

    #[test]
    fn rejects_bad_tables() {
        assert!(Dfa::new(2, vec![0, 5], vec![true], 0).is_err());
        assert!(Dfa::new(0, vec![], vec![true], 0).is_err());
        assert!(Dfa::new(2, vec![], vec![], 0).is_err());
        assert!(Dfa::new(1, vec![0], vec![true], 1).is_err());
    }
}
