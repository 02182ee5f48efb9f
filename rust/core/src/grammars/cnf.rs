//! The binarised form used by the parsers: every rule has at most two symbols on its
//! right-hand side, and terminals only appear alone (`A -> a`).
//!
//! `A -> X1 X2 ... Xk` (k >= 3) becomes `A -> Y1 I1`, `I1 -> Y2 I2`, ..., with fresh
//! intermediate nonterminals per rule and `Yi` the symbol itself or, for a terminal `a`,
//! a preterminal `P_a -> a`. Derivations correspond one to one, so string probabilities and
//! numbers of parses are preserved.

use super::{Grammar, Sym};

/// What a binarised nonterminal stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A nonterminal of the grammar.
    Original(u32),
    /// The remainder of a rule (flattened into its parent in trees).
    Intermediate,
    /// The preterminal of a terminal (a leaf in trees).
    Preterminal(u32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Binary {
    pub lhs: u32,
    pub left: u32,
    pub right: u32,
    pub prob: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unary {
    pub lhs: u32,
    pub child: u32,
    pub prob: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lexical {
    pub lhs: u32,
    pub terminal: u32,
    pub prob: f64,
}

/// A grammar in binarised form; nonterminal 0 is the start symbol.
#[derive(Clone, Debug)]
pub struct Binarised {
    pub num_nonterminals: usize,
    pub num_terminals: usize,
    pub origin: Vec<Origin>,
    pub binary: Vec<Binary>,
    pub unary: Vec<Unary>,
    pub lexical: Vec<Lexical>,
    /// `(lhs, prob)` of `A -> ε`.
    pub epsilon: Vec<(u32, f64)>,
}

impl Binarised {
    pub fn new(g: &Grammar) -> Self {
        let mut b = Binarised {
            num_nonterminals: g.num_nonterminals(),
            num_terminals: g.num_terminals(),
            origin: (0..g.num_nonterminals() as u32)
                .map(Origin::Original)
                .collect(),
            binary: Vec::new(),
            unary: Vec::new(),
            lexical: Vec::new(),
            epsilon: Vec::new(),
        };
        let mut pre: Vec<Option<u32>> = vec![None; g.num_terminals()];
        for r in g.rules() {
            match r.rhs.as_slice() {
                [] => b.epsilon.push((r.lhs, r.prob)),
                [Sym::T(t)] => b.lexical.push(Lexical {
                    lhs: r.lhs,
                    terminal: *t,
                    prob: r.prob,
                }),
                [Sym::N(c)] => b.unary.push(Unary {
                    lhs: r.lhs,
                    child: *c,
                    prob: r.prob,
                }),
                syms => {
                    let ys: Vec<u32> = syms.iter().map(|s| b.symbol(*s, &mut pre)).collect();
                    let mut lhs = r.lhs;
                    let mut prob = r.prob;
                    for (k, &y) in ys[..ys.len() - 2].iter().enumerate() {
                        let _ = k;
                        let rest = b.fresh(Origin::Intermediate);
                        b.binary.push(Binary {
                            lhs,
                            left: y,
                            right: rest,
                            prob,
                        });
                        lhs = rest;
                        prob = 1.0;
                    }
                    b.binary.push(Binary {
                        lhs,
                        left: ys[ys.len() - 2],
                        right: ys[ys.len() - 1],
                        prob,
                    });
                }
            }
        }
        b
    }

    fn fresh(&mut self, origin: Origin) -> u32 {
        self.origin.push(origin);
        self.num_nonterminals += 1;
        (self.num_nonterminals - 1) as u32
    }

    fn symbol(&mut self, s: Sym, pre: &mut [Option<u32>]) -> u32 {
        match s {
            Sym::N(a) => a,
            Sym::T(t) => *pre[t as usize].get_or_insert_with(|| {
                let p = {
                    self.origin.push(Origin::Preterminal(t));
                    self.num_nonterminals += 1;
                    (self.num_nonterminals - 1) as u32
                };
                self.lexical.push(Lexical {
                    lhs: p,
                    terminal: t,
                    prob: 1.0,
                });
                p
            }),
        }
    }

    /// The same rules with every weight set to 1 (for counting derivations).
    pub fn with_unit_weights(&self) -> Self {
        let mut b = self.clone();
        b.binary.iter_mut().for_each(|r| r.prob = 1.0);
        b.unary.iter_mut().for_each(|r| r.prob = 1.0);
        b.lexical.iter_mut().for_each(|r| r.prob = 1.0);
        b.epsilon.iter_mut().for_each(|r| r.1 = 1.0);
        b
    }
}
