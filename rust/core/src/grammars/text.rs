//! The readable grammar format.
//!
//! ```text
//! # comment to the end of the line
//! S -> a S b [0.4] | c [0.6]      # alternatives with probabilities
//! S -> 'a b' T | "x"              # quoted terminals (may hold spaces, '|', '#', ...)
//!    | ε                          # a line starting with '|' continues the previous rule
//! T -> eps                        # ε, eps and '' are the empty string
//! ```
//! The first left-hand side is the start symbol. A bare word is a nonterminal when it has
//! rules and a terminal otherwise; a bare word starting with an upper-case letter and without
//! rules is an error ("undefined nonterminal"; quote it to make it a terminal). Either every
//! alternative of a nonterminal carries a `[weight]` or none does (then they are uniform).
//! Errors name the line and column (1-based).

use std::collections::HashMap;

use super::{Grammar, Rule, Sym, Weights};
use crate::error::{KleeneError, Result};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Arrow,
    Bar,
    Weight(f64),
    Epsilon,
}

#[derive(Clone, Copy, Debug)]
struct Pos {
    line: usize,
    col: usize,
}

fn error(pos: Pos, msg: impl Into<String>) -> KleeneError {
    KleeneError::invalid(
        "text",
        format!("line {}, column {}: {}", pos.line, pos.col, msg.into()),
    )
}

/// Splits one line into tokens (comments dropped).
fn lex_line(line: &str, lineno: usize) -> Result<Vec<(Tok, Pos)>> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos {
            line: lineno,
            col: i + 1,
        };
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            break;
        } else if c == '|' {
            out.push((Tok::Bar, pos));
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            out.push((Tok::Arrow, pos));
            i += 2;
        } else if c == '→' {
            out.push((Tok::Arrow, pos));
            i += 1;
        } else if c == '[' {
            let end = (i..chars.len())
                .find(|&j| chars[j] == ']')
                .ok_or_else(|| error(pos, "unclosed '[' (weights look like [0.5])"))?;
            let body: String = chars[i + 1..end].iter().collect();
            let w: f64 = body
                .trim()
                .parse()
                .map_err(|_| error(pos, format!("weight [{body}] is not a number")))?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(error(pos, format!("weight {w} must be finite and >= 0")));
            }
            out.push((Tok::Weight(w), pos));
            i = end + 1;
        } else if c == '\'' || c == '"' {
            let (s, next) = lex_quoted(&chars, i, pos)?;
            out.push((
                if s.is_empty() {
                    Tok::Epsilon
                } else {
                    Tok::Quoted(s)
                },
                pos,
            ));
            i = next;
        } else {
            let start = i;
            while i < chars.len() && !is_delimiter(&chars, i) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = match word.as_str() {
                "ε" | "eps" => Tok::Epsilon,
                _ => Tok::Word(word),
            };
            out.push((tok, pos));
        }
    }
    Ok(out)
}

fn is_delimiter(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    c.is_whitespace()
        || matches!(c, '|' | '#' | '[' | '\'' | '"' | '→')
        || (c == '-' && chars.get(i + 1) == Some(&'>'))
}

fn lex_quoted(chars: &[char], start: usize, pos: Pos) -> Result<(String, usize)> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                s.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(error(pos, format!("unclosed quote {quote}")))
}

/// One alternative as parsed: symbols (by name), weight, where it starts.
struct Alt {
    syms: Vec<(Tok, Pos)>,
    weight: Option<f64>,
    pos: Pos,
}

/// Parses the text format into a grammar. `normalise` rescales each nonterminal's weights
/// to sum to 1; otherwise weights that do not sum to 1 are an error naming the nonterminal.
pub fn parse(text: &str, normalise: bool) -> Result<Grammar> {
    let weights = if normalise {
        Weights::Normalise
    } else {
        Weights::Exact
    };
    parse_with(text, weights)
}

/// As [`parse`], with the weight policy spelled out ([`Weights::Verbatim`] rebuilds a grammar
/// from its own `to_text` bit for bit).
pub fn parse_with(text: &str, weights: Weights) -> Result<Grammar> {
    let mut order: Vec<String> = Vec::new();
    let mut defs: HashMap<String, (Vec<Alt>, Pos)> = HashMap::new();
    let mut current: Option<String> = None;
    for (k, line) in text.lines().enumerate() {
        let toks = lex_line(line, k + 1)?;
        if toks.is_empty() {
            continue;
        }
        let body = match &toks[0].0 {
            Tok::Bar => {
                let lhs = current.clone().ok_or_else(|| {
                    error(toks[0].1, "a continuation line '|' needs a rule above it")
                })?;
                let alts = &mut defs.get_mut(&lhs).expect("defined").0;
                let last = alts.last().map(|a| a.pos).unwrap_or(toks[0].1);
                if alts
                    .last()
                    .is_some_and(|a| a.syms.is_empty() && a.weight.is_none())
                {
                    return Err(error(
                        last,
                        "empty alternative; write ε for the empty string",
                    ));
                }
                split_alternatives(&toks, 0)?
            }
            Tok::Word(name) => {
                if toks.len() < 2 || toks[1].0 != Tok::Arrow {
                    return Err(error(
                        toks.get(1).map(|t| t.1).unwrap_or(toks[0].1),
                        "expected '->' after the left-hand side",
                    ));
                }
                if !defs.contains_key(name) {
                    order.push(name.clone());
                    defs.insert(name.clone(), (Vec::new(), toks[0].1));
                }
                current = Some(name.clone());
                split_alternatives(&toks, 1)?
            }
            _ => {
                return Err(error(
                    toks[0].1,
                    "a rule starts with a nonterminal name (a bare word) followed by '->'",
                ))
            }
        };
        let lhs = current.clone().expect("set above");
        defs.get_mut(&lhs).expect("defined").0.extend(body);
    }
    if order.is_empty() {
        return Err(KleeneError::invalid("text", "the grammar has no rule"));
    }
    build(order, defs, weights)
}

/// Splits the tokens after `toks[sep]` (an arrow or bar) into alternatives.
fn split_alternatives(toks: &[(Tok, Pos)], sep: usize) -> Result<Vec<Alt>> {
    let mut alts = Vec::new();
    let mut cur = Alt {
        syms: Vec::new(),
        weight: None,
        pos: toks[sep].1,
    };
    for (tok, pos) in &toks[sep + 1..] {
        match tok {
            Tok::Bar => {
                finish(&cur, *pos)?;
                alts.push(std::mem::replace(
                    &mut cur,
                    Alt {
                        syms: Vec::new(),
                        weight: None,
                        pos: *pos,
                    },
                ));
            }
            Tok::Arrow => return Err(error(*pos, "unexpected '->' inside a right-hand side")),
            Tok::Weight(w) => {
                if cur.weight.is_some() {
                    return Err(error(*pos, "an alternative has two weights"));
                }
                cur.weight = Some(*w);
            }
            _ if cur.weight.is_some() => {
                return Err(error(*pos, "the weight must come last in its alternative"))
            }
            _ => cur.syms.push((tok.clone(), *pos)),
        }
    }
    let end = toks.last().map(|t| t.1).unwrap_or(toks[sep].1);
    finish(&cur, end)?;
    alts.push(cur);
    Ok(alts)
}

fn finish(alt: &Alt, pos: Pos) -> Result<()> {
    if alt.syms.is_empty() {
        return Err(error(
            pos,
            "empty alternative; write ε for the empty string",
        ));
    }
    if alt.syms.len() > 1 && alt.syms.iter().any(|(t, _)| *t == Tok::Epsilon) {
        let p = alt.syms.iter().find(|(t, _)| *t == Tok::Epsilon).unwrap().1;
        return Err(error(p, "ε must stand alone in its alternative"));
    }
    Ok(())
}

fn build(
    order: Vec<String>,
    mut defs: HashMap<String, (Vec<Alt>, Pos)>,
    weights: Weights,
) -> Result<Grammar> {
    let nt_index: HashMap<&str, u32> = order
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let mut terminals: Vec<String> = Vec::new();
    let mut t_index: HashMap<String, u32> = HashMap::new();
    let mut rules = Vec::new();
    for (a, name) in order.iter().enumerate() {
        let (alts, lhs_pos) = defs.remove(name).expect("defined");
        let weighted = alts.iter().filter(|x| x.weight.is_some()).count();
        if weighted != 0 && weighted != alts.len() {
            return Err(error(
                lhs_pos,
                format!("either every alternative of {name} has a [weight] or none does"),
            ));
        }
        let first = rules.len();
        for alt in alts {
            let mut rhs = Vec::new();
            for (tok, pos) in alt.syms {
                let sym = match tok {
                    Tok::Epsilon => continue,
                    Tok::Word(w) => match nt_index.get(w.as_str()) {
                        Some(&b) => Sym::N(b),
                        None if w.chars().next().is_some_and(|c| c.is_uppercase()) => {
                            return Err(error(
                                pos,
                                format!("undefined nonterminal {w} (it has no rule; quote it to use it as a terminal)"),
                            ))
                        }
                        None => Sym::T(intern(&mut terminals, &mut t_index, w)),
                    },
                    Tok::Quoted(q) => Sym::T(intern(&mut terminals, &mut t_index, q)),
                    _ => unreachable!("only symbols reach here"),
                };
                rhs.push(sym);
            }
            rules.push(Rule {
                lhs: a as u32,
                rhs,
                prob: alt.weight.unwrap_or(1.0),
            });
        }
        if weighted == 0 {
            // Uniform choice: normalise the unit weights below, whatever `normalise` says.
            // (Only this nonterminal's rules, the last pushed: linear in the grammar size.)
            let n = (rules.len() - first) as f64;
            for r in &mut rules[first..] {
                r.prob = 1.0 / n;
            }
        }
    }
    Grammar::new(terminals, order, rules, weights)
}

fn intern(terminals: &mut Vec<String>, index: &mut HashMap<String, u32>, s: String) -> u32 {
    if let Some(&i) = index.get(&s) {
        return i;
    }
    let i = terminals.len() as u32;
    index.insert(s.clone(), i);
    terminals.push(s);
    i
}

/// A terminal as the text format writes it (bare when that parses back to the same terminal).
pub fn quote(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let bare = !s.is_empty()
        && !chars[0].is_uppercase()
        && (0..chars.len()).all(|i| !is_delimiter(&chars, i))
        && s != "eps"
        && s != "ε";
    if bare {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weights_quotes_epsilon_and_continuations() {
        let g = parse(
            "# demo\nS -> a S b [0.4] | c [0.6]\nT -> 'x y' | eps\n  | \"|\" # trailing\n",
            false,
        );
        // T is unreachable: an error naming it.
        let e = g.unwrap_err().to_string();
        assert!(e.contains("unreachable") && e.contains('T'), "{e}");
        let g = parse(
            "S -> a S b [0.4] | T [0.6]\nT -> 'x y' | ε\n  | \"|\"",
            false,
        )
        .unwrap();
        assert_eq!(g.terminals(), &["a", "b", "x y", "|"]);
        assert_eq!(g.rules_of(1).len(), 3);
        assert!(g.rules_of(1).iter().any(|r| r.rhs.is_empty()));
        assert!((g.rules_of(1)[0].prob - 1.0 / 3.0).abs() < 1e-12);
        let again = parse(&g.to_text(), false).unwrap();
        assert_eq!(again, g);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let cases = [
            ("S -> a B", "line 1, column 8: undefined nonterminal B"),
            ("S -> a [0.5] | b [0.4]", "sum to 0.9"),
            ("S -> a |\n", "empty alternative"),
            ("S -> a\n  x b", "line 2, column 5"),
            ("S a", "line 1, column 3: expected '->'"),
            ("S -> 'abc", "line 1, column 6: unclosed quote"),
            ("S -> a [x]", "line 1, column 8: weight [x] is not a number"),
            ("S -> a [0.5] | b", "either every alternative"),
            ("S -> S", "non-productive"),
            ("| a", "line 1, column 1"),
        ];
        for (text, want) in cases {
            let e = parse(text, false).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert!(parse("S -> a [2] | b [2]", true).is_ok());
    }
}
