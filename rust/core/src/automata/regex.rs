//! Regular expressions over a given alphabet of characters: parser, Thompson NFA and subset
//! construction.
//!
//! Syntax: literals, `.` (any symbol of the alphabet), classes `[abc]`, `[a-d]`, `[^ab]`,
//! grouping `(...)`, alternation `|`, repetition `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}`, and
//! `\` to escape a metacharacter. Whitespace is a literal. The empty regex and `()` match the
//! empty string. Errors name the character position (0-based) where parsing failed.

use std::collections::HashMap;

use super::dfa::{Dfa, MAX_STATES, NONE};
use crate::error::{KleeneError, Result};

/// Largest repetition bound in `{m,n}`.
pub const MAX_REPEAT: u32 = 1000;
/// Largest Thompson NFA.
pub const MAX_NFA_STATES: usize = 1 << 20;
/// Largest DFA produced by subset construction.
pub const MAX_REGEX_DFA_STATES: usize = 1 << 18;

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Set(Vec<u32>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

fn parse_error(pos: usize, pattern: &str, message: impl Into<String>) -> KleeneError {
    KleeneError::invalid(
        "pattern",
        format!("{} at position {pos} in {pattern:?}", message.into()),
    )
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    pattern: &'a str,
    alphabet: &'a HashMap<char, u32>,
    k: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn err(&self, message: impl Into<String>) -> KleeneError {
        parse_error(self.pos, self.pattern, message)
    }

    fn alt(&mut self) -> Result<Node> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap()
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            items.push(self.repeat()?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap(),
            _ => Node::Concat(items),
        })
    }

    fn repeat(&mut self) -> Result<Node> {
        let mut node = self.atom()?;
        while let Some(c) = self.peek() {
            let (lo, hi) = match c {
                '*' => (0, None),
                '+' => (1, None),
                '?' => (0, Some(1)),
                '{' => self.bounds()?,
                _ => break,
            };
            if c != '{' {
                self.pos += 1;
            }
            node = Node::Repeat(Box::new(node), lo, hi);
        }
        Ok(node)
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

    fn atom(&mut self) -> Result<Node> {
        let c = self
            .peek()
            .ok_or_else(|| self.err("unexpected end of pattern"))?;
        match c {
            '(' => {
                let open = self.pos;
                self.pos += 1;
                let inner = self.alt()?;
                if self.peek() != Some(')') {
                    return Err(parse_error(open, self.pattern, "unclosed `(`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            '[' => self.class(),
            '.' => {
                self.pos += 1;
                Ok(Node::Set((0..self.k).collect()))
            }
            '*' | '+' | '?' | '{' => Err(self.err(format!("`{c}` has nothing to repeat"))),
            ']' | '}' => Err(self.err(format!("unmatched `{c}`"))),
            _ => Ok(Node::Set(vec![self.literal()?])),
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
}

impl Nfa {
    fn add(&mut self) -> Result<u32> {
        if self.eps.len() >= MAX_NFA_STATES {
            return Err(KleeneError::invalid(
                "pattern",
                format!(
                    "expands to more than {MAX_NFA_STATES} NFA states (large repetition bounds?)"
                ),
            ));
        }
        self.eps.push(Vec::new());
        self.edges.push(Vec::new());
        Ok(self.eps.len() as u32 - 1)
    }

    /// Builds the fragment of `node`; returns (entry, exit).
    fn build(&mut self, node: &Node) -> Result<(u32, u32)> {
        match node {
            Node::Empty => {
                let s = self.add()?;
                Ok((s, s))
            }
            Node::Set(symbols) => {
                let (s, t) = (self.add()?, self.add()?);
                self.edges[s as usize].extend(symbols.iter().map(|&a| (a, t)));
                Ok((s, t))
            }
            Node::Concat(items) => {
                let (entry, mut exit) = self.build(&items[0])?;
                for item in &items[1..] {
                    let (s, t) = self.build(item)?;
                    self.eps[exit as usize].push(s);
                    exit = t;
                }
                Ok((entry, exit))
            }
            Node::Alt(branches) => {
                let (s, t) = (self.add()?, self.add()?);
                for b in branches {
                    let (bs, bt) = self.build(b)?;
                    self.eps[s as usize].push(bs);
                    self.eps[bt as usize].push(t);
                }
                Ok((s, t))
            }
            Node::Repeat(inner, lo, hi) => self.build_repeat(inner, *lo, *hi),
        }
    }

    fn build_repeat(&mut self, inner: &Node, lo: u32, hi: Option<u32>) -> Result<(u32, u32)> {
        let entry = self.add()?;
        let mut exit = entry;
        for _ in 0..lo {
            let (s, t) = self.build(inner)?;
            self.eps[exit as usize].push(s);
            exit = t;
        }
        match hi {
            None => {
                // Kleene star on the tail: loop through one more copy.
                let (s, t) = self.build(inner)?;
                let end = self.add()?;
                self.eps[exit as usize].extend([s, end]);
                self.eps[t as usize].extend([s, end]);
                Ok((entry, end))
            }
            Some(h) => {
                let end = self.add()?;
                for _ in lo..h {
                    let (s, t) = self.build(inner)?;
                    self.eps[exit as usize].extend([s, end]);
                    exit = t;
                }
                self.eps[exit as usize].push(end);
                Ok((entry, end))
            }
        }
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
/// DFA of the strings it fully matches (subset construction; not minimised).
pub fn compile(pattern: &str, alphabet: &[char]) -> Result<Dfa> {
    let map = alphabet_map(alphabet)?;
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        pattern,
        alphabet: &map,
        k: alphabet.len() as u32,
    };
    let ast = parser.alt()?;
    if parser.pos < parser.chars.len() {
        return Err(parser.err("unmatched `)`"));
    }
    let mut nfa = Nfa {
        eps: Vec::new(),
        edges: Vec::new(),
    };
    let (entry, exit) = nfa.build(&ast)?;
    determinize(&nfa, entry, exit, alphabet.len())
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

fn determinize(nfa: &Nfa, entry: u32, exit: u32, k: usize) -> Result<Dfa> {
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
                if sets.len() >= MAX_REGEX_DFA_STATES.min(MAX_STATES) {
                    return Err(KleeneError::invalid(
                        "pattern",
                        format!("its DFA exceeds {MAX_REGEX_DFA_STATES} states"),
                    ));
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
        let d = compile("(ab)*a?", &ab).unwrap();
        for (s, ok) in [
            ("", true),
            ("ab", true),
            ("aba", true),
            ("abb", false),
            ("b", false),
        ] {
            assert_eq!(d.accepts(&ids(s, &ab)), ok, "{s}");
        }
        let d = compile("a{2,3}[^a]", &ab).unwrap();
        assert!(d.accepts(&ids("aab", &ab)) && d.accepts(&ids("aaab", &ab)));
        assert!(!d.accepts(&ids("ab", &ab)) && !d.accepts(&ids("aaaab", &ab)));
        assert!(compile("", &ab).unwrap().accepts(&[]));
        assert!(compile("a|", &ab).unwrap().accepts(&[]));
    }

    #[test]
    fn errors_name_the_position() {
        let ab = ['a', 'b'];
        let msg = |p: &str| compile(p, &ab).unwrap_err().to_string();
        assert!(msg("ab(a").contains("position 2"), "{}", msg("ab(a"));
        assert!(msg("abc").contains("position 2"), "{}", msg("abc"));
        assert!(msg("a)").contains("position 1"));
        assert!(msg("*a").contains("position 0"));
        assert!(msg("a{3,2}").contains("position 1"));
        assert!(compile("a", &[]).is_err());
    }
}
