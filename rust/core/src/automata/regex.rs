//! Regular expressions over a given alphabet of characters: parser, Thompson NFA and subset
//! construction.
//!
//! Syntax: literals, `.` (any symbol of the alphabet), classes `[abc]`, `[a-d]`, `[^ab]`,
//! grouping `(...)`, alternation `|`, repetition `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`, and
//! `\` to escape a metacharacter. Whitespace is a literal. The empty regex and `()` match the
//! empty string. Errors name the character position (0-based) where parsing failed.
//!
//! Nothing here recurses on the input: the parser keeps an explicit stack of open groups, the
//! syntax tree is an arena whose children precede their parents, and the NFA is built in arena
//! order (a repetition copies its operand's finished fragment). Every size is checked before
//! the work that would exceed it.

use std::collections::HashMap;

use super::dfa::{Dfa, MAX_STATES, NONE};
use crate::error::{KleeneError, Result};
use crate::limits::max_bytes;

/// Largest repetition bound in `{m,n}`.
pub const MAX_REPEAT: u32 = 1000;
/// Largest Thompson NFA (states; symbol edges are capped at 16 per state on average).
pub const MAX_NFA_STATES: usize = 1 << 20;
/// Largest total number of symbol edges in the Thompson NFA.
pub const MAX_NFA_EDGES: usize = 1 << 24;
/// Default cap on the DFA produced by subset construction (`max_states` raises it).
pub const DEFAULT_REGEX_DFA_STATES: usize = 1 << 16;

/// Arena node; children are indices of earlier nodes.
#[derive(Clone, Debug)]
enum Node {
    Empty,
    Set(Vec<u32>),
    Concat(Vec<usize>),
    Alt(Vec<usize>),
    Repeat(usize, u32, Option<u32>),
}

fn parse_error(pos: usize, pattern: &str, message: impl Into<String>) -> KleeneError {
    KleeneError::invalid(
        "pattern",
        format!("{} at position {pos} in {pattern:?}", message.into()),
    )
}

/// An open group: its `(` position (None for the whole pattern), finished branches and the
/// items of the branch being read.
struct Group {
    open: Option<usize>,
    branches: Vec<usize>,
    items: Vec<usize>,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    pattern: &'a str,
    alphabet: &'a HashMap<char, u32>,
    k: u32,
    nodes: Vec<Node>,
    /// Symbol edges the NFA will need at least once (guards huge classes times huge patterns).
    set_symbols: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn err(&self, message: impl Into<String>) -> KleeneError {
        parse_error(self.pos, self.pattern, message)
    }

    fn push(&mut self, node: Node) -> Result<usize> {
        if let Node::Set(s) = &node {
            self.set_symbols += s.len();
            if self.set_symbols > MAX_NFA_EDGES {
                return Err(self.err(format!(
                    "the pattern needs more than {MAX_NFA_EDGES} NFA edges"
                )));
            }
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Closes the branch being read: its items as one node.
    fn close_branch(&mut self, items: Vec<usize>) -> Result<usize> {
        match items.len() {
            0 => self.push(Node::Empty),
            1 => Ok(items[0]),
            _ => self.push(Node::Concat(items)),
        }
    }

    fn close_group(&mut self, mut group: Group) -> Result<usize> {
        let last = self.close_branch(std::mem::take(&mut group.items))?;
        if group.branches.is_empty() {
            return Ok(last);
        }
        group.branches.push(last);
        self.push(Node::Alt(group.branches))
    }

    /// Parses the whole pattern with an explicit stack of open groups; returns the root node.
    fn parse(&mut self) -> Result<usize> {
        let mut stack = vec![Group {
            open: None,
            branches: Vec::new(),
            items: Vec::new(),
        }];
        while let Some(c) = self.peek() {
            match c {
                '(' => {
                    stack.push(Group {
                        open: Some(self.pos),
                        branches: Vec::new(),
                        items: Vec::new(),
                    });
                    self.pos += 1;
                }
                ')' => {
                    if stack.len() == 1 {
                        return Err(self.err("unmatched `)`"));
                    }
                    self.pos += 1;
                    let group = stack.pop().expect("checked above");
                    let node = self.close_group(group)?;
                    stack.last_mut().expect("root stays").items.push(node);
                }
                '|' => {
                    self.pos += 1;
                    let top = stack.last_mut().expect("root stays");
                    let items = std::mem::take(&mut top.items);
                    let branch = self.close_branch(items)?;
                    stack.last_mut().expect("root stays").branches.push(branch);
                }
                '*' | '+' | '?' | '{' => {
                    let Some(&operand) = stack.last().expect("root stays").items.last() else {
                        return Err(self.err(format!("`{c}` has nothing to repeat")));
                    };
                    let (lo, hi) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        '?' => (0, Some(1)),
                        _ => self.bounds()?,
                    };
                    if c != '{' {
                        self.pos += 1;
                    }
                    let node = self.push(Node::Repeat(operand, lo, hi))?;
                    *stack
                        .last_mut()
                        .expect("root stays")
                        .items
                        .last_mut()
                        .expect("checked above") = node;
                }
                ']' | '}' => return Err(self.err(format!("unmatched `{c}`"))),
                _ => {
                    let node = match c {
                        '[' => self.class()?,
                        '.' => {
                            self.pos += 1;
                            Node::Set((0..self.k).collect())
                        }
                        _ => Node::Set(vec![self.literal()?]),
                    };
                    let node = self.push(node)?;
                    stack.last_mut().expect("root stays").items.push(node);
                }
            }
        }
        let group = stack.pop().expect("root stays");
        if let Some(open) = group.open {
            return Err(parse_error(open, self.pattern, "unclosed `(`"));
        }
        self.close_group(group)
    }

    /// Parses `{m}`, `{m,}` or `{m,n}` starting at `{`.
    fn bounds(&mut self) -> Result<(u32, Option<u32>)> {
        let open = self.pos;
        self.pos += 1;
        let lo = self
            .number()?
            .ok_or_else(|| self.err("expected a number after `{`"))?;
        let hi = if self.peek() == Some(',') {
            self.pos += 1;
            self.number()?
        } else {
            Some(lo)
        };
        if self.peek() != Some('}') {
            return Err(self.err("expected `}` to close the repetition"));
        }
        self.pos += 1;
        if let Some(h) = hi {
            if h < lo {
                return Err(parse_error(
                    open,
                    self.pattern,
                    format!("repetition {{{lo},{h}}} has max < min"),
                ));
            }
        }
        Ok((lo, hi))
    }

    fn number(&mut self) -> Result<Option<u32>> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return Ok(None);
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.parse::<u32>() {
            Ok(v) if v <= MAX_REPEAT => Ok(Some(v)),
            _ => Err(parse_error(
                start,
                self.pattern,
                format!("repetition bound above {MAX_REPEAT}"),
            )),
        }
    }

    /// One literal symbol, possibly escaped with `\`.
    fn literal(&mut self) -> Result<u32> {
        let mut at = self.pos;
        let mut c = self
            .peek()
            .ok_or_else(|| self.err("unexpected end of pattern"))?;
        if c == '\\' {
            self.pos += 1;
            at = self.pos;
            c = self
                .peek()
                .ok_or_else(|| self.err("pattern ends after `\\`"))?;
        }
        self.pos += 1;
        self.alphabet.get(&c).copied().ok_or_else(|| {
            parse_error(
                at,
                self.pattern,
                format!("symbol {c:?} is not in the alphabet"),
            )
        })
    }

    fn class(&mut self) -> Result<Node> {
        let open = self.pos;
        self.pos += 1;
        let negate = self.peek() == Some('^');
        if negate {
            self.pos += 1;
        }
        let mut chosen = vec![false; self.k as usize];
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err(parse_error(open, self.pattern, "unclosed `[`")),
                Some(']') if !first => break,
                _ => {}
            }
            first = false;
            let lo_char = self.class_char();
            let lo = self.literal()?;
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&c| c != ']') {
                self.pos += 1;
                let hi_at = self.pos;
                let hi_char = self.class_char();
                self.literal()?;
                if hi_char < lo_char {
                    return Err(parse_error(hi_at, self.pattern, "class range is reversed"));
                }
                for (ch, &id) in self.alphabet.iter() {
                    if (lo_char..=hi_char).contains(ch) {
                        chosen[id as usize] = true;
                    }
                }
            } else {
                chosen[lo as usize] = true;
            }
        }
        self.pos += 1;
        let set = (0..self.k)
            .filter(|&s| chosen[s as usize] != negate)
            .collect();
        Ok(Node::Set(set))
    }

    /// The character of the literal at the cursor (after an escape).
    fn class_char(&self) -> char {
        match self.peek() {
            Some('\\') => self.chars.get(self.pos + 1).copied().unwrap_or('\\'),
            Some(c) => c,
            None => '\0',
        }
    }
}

/// A Thompson NFA: epsilon edges and symbol edges per state.
struct Nfa {
    eps: Vec<Vec<u32>>,
    edges: Vec<Vec<(u32, u32)>>,
    num_edges: usize,
}

/// A finished fragment: its states are `first..` up to the state count when it was finished;
/// every edge of those states stays inside them until a parent links the exit.
#[derive(Clone, Copy)]
struct Fragment {
    first: u32,
    end: u32,
    entry: u32,
    exit: u32,
}

fn too_big(what: &str, limit: usize) -> KleeneError {
    KleeneError::invalid(
        "pattern",
        format!("expands to more than {limit} NFA {what} (large repetition bounds?)"),
    )
}

impl Nfa {
    fn len(&self) -> u32 {
        self.eps.len() as u32
    }

    fn add(&mut self) -> Result<u32> {
        if self.eps.len() >= MAX_NFA_STATES {
            return Err(too_big("states", MAX_NFA_STATES));
        }
        self.eps.push(Vec::new());
        self.edges.push(Vec::new());
        Ok(self.len() - 1)
    }

    /// Builds every arena node in order (children precede parents); returns the root's
    /// fragment.
    fn build(&mut self, nodes: &[Node], k: u32) -> Result<Fragment> {
        let mut frags: Vec<Fragment> = Vec::with_capacity(nodes.len());
        for node in nodes {
            let first = self.len();
            let frag = match node {
                Node::Empty => {
                    let s = self.add()?;
                    Fragment {
                        first,
                        end: 0,
                        entry: s,
                        exit: s,
                    }
                }
                Node::Set(symbols) => {
                    let (s, t) = (self.add()?, self.add()?);
                    debug_assert!(symbols.iter().all(|&a| a < k));
                    self.num_edges += symbols.len();
                    if self.num_edges > MAX_NFA_EDGES {
                        return Err(too_big("edges", MAX_NFA_EDGES));
                    }
                    self.edges[s as usize].extend(symbols.iter().map(|&a| (a, t)));
                    Fragment {
                        first,
                        end: 0,
                        entry: s,
                        exit: t,
                    }
                }
                Node::Concat(items) => {
                    let head = frags[items[0]];
                    let mut exit = head.exit;
                    for &i in &items[1..] {
                        self.eps[exit as usize].push(frags[i].entry);
                        exit = frags[i].exit;
                    }
                    Fragment {
                        first: head.first,
                        end: 0,
                        entry: head.entry,
                        exit,
                    }
                }
                Node::Alt(branches) => {
                    let (s, t) = (self.add()?, self.add()?);
                    for &b in branches {
                        self.eps[s as usize].push(frags[b].entry);
                        self.eps[frags[b].exit as usize].push(t);
                    }
                    let lowest = branches.iter().map(|&b| frags[b].first).min();
                    Fragment {
                        first: lowest.unwrap_or(s),
                        end: 0,
                        entry: s,
                        exit: t,
                    }
                }
                Node::Repeat(inner, lo, hi) => self.build_repeat(frags[*inner], *lo, *hi)?,
            };
            frags.push(Fragment {
                end: self.len(),
                ..frag
            });
        }
        Ok(*frags.last().expect("the root is the last node"))
    }

    /// A copy of `frag` (its states renumbered after the current last state).
    fn copy(&mut self, frag: Fragment) -> Result<(u32, u32)> {
        let base = self.len();
        let shift = |q: u32| q - frag.first + base;
        for q in frag.first..frag.end {
            let eps: Vec<u32> = self.eps[q as usize].iter().map(|&t| shift(t)).collect();
            let edges: Vec<(u32, u32)> = self.edges[q as usize]
                .iter()
                .map(|&(a, t)| (a, shift(t)))
                .collect();
            self.num_edges += edges.len();
            self.add()?;
            self.eps[base as usize + (q - frag.first) as usize] = eps;
            self.edges[base as usize + (q - frag.first) as usize] = edges;
        }
        Ok((shift(frag.entry), shift(frag.exit)))
    }

    /// `inner{lo,hi}`: the operand's own fragment is the first copy; the others are copies,
    /// sized before any is made.
    fn build_repeat(&mut self, inner: Fragment, lo: u32, hi: Option<u32>) -> Result<Fragment> {
        let uses = match hi {
            None => lo as usize + 1,
            Some(h) => h as usize,
        };
        let size = (inner.end - inner.first) as usize;
        let extra = uses.saturating_sub(1);
        if self.eps.len() + extra.saturating_mul(size) + 2 > MAX_NFA_STATES {
            return Err(too_big("states", MAX_NFA_STATES));
        }
        if extra > 0 {
            // Counted only when copying (which costs as much): nested `a***...` stays linear.
            let inner_edges: usize = (inner.first..inner.end)
                .map(|q| self.edges[q as usize].len())
                .sum();
            if self.num_edges + extra.saturating_mul(inner_edges) > MAX_NFA_EDGES {
                return Err(too_big("edges", MAX_NFA_EDGES));
            }
        }
        // Every copy is made before any is linked: a copy must see the operand's own edges
        // only, not the links added below.
        let mut copies = Vec::with_capacity(uses);
        if uses > 0 {
            copies.push((inner.entry, inner.exit));
        }
        for _ in 1..uses {
            copies.push(self.copy(inner)?);
        }
        let mut copies = copies.into_iter();
        let mut next_copy =
            |_: &mut Nfa| -> Result<(u32, u32)> { Ok(copies.next().expect("one copy per use")) };
        let entry = self.add()?;
        let mut exit = entry;
        for _ in 0..lo {
            let (s, t) = next_copy(self)?;
            self.eps[exit as usize].push(s);
            exit = t;
        }
        let end = match hi {
            None => {
                // Kleene star on the tail: loop through one more copy.
                let (s, t) = next_copy(self)?;
                let end = self.add()?;
                self.eps[exit as usize].extend([s, end]);
                self.eps[t as usize].extend([s, end]);
                end
            }
            Some(h) => {
                let end = self.add()?;
                for _ in lo..h {
                    let (s, t) = next_copy(self)?;
                    self.eps[exit as usize].extend([s, end]);
                    exit = t;
                }
                self.eps[exit as usize].push(end);
                end
            }
        };
        Ok(Fragment {
            first: inner.first,
            end: 0,
            entry,
            exit: end,
        })
    }

    fn closure(&self, set: &mut Vec<u32>, seen: &mut [bool]) {
        let mut stack = set.clone();
        for &q in set.iter() {
            seen[q as usize] = true;
        }
        while let Some(q) = stack.pop() {
            for &t in &self.eps[q as usize] {
                if !seen[t as usize] {
                    seen[t as usize] = true;
                    set.push(t);
                    stack.push(t);
                }
            }
        }
        for &q in set.iter() {
            seen[q as usize] = false;
        }
        set.sort_unstable();
    }
}

/// Compiles `pattern` over `alphabet` (symbol `i` is the character `alphabet[i]`) into the
/// DFA of the strings it fully matches (subset construction; not minimised), refusing a DFA
/// of more than `max_states` states or a construction needing more than `KLEENE_MAX_BYTES`.
pub fn compile(pattern: &str, alphabet: &[char], max_states: usize) -> Result<Dfa> {
    if !(1..=MAX_STATES).contains(&max_states) {
        return Err(KleeneError::invalid(
            "max_states",
            format!("must be in 1..={MAX_STATES}, got {max_states}"),
        ));
    }
    let map = alphabet_map(alphabet)?;
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        pattern,
        alphabet: &map,
        k: alphabet.len() as u32,
        nodes: Vec::new(),
        set_symbols: 0,
    };
    parser.parse()?;
    let mut nfa = Nfa {
        eps: Vec::new(),
        edges: Vec::new(),
        num_edges: 0,
    };
    let root = nfa.build(&parser.nodes, alphabet.len() as u32)?;
    drop(parser);
    determinize(&nfa, root.entry, root.exit, alphabet.len(), max_states)
}

fn alphabet_map(alphabet: &[char]) -> Result<HashMap<char, u32>> {
    let mut map = HashMap::new();
    if alphabet.is_empty() {
        return Err(KleeneError::invalid("alphabet", "must not be empty"));
    }
    for (i, &c) in alphabet.iter().enumerate() {
        if map.insert(c, i as u32).is_some() {
            return Err(KleeneError::invalid(
                "alphabet",
                format!("repeats the symbol {c:?}"),
            ));
        }
    }
    Ok(map)
}

/// Bytes held per DFA state besides its NFA set: the table row, the set's two copies' headers
/// and the hash entry.
const STATE_OVERHEAD: u128 = 96;

fn determinize(nfa: &Nfa, entry: u32, exit: u32, k: usize, max_states: usize) -> Result<Dfa> {
    let limit = max_bytes();
    let mut used: u128 = 0;
    let mut seen = vec![false; nfa.eps.len()];
    let mut start = vec![entry];
    nfa.closure(&mut start, &mut seen);
    let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut sets = vec![start.clone()];
    ids.insert(start, 0);
    let mut table: Vec<u32> = Vec::new();
    let mut targets: Vec<Vec<u32>> = vec![Vec::new(); k];
    let mut head = 0;
    while head < sets.len() {
        crate::interrupt::poll()?;
        for t in targets.iter_mut() {
            t.clear();
        }
        for &q in &sets[head] {
            for &(a, t) in &nfa.edges[q as usize] {
                targets[a as usize].push(t);
            }
        }
        head += 1;
        for target in targets.iter_mut() {
            if target.is_empty() {
                table.push(NONE);
                continue;
            }
            target.sort_unstable();
            target.dedup();
            nfa.closure(target, &mut seen);
            let next = sets.len() as u32;
            let id = *ids.entry(target.clone()).or_insert(next);
            if id == next {
                if sets.len() >= max_states {
                    return Err(KleeneError::invalid(
                        "pattern",
                        format!(
                            "its DFA exceeds {max_states} states (pass a larger `max_states`, \
                             up to {MAX_STATES}, to allow more)"
                        ),
                    ));
                }
                used += 2 * 4 * target.len() as u128 + STATE_OVERHEAD + 4 * k as u128;
                if used > limit {
                    return Err(KleeneError::TooLarge {
                        what: "the regex's subset construction".into(),
                        needed: used,
                        limit,
                    });
                }
                sets.push(target.clone());
            }
            table.push(id);
        }
    }
    let accepting = sets
        .iter()
        .map(|s| s.binary_search(&exit).is_ok())
        .collect();
    Dfa::new(k, table, accepting, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &str, alphabet: &[char]) -> Vec<u32> {
        s.chars()
            .map(|c| alphabet.iter().position(|&a| a == c).unwrap() as u32)
            .collect()
    }

    #[test]
    fn basic_patterns() {
        let ab = ['a', 'b'];
        let d = compile("(ab)*a?", &ab, DEFAULT_REGEX_DFA_STATES).unwrap();
        for (s, ok) in [
            ("", true),
            ("ab", true),
            ("aba", true),
            ("abb", false),
            ("b", false),
        ] {
            assert_eq!(d.accepts(&ids(s, &ab)), ok, "{s}");
        }
        let d = compile("a{2,3}[^a]", &ab, DEFAULT_REGEX_DFA_STATES).unwrap();
        assert!(d.accepts(&ids("aab", &ab)) && d.accepts(&ids("aaab", &ab)));
        assert!(!d.accepts(&ids("ab", &ab)) && !d.accepts(&ids("aaaab", &ab)));
        assert!(compile("", &ab, DEFAULT_REGEX_DFA_STATES)
            .unwrap()
            .accepts(&[]));
        assert!(compile("a|", &ab, DEFAULT_REGEX_DFA_STATES)
            .unwrap()
            .accepts(&[]));
    }

    #[test]
    fn errors_name_the_position() {
        let ab = ['a', 'b'];
        let msg = |p: &str| {
            compile(p, &ab, DEFAULT_REGEX_DFA_STATES)
                .unwrap_err()
                .to_string()
        };
        assert!(msg("ab(a").contains("position 2"), "{}", msg("ab(a"));
        assert!(msg("abc").contains("position 2"), "{}", msg("abc"));
        assert!(msg("a)").contains("position 1"));
        assert!(msg("*a").contains("position 0"));
        assert!(msg("a{3,2}").contains("position 1"));
        assert!(compile("a", &[], DEFAULT_REGEX_DFA_STATES).is_err());
    }
}
