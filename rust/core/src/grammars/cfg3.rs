//! The cfg3 family (Allen-Zhu & Li, "Physics of Language Models, Part 1"): layered grammars
//! whose rules only point to the next level, loaded from the official level structure (the
//! paper's nine grammars ship with the Python package as text) or drawn at random from the
//! family's parameters (the nine named configurations' parameters are presets).
//!
//! Token ids follow the official scheme: terminals are `1..=num_sym`; nonterminals are named
//! after their official ids.

use rand::RngExt;

use super::{Grammar, Rule, Sym, Weights};
use crate::error::{KleeneError, Result};
use crate::rng::StreamKey;

/// Builds a grammar from the official structure: `levels[l][j]` lists the rules of symbol `j`
/// of level `l` (each rule: indices into level `l + 1`); the last level indexes terminals
/// `0..num_terminals`. `names[l][j]` names the nonterminals. The root is level 0, symbol 0.
pub fn from_levels(
    levels: &[Vec<Vec<Vec<usize>>>],
    names: &[Vec<String>],
    num_terminals: usize,
) -> Result<Grammar> {
    if levels.is_empty() || levels[0].len() != 1 {
        return Err(KleeneError::invalid(
            "cfg3",
            "level 0 must hold exactly one (root) symbol",
        ));
    }
    if names.len() != levels.len() || names.iter().zip(levels).any(|(n, l)| n.len() != l.len()) {
        return Err(KleeneError::invalid("cfg3", "names must match the levels"));
    }
    let mut offset = vec![0usize; levels.len() + 1];
    for (l, syms) in levels.iter().enumerate() {
        offset[l + 1] = offset[l] + syms.len();
    }
    let mut rules = Vec::new();
    for (l, syms) in levels.iter().enumerate() {
        let width = levels.get(l + 1).map_or(num_terminals, |n| n.len());
        for (j, sym_rules) in syms.iter().enumerate() {
            for rule in sym_rules {
                let mut rhs = Vec::with_capacity(rule.len());
                for &k in rule {
                    if k >= width {
                        return Err(KleeneError::invalid(
                            "cfg3",
                            format!("a rule of level {l} symbol {j} points to index {k}, but level {} has {width} symbols", l + 1),
                        ));
                    }
                    rhs.push(if l + 1 == levels.len() {
                        Sym::T(k as u32)
                    } else {
                        Sym::N((offset[l + 1] + k) as u32)
                    });
                }
                rules.push(Rule {
                    lhs: (offset[l] + j) as u32,
                    rhs,
                    prob: 1.0,
                });
            }
        }
    }
    let terminals = (1..=num_terminals).map(|i| i.to_string()).collect();
    let nonterminals = names.iter().flatten().cloned().collect();
    Grammar::new_allow_unreachable(terminals, nonterminals, rules, Weights::Normalise)
}

/// Parameters of a random cfg3-family grammar.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyParams {
    /// Symbols per level, root (1) first, terminals last.
    pub sizes: Vec<usize>,
    /// Rules per nonterminal, drawn uniformly from `deg_min..=deg_max`.
    pub deg_min: usize,
    pub deg_max: usize,
    /// Symbols per rule, drawn uniformly from `len_min..=len_max`.
    pub len_min: usize,
    pub len_max: usize,
    /// No symbol twice within one rule (the official `disallow_duplicate_sym`).
    pub disallow_duplicate_sym: bool,
}

/// The nine named configurations (parameters as published with the official grammars).
pub fn preset(name: &str) -> Option<FamilyParams> {
    let three = |d: usize| {
        let mut v = vec![1];
        v.extend(std::iter::repeat_n(3, d));
        v
    };
    let (sizes, deg_min, deg_max) = match name {
        "cfg3b" | "cfg3i" => (three(6), 2, 2),
        "cfg3h" => (three(6), 2, 3),
        "cfg3g" => (three(6), 3, 3),
        "cfg3f" => (three(6), 3, 4),
        "cfg3e1" => (vec![1, 3, 9, 27, 81, 27, 9], 3, 3),
        "cfg3e2" => (vec![1, 3, 9, 27, 27, 9, 4], 3, 3),
        "cfg3j" => (three(7), 3, 3),
        "cfg3k" => (three(7), 3, 4),
        _ => return None,
    };
    Some(FamilyParams {
        sizes,
        deg_min,
        deg_max,
        len_min: 2,
        len_max: 3,
        // Only cfg3b's official file sets it.
        disallow_duplicate_sym: name == "cfg3b",
    })
}

/// Names of the presets.
pub const PRESETS: [&str; 9] = [
    "cfg3b", "cfg3i", "cfg3h", "cfg3g", "cfg3f", "cfg3e1", "cfg3e2", "cfg3j", "cfg3k",
];

impl FamilyParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(KleeneError::invalid("cfg3 family", m));
        if self.sizes.len() < 2 || self.sizes.len() > 64 || self.sizes[0] != 1 {
            return bad("sizes needs 2..=64 levels and one root symbol".into());
        }
        if self.sizes.iter().any(|&s| s == 0 || s > 4096) {
            return bad("every level needs 1..=4096 symbols".into());
        }
        if self.deg_min == 0 || self.deg_min > self.deg_max || self.deg_max > 64 {
            return bad(format!(
                "need 1 <= deg_min <= deg_max <= 64, got {}..{}",
                self.deg_min, self.deg_max
            ));
        }
        if self.len_min == 0 || self.len_min > self.len_max || self.len_max > 64 {
            return bad(format!(
                "need 1 <= len_min <= len_max <= 64, got {}..{}",
                self.len_min, self.len_max
            ));
        }
        for l in 0..self.sizes.len() - 1 {
            let below = self.sizes[l + 1];
            if self.disallow_duplicate_sym && self.len_max > below {
                return bad(format!(
                    "rules of up to {} distinct symbols need at least that many symbols at level {}, which has {below} (disallow_duplicate_sym)",
                    self.len_max,
                    l + 1
                ));
            }
            let distinct = if self.disallow_duplicate_sym {
                // Ordered selections of len_max distinct symbols.
                (0..self.len_max)
                    .map(|i| (below - i) as f64)
                    .product::<f64>()
            } else {
                (below as f64).powi(self.len_max as i32)
            };
            if distinct < self.deg_max as f64 {
                return bad(format!(
                    "level {l} cannot have {} distinct rules over {} symbols",
                    self.deg_max,
                    self.sizes[l + 1]
                ));
            }
        }
        Ok(())
    }

    /// Draws a grammar of the family: each nonterminal gets `deg` distinct rules of uniform
    /// length and uniform symbols of the next level (redrawn while a symbol repeats within
    /// the rule when `disallow_duplicate_sym`). A level is redrawn until every symbol of
    /// the next level is used (so the grammar has no unreachable symbol).
    pub fn generate(&self, seed: u64) -> Result<Grammar> {
        self.validate()?;
        let mut rng = StreamKey::new(seed, 0xCF63).item_rng(0);
        let depth = self.sizes.len() - 1;
        let mut levels = Vec::with_capacity(depth);
        for l in 0..depth {
            let below = self.sizes[l + 1];
            let mut tries = 0;
            let level = loop {
                let level: Vec<Vec<Vec<usize>>> = (0..self.sizes[l])
                    .map(|_| self.draw_rules(below, &mut rng))
                    .collect();
                let mut used = vec![false; below];
                level
                    .iter()
                    .flatten()
                    .flatten()
                    .for_each(|&k| used[k] = true);
                if used.iter().all(|&u| u) {
                    break level;
                }
                tries += 1;
                if tries > 10_000 {
                    return Err(KleeneError::invalid(
                        "cfg3 family",
                        format!("level {l} cannot cover the {below} symbols below it; use more or longer rules"),
                    ));
                }
            };
            levels.push(level);
        }
        let names = name_levels(&self.sizes[..depth]);
        from_levels(&levels, &names, self.sizes[depth])
    }

    fn draw_rules(&self, below: usize, rng: &mut crate::rng::ItemRng) -> Vec<Vec<usize>> {
        let deg = rng.random_range(self.deg_min..=self.deg_max);
        let mut rules: Vec<Vec<usize>> = Vec::with_capacity(deg);
        while rules.len() < deg {
            let len = rng.random_range(self.len_min..=self.len_max);
            let rule: Vec<usize> = (0..len).map(|_| rng.random_range(0..below)).collect();
            let repeats = |r: &[usize]| r.iter().enumerate().any(|(i, k)| r[..i].contains(k));
            if self.disallow_duplicate_sym && repeats(&rule) {
                continue;
            }
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
        rules
    }
}

/// Official-style names: nonterminal ids count up from the deepest level (after the
/// terminals and EOS/MASK/SEP), the root last; a nonterminal is named `N<id>`.
fn name_levels(sizes: &[usize]) -> Vec<Vec<String>> {
    // sizes excludes the terminal level here; terminals count is not needed for the names.
    let mut names = vec![Vec::new(); sizes.len()];
    let mut next = 1usize;
    for l in (0..sizes.len()).rev() {
        names[l] = (0..sizes[l]).map(|j| format!("N{}", next + j)).collect();
        next += sizes[l];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_generate_valid_layered_grammars() {
        for name in PRESETS {
            let p = preset(name).unwrap();
            let g = p.generate(7).unwrap();
            let total: usize = p.sizes[..p.sizes.len() - 1].iter().sum();
            assert_eq!(g.num_nonterminals(), total, "{name}");
            assert!(g.acyclic_order().is_some());
            for a in 0..g.num_nonterminals() {
                let k = g.rules_of(a).len();
                assert!((p.deg_min..=p.deg_max).contains(&k));
            }
            if p.disallow_duplicate_sym {
                for r in g.rules() {
                    let mut syms = r.rhs.clone();
                    syms.sort_by_key(|s| format!("{s:?}"));
                    syms.dedup();
                    assert_eq!(syms.len(), r.rhs.len(), "{name}: {r:?}");
                }
            }
            // Same seed, same grammar; another seed, another grammar.
            assert_eq!(p.generate(7).unwrap(), g);
            assert_ne!(p.generate(8).unwrap(), g);
        }
    }
}
