//! Exact oracle: a character-level Markov chain pushed through a tokenizer by enumeration
//! gives the ideal token-level model; the corrected next-byte distribution must equal the
//! chain's transition row.

use std::collections::HashMap;
use std::sync::Arc;

use kleene_core::tokbias::bpe::{Bpe, PreTokenizer};
use kleene_core::tokbias::cover::{CoverState, EOS_SYMBOL, SYMBOLS};
use kleene_core::tokbias::model::{NextTokenModel, Options, Row};
use kleene_core::tokbias::mpc::{mpc_distribution, naive_distribution};
use kleene_core::tokbias::mpe::Mpe;
use kleene_core::tokbias::vocab::Vocab;
use kleene_core::tokbias::Tokenizer;
use kleene_core::Result;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() as f64 + 1.0) / (1u64 << 31) as f64
    }
}

/// Order-`k` chain over `alphabet`, strings of length exactly `n`.
struct Chain {
    alphabet: Vec<u8>,
    order: usize,
    n: usize,
    rows: HashMap<Vec<u8>, Vec<f64>>,
}

impl Chain {
    fn new(alphabet: &[u8], order: usize, n: usize, rng: &mut Lcg) -> Self {
        let mut rows = HashMap::new();
        let mut keys: Vec<Vec<u8>> = vec![vec![]];
        for len in 0..=order {
            for key in keys.clone() {
                if key.len() == len {
                    let w: Vec<f64> = alphabet.iter().map(|_| rng.unit() + 0.05).collect();
                    let s: f64 = w.iter().sum();
                    rows.insert(key.clone(), w.iter().map(|x| x / s).collect());
                    if len < order {
                        for &c in alphabet {
                            let mut k = key.clone();
                            k.push(c);
                            keys.push(k);
                        }
                    }
                }
            }
        }
        Chain {
            alphabet: alphabet.to_vec(),
            order,
            n,
            rows,
        }
    }

    /// P(next symbol | x) over [257]: the transition row, or end-of-string at length n.
    fn truth(&self, x: &[u8]) -> Vec<f64> {
        let mut out = vec![0.0; SYMBOLS];
        if x.len() == self.n {
            out[EOS_SYMBOL] = 1.0;
            return out;
        }
        let key = &x[x.len().saturating_sub(self.order)..];
        for (i, &c) in self.alphabet.iter().enumerate() {
            out[c as usize] = self.rows[key][i];
        }
        out
    }

    fn prob(&self, x: &[u8]) -> f64 {
        (0..x.len())
            .map(|i| {
                let row = self.truth(&x[..i]);
                row[x[i] as usize]
            })
            .product()
    }

    fn strings(&self, len: usize) -> Vec<Vec<u8>> {
        let mut out = vec![vec![]];
        for _ in 0..len {
            out = out
                .into_iter()
                .flat_map(|s| {
                    self.alphabet.iter().map(move |&c| {
                        let mut t = s.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
        }
        out
    }
}

/// The pushforward token model: mass of every token prefix of every encoded string.
struct Ideal {
    mass: HashMap<Vec<u32>, f64>,
    vocab_len: usize,
}

impl Ideal {
    fn new(chain: &Chain, tok: &dyn Tokenizer, eos: u32) -> Self {
        let mut mass = HashMap::new();
        for s in chain.strings(chain.n) {
            let p = chain.prob(&s);
            let mut t = tok.encode(&s).unwrap();
            t.push(eos);
            for k in 0..=t.len() {
                *mass.entry(t[..k].to_vec()).or_insert(0.0) += p;
            }
        }
        Ideal {
            mass,
            vocab_len: tok.vocab().len(),
        }
    }

    fn prefix(&self, ctx: &[u32]) -> f64 {
        self.mass.get(ctx).copied().unwrap_or(0.0)
    }
}

impl NextTokenModel for Ideal {
    fn next_probs(
        &mut self,
        contexts: &[Vec<u32>],
        sink: &mut dyn FnMut(usize, Box<dyn Row>) -> Result<()>,
    ) -> Result<()> {
        for (i, ctx) in contexts.iter().enumerate() {
            let z = self.prefix(ctx);
            let mut c = ctx.clone();
            let row: Vec<f64> = (0..self.vocab_len as u32)
                .map(|t| {
                    if z == 0.0 {
                        return 1.0 / self.vocab_len as f64;
                    }
                    c.push(t);
                    let p = self.prefix(&c) / z;
                    c.pop();
                    p
                })
                .collect();
            sink(i, Box::new(row))?;
        }
        Ok(())
    }
}

fn vocab_with_eos(words: Vec<Vec<u8>>) -> (Vocab, u32) {
    let n = words.len();
    let mut tokens = words;
    tokens.push(vec![]);
    let mut special = vec![false; n];
    special.push(true);
    (Vocab::new(tokens, special).unwrap(), n as u32)
}

fn random_mpe(alphabet: &[u8], extra: usize, rng: &mut Lcg) -> (Mpe, u32) {
    let mut words: Vec<Vec<u8>> = alphabet.iter().map(|&c| vec![c]).collect();
    while words.len() < alphabet.len() + extra {
        let len = 2 + rng.below(3);
        let w: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let (vocab, eos) = vocab_with_eos(words);
    (Mpe::new(vocab), eos)
}

fn random_bpe(alphabet: &[u8], merges: usize, rng: &mut Lcg) -> (Bpe, u32) {
    let mut words: Vec<Vec<u8>> = alphabet.iter().map(|&c| vec![c]).collect();
    let mut pairs = Vec::new();
    while pairs.len() < merges {
        let (l, r) = (rng.below(words.len()), rng.below(words.len()));
        let mut w = words[l].clone();
        w.extend_from_slice(&words[r]);
        if w.len() <= 5 && !words.contains(&w) {
            words.push(w);
            pairs.push((l as u32, r as u32));
        }
    }
    let (vocab, eos) = vocab_with_eos(words);
    (
        Bpe::from_merges(vocab, &pairs, PreTokenizer::None, false).unwrap(),
        eos,
    )
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Checks every prompt of length <= n: corrected = truth, chain rule, cover identity;
/// returns the largest error of the naive estimate.
fn check_setup(tok: Arc<dyn Tokenizer>, eos: u32, chain: &Chain, mpe: bool) -> f64 {
    let mut model = Ideal::new(chain, tok.as_ref(), eos);
    let opts = Options {
        eos: Some(eos),
        ..Options::default()
    };
    let mut naive_err: f64 = 0.0;
    for len in 0..=chain.n {
        for x in chain.strings(len) {
            let truth = chain.truth(&x);
            let state = CoverState::new(tok.clone(), opts.clone(), &mut model, &x).unwrap();
            let got = state.distribution().unwrap();
            assert!(max_diff(&got, &truth) < 1e-12, "prompt {x:?}: {got:?}");
            if state.anchor() == 0 {
                let p = chain.prob(&x);
                assert!((state.log_mass().exp() - p).abs() < 1e-12 * p.max(1e-300) + 1e-15);
                let covers: f64 = state.cover_masses().iter().map(|(_, m)| m).sum();
                assert!((covers * p - p).abs() < 1e-12);
                for (c, m) in state.cover_masses() {
                    let direct = model.prefix(&c);
                    assert!((m * p - direct).abs() < 1e-12, "cover {c:?}");
                }
            }
            if mpe {
                let (mpc, _) = mpc_distribution(tok.as_ref(), &opts, &mut model, &x).unwrap();
                assert!(max_diff(&mpc, &truth) < 1e-12, "mpc prompt {x:?}");
            }
            if let Ok(naive) = naive_distribution(tok.as_ref(), &opts, &mut model, &x) {
                naive_err = naive_err.max(max_diff(&naive, &truth));
            } else {
                naive_err = 1.0;
            }
        }
    }
    naive_err
}

#[test]
fn mpe_random_vocabularies_match_the_chain() {
    let mut rng = Lcg(7);
    for (alphabet, order, n) in [(&b"ab"[..], 1, 7), (b"abc", 2, 5), (b"ab", 3, 7)] {
        for _ in 0..3 {
            let chain = Chain::new(alphabet, order, n, &mut rng);
            let (tok, eos) = random_mpe(alphabet, 4, &mut rng);
            let naive = check_setup(Arc::new(tok), eos, &chain, true);
            assert!(naive > 0.01, "the setup shows no bias ({naive})");
        }
    }
}

#[test]
fn bpe_random_merges_match_the_chain() {
    let mut rng = Lcg(11);
    for (alphabet, order, n) in [(&b"ab"[..], 1, 7), (b"abc", 2, 5), (b"ab", 2, 8)] {
        for _ in 0..3 {
            let chain = Chain::new(alphabet, order, n, &mut rng);
            let (tok, eos) = random_bpe(alphabet, 5, &mut rng);
            let naive = check_setup(Arc::new(tok), eos, &chain, false);
            assert!(naive > 0.01, "the setup shows no bias ({naive})");
        }
    }
}

#[test]
fn incremental_equals_from_scratch_and_beam_bounds_hold() {
    let mut rng = Lcg(3);
    let chain = Chain::new(b"ab", 2, 9, &mut rng);
    let (tok, eos) = random_bpe(b"ab", 6, &mut rng);
    let tok: Arc<dyn Tokenizer> = Arc::new(tok);
    let mut model = Ideal::new(&chain, tok.as_ref(), eos);
    let exact = Options {
        eos: Some(eos),
        ..Options::default()
    };
    let pruned = Options {
        beam: 2,
        threshold: 0.05,
        ..exact.clone()
    };
    for x in chain.strings(chain.n).into_iter().step_by(37) {
        let mut inc = CoverState::new(tok.clone(), exact.clone(), &mut model, b"").unwrap();
        let mut approx = CoverState::new(tok.clone(), pruned.clone(), &mut model, b"").unwrap();
        for i in 0..x.len() {
            let scratch = CoverState::new(tok.clone(), exact.clone(), &mut model, &x[..i]).unwrap();
            let d = max_diff(
                &inc.distribution().unwrap(),
                &scratch.distribution().unwrap(),
            );
            assert!(d < 1e-12);
            inc.advance(&mut model, x[i]).unwrap();
            if approx.advance(&mut model, x[i]).is_err() {
                break; // everything pruned: the bound below covered it so far
            }
            let (p, q) = (inc.log_mass().exp(), approx.log_mass().exp());
            assert!(q <= p * (1.0 + 1e-12) && p <= q + approx.dropped_mass() + 1e-12);
        }
        let p = chain.prob(&x);
        assert!((inc.log_mass().exp() - p).abs() < 1e-12, "chain rule");
        assert!((inc.distribution().unwrap()[EOS_SYMBOL] - 1.0).abs() < 1e-12);
    }
}
