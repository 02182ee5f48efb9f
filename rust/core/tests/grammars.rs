//! Parsing and prefix probabilities against brute-force enumeration of derivations.

use std::collections::HashMap;

use kleene_core::grammars::parse::Parser;
use kleene_core::grammars::prefix::PrefixModel;
use kleene_core::grammars::text::parse;
use kleene_core::grammars::{Grammar, Sym};

/// Per string up to `max_len`: (total probability, number of derivations, best derivation).
fn enumerate(g: &Grammar, max_len: usize) -> HashMap<Vec<u32>, (f64, usize, f64)> {
    let min = g.min_lengths();
    let mut out: HashMap<Vec<u32>, (f64, usize, f64)> = HashMap::new();
    let mut stack = vec![(vec![Sym::N(0)], 1.0f64)];
    while let Some((form, p)) = stack.pop() {
        let lower: u64 = form
            .iter()
            .map(|s| match s {
                Sym::T(_) => 1,
                Sym::N(a) => min[*a as usize],
            })
            .sum();
        if lower > max_len as u64 {
            continue;
        }
        match form.iter().position(|s| matches!(s, Sym::N(_))) {
            None => {
                let w: Vec<u32> = form
                    .iter()
                    .map(|s| match s {
                        Sym::T(t) => *t,
                        _ => unreachable!(),
                    })
                    .collect();
                let e = out.entry(w).or_insert((0.0, 0, 0.0));
                e.0 += p;
                e.1 += 1;
                e.2 = e.2.max(p);
            }
            Some(k) => {
                let Sym::N(a) = form[k] else { unreachable!() };
                for r in g.rules_of(a as usize) {
                    let mut next = form[..k].to_vec();
                    next.extend(&r.rhs);
                    next.extend(&form[k + 1..]);
                    stack.push((next, p * r.prob));
                }
            }
        }
    }
    out
}

fn all_strings(v: u32, max_len: usize) -> Vec<Vec<u32>> {
    let mut all = vec![vec![]];
    let mut layer = vec![vec![]];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for w in &layer {
            for t in 0..v {
                let mut x: Vec<u32> = w.clone();
                x.push(t);
                next.push(x);
            }
        }
        all.extend(next.iter().cloned());
        layer = next;
    }
    all
}

const GRAMMARS: [&str; 4] = [
    "S -> a S b [0.4] | c [0.6]",
    "S -> S S [0.3] | a [0.5] | b [0.2]",
    // unit rules, ε, ambiguity ("b" has two derivations), finite language
    "S -> A B [0.5] | B [0.3] | a A b [0.2]\nA -> a [0.4] | b C [0.3] | ε [0.3]\nC -> a a | b\nB -> b [0.5] | A a [0.5]",
    // left recursion through a unit chain
    "S -> T [0.6] | S a T [0.4]\nT -> b [0.5] | c [0.2] | U [0.3]\nU -> a b",
];

#[test]
fn parser_matches_enumeration() {
    for text in GRAMMARS {
        let g = parse(text, false).unwrap();
        let max_len = 6;
        let truth = enumerate(&g, max_len);
        let parser = Parser::new(&g);
        for w in all_strings(g.num_terminals() as u32, max_len) {
            let want = truth.get(&w).copied();
            assert_eq!(parser.accepts(&w).unwrap(), want.is_some(), "{text}: {w:?}");
            let p = parser.string_probability(&w).unwrap();
            let (tp, count, best) = want.unwrap_or((0.0, 0, 0.0));
            assert!(
                (p - tp).abs() <= 1e-12 + 1e-9 * tp,
                "{text}: {w:?} {p} {tp}"
            );
            assert_eq!(
                parser.count_parses(&w).unwrap(),
                count as f64,
                "{text}: {w:?}"
            );
            match parser.best_tree(&w).unwrap() {
                None => assert!(want.is_none()),
                Some((score, nodes)) => {
                    assert!((score - best).abs() <= 1e-12, "{text}: {w:?}");
                    let leaves: Vec<u32> = nodes
                        .iter()
                        .filter(|n| n.terminal)
                        .map(|n| n.symbol)
                        .collect();
                    assert_eq!(leaves, w);
                    // The tree's rule probabilities multiply to its score.
                    assert!(tree_probability(&g, &nodes) - score < 1e-12);
                    assert!((tree_probability(&g, &nodes) - score).abs() < 1e-12);
                }
            }
        }
    }
}

/// Product of the probabilities of the rules used by a pre-order tree.
fn tree_probability(g: &Grammar, nodes: &[kleene_core::grammars::parse::TreeNode]) -> f64 {
    let mut p = 1.0;
    for (k, node) in nodes.iter().enumerate() {
        if node.terminal {
            continue;
        }
        let kids: Vec<Sym> = nodes
            .iter()
            .filter(|c| c.parent == k as i32)
            .map(|c| {
                if c.terminal {
                    Sym::T(c.symbol)
                } else {
                    Sym::N(c.symbol)
                }
            })
            .collect();
        let rule = g
            .rules_of(node.symbol as usize)
            .iter()
            .find(|r| r.rhs == kids)
            .expect("tree uses a rule of the grammar");
        p *= rule.prob;
    }
    p
}

#[test]
fn prefix_probabilities_match_enumeration() {
    // Finite languages: enumeration is exact.
    for text in [GRAMMARS[2], "S -> A A [0.7] | b [0.3]\nA -> a b | b | a"] {
        let g = parse(text, false).unwrap();
        let truth = enumerate(&g, 12);
        let model = PrefixModel::new(&g).unwrap();
        for w in all_strings(g.num_terminals() as u32, 4) {
            let want: f64 = truth
                .iter()
                .filter(|(s, _)| s.starts_with(&w))
                .map(|(_, v)| v.0)
                .sum();
            let got = model.prefix_probability(&w).unwrap();
            assert!((got - want).abs() < 1e-12, "{text}: {w:?} {got} {want}");
        }
    }
}

#[test]
fn next_token_distributions_of_recursive_grammars() {
    // S -> S a [0.3] | b [0.7]: strings b a^m with probability 0.7 * 0.3^m, so after
    // "b a^k" the next symbol is "a" with probability 0.3 and the end with 0.7.
    let g = parse("S -> S a [0.3] | b [0.7]", false).unwrap();
    let model = PrefixModel::new(&g).unwrap();
    let a = g.terminals().iter().position(|t| t == "a").unwrap() as u32;
    let bt = 1 - a;
    let w = [bt, a, a, a];
    let d = model.next_token_distributions(&w).unwrap();
    // Row 0: before anything, the string must start with b.
    assert!((d[1 + bt as usize] - 1.0).abs() < 1e-12);
    for t in 1..=4 {
        let row = &d[t * 3..t * 3 + 3];
        assert!((row[0] - 0.7).abs() < 1e-12 && (row[1 + a as usize] - 0.3).abs() < 1e-12);
    }
    assert!((model.prefix_probability(&w).unwrap() - 0.3f64.powi(3)).abs() < 1e-12);
    // a^n c b^n: enumerate to length 41 (tail mass 0.4^20) and compare prefixes.
    let g = parse("S -> a S b [0.4] | c [0.6]", false).unwrap();
    let truth = enumerate(&g, 41);
    let model = PrefixModel::new(&g).unwrap();
    for w in all_strings(3, 5) {
        let want: f64 = truth
            .iter()
            .filter(|(s, _)| s.starts_with(&w))
            .map(|(_, v)| v.0)
            .sum();
        let got = model.prefix_probability(&w).unwrap();
        assert!((got - want).abs() < 1e-7, "{w:?} {got} {want}");
    }
}
