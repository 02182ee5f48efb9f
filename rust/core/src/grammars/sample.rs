//! Top-down sampling: depth-first, left-to-right expansion from the start symbol with a
//! weighted (PCFG) or uniform rule choice at every nonterminal.
//!
//! Guards (documented in `docs/grammars.md`): a derivation is abandoned as soon as its
//! output would exceed `max_length` terminals (counting the shortest completion of every
//! pending symbol) or a nonterminal sits deeper than `max_depth` in the tree. An abandoned
//! derivation is redrawn from the same item generator, up to `max_tries` times; the result is
//! then a sample of the PCFG conditioned on the guards. Expansion uses an explicit stack, so
//! deep trees cannot overflow the call stack, and the guards bound time and memory.

use rayon::prelude::*;

use super::{pyrandom::Mt19937, Grammar, Sym};
use crate::error::{KleeneError, Result};
use crate::limits::check_elements;
use crate::pool::with_threads;
use crate::rng::{StreamKey, U32Draws};
use crate::token::TokenId;

/// Value written where a label does not apply (PyTorch's ignore index).
pub const IGNORE: i32 = -100;

/// How a nonterminal's rule is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleChoice {
    /// By the rule probabilities.
    Weighted,
    /// Uniformly among the nonterminal's rules (as the cfg3 generator does).
    Uniform,
}

/// Sampling options.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleConfig {
    pub choice: RuleChoice,
    /// Longest string allowed (also the width of the output rows).
    pub max_length: usize,
    /// Deepest nonterminal allowed (the start symbol has depth 0).
    pub max_depth: usize,
    /// Redraws of an abandoned derivation before giving up with an error.
    pub max_tries: u32,
    /// Number of tree levels with ancestor / span labels (0: no labels).
    pub label_depth: usize,
    /// Added to terminal indices to give token ids.
    pub token_offset: u32,
    /// Token id of padding.
    pub pad_id: u32,
}

/// Largest `max_length` and `max_depth`.
pub const MAX_GUARD: usize = 1 << 26;
/// Largest number of labelled levels.
pub const MAX_LABEL_DEPTH: usize = 256;

impl SampleConfig {
    pub fn validate(&self, g: &Grammar) -> Result<()> {
        let check = |ok: bool, name: &str, m: String| {
            if ok {
                Ok(())
            } else {
                Err(KleeneError::invalid(name, m))
            }
        };
        check(
            (1..=MAX_GUARD).contains(&self.max_length),
            "max_length",
            format!("must be in 1..={MAX_GUARD}, got {}", self.max_length),
        )?;
        check(
            (1..=MAX_GUARD).contains(&self.max_depth),
            "max_depth",
            format!("must be in 1..={MAX_GUARD}, got {}", self.max_depth),
        )?;
        check(
            (1..=1_000_000).contains(&self.max_tries),
            "max_tries",
            format!("must be in 1..=1000000, got {}", self.max_tries),
        )?;
        check(
            self.label_depth <= MAX_LABEL_DEPTH,
            "label_depth",
            format!(
                "must be at most {MAX_LABEL_DEPTH}, got {}",
                self.label_depth
            ),
        )?;
        let min0 = g.min_lengths()[0];
        check(
            min0 <= self.max_length as u64,
            "max_length",
            format!(
                "is {} but the shortest string of the grammar has length {min0}",
                self.max_length
            ),
        )?;
        let top = self.token_offset as u64 + g.num_terminals() as u64;
        check(
            top <= i32::MAX as u64 && self.pad_id <= i32::MAX as u32,
            "token_offset",
            "token ids must fit in int32".into(),
        )
    }
}

/// A grammar prepared for sampling.
pub struct Sampler<'g> {
    g: &'g Grammar,
    cfg: SampleConfig,
    /// Cumulative rule thresholds scaled to 2^32, per rule (last of each nonterminal = 2^32).
    cum: Vec<u64>,
    min_len: Vec<u64>,
    /// Flat rules for the unguarded fast path (used when no guard can trigger).
    fast: Option<Flat>,
}

/// Rules as flat arrays: right-hand sides reversed (push order), terminals tagged.
struct Flat {
    first_rule: Vec<u32>,
    rhs_start: Vec<u32>,
    /// Padded with `WIDE` zeros so short right-hand sides copy as one fixed-size block.
    rhs: Vec<u32>,
    /// Deepest the expansion stack can get (plus `WIDE` slack).
    stack_cap: usize,
    /// Longest right-hand side.
    widest: usize,
}

/// Right-hand sides up to this length are pushed with one fixed-size copy.
const WIDE: usize = 4;

const TERMINAL: u32 = 1 << 31;

impl Flat {
    fn new(g: &Grammar) -> Self {
        let mut first_rule = Vec::with_capacity(g.num_nonterminals() + 1);
        for a in 0..g.num_nonterminals() {
            first_rule.push(g.rule_range(a).start as u32);
        }
        first_rule.push(g.rules().len() as u32);
        let mut rhs_start = vec![0u32];
        let mut rhs = Vec::new();
        for r in g.rules() {
            for s in r.rhs.iter().rev() {
                rhs.push(match *s {
                    Sym::T(t) => t | TERMINAL,
                    Sym::N(b) => b,
                });
            }
            rhs_start.push(rhs.len() as u32);
        }
        rhs.extend([0; WIDE]);
        let widest = g.rules().iter().map(|r| r.rhs.len()).max().unwrap_or(0);
        // Acyclic grammar: at most `widest` pending symbols per tree level, N levels.
        let stack_cap = g.num_nonterminals() * widest.max(1) + 1 + WIDE;
        Flat {
            first_rule,
            rhs_start,
            rhs,
            stack_cap,
            widest,
        }
    }
}

/// Uniform integer in `0..n` from 32-bit draws (Lemire's method with exact rejection).
#[inline(always)]
fn below(draw: &mut impl FnMut() -> u32, n: u32) -> u32 {
    let mut m = draw() as u64 * n as u64;
    if (m as u32) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u32) < threshold {
            m = draw() as u64 * n as u64;
        }
    }
    (m >> 32) as u32
}

/// Per-token labels of one string: `[T, L]` ancestors and span indices.
pub struct LabelRows<'a> {
    pub ancestors: &'a mut [i32],
    pub spans: &'a mut [i32],
}

/// What stops a derivation.
#[derive(Debug, PartialEq, Eq)]
enum Abandon {
    TooLong,
    TooDeep,
}

impl<'g> Sampler<'g> {
    pub fn new(g: &'g Grammar, cfg: SampleConfig) -> Result<Self> {
        cfg.validate(g)?;
        let mut cum = vec![0u64; g.rules().len()];
        for a in 0..g.num_nonterminals() {
            let range = g.rule_range(a);
            let mut acc = 0.0;
            for i in range.clone() {
                acc += g.rules()[i].prob;
                cum[i] = ((acc * 4_294_967_296.0).round() as u64).min(1 << 32);
            }
            cum[range.end - 1] = 1 << 32;
        }
        // No guard can trigger on a finite language that fits: take the fast path.
        let fits = g.acyclic_order().is_some()
            && g.max_lengths()[0].is_some_and(|m| m <= cfg.max_length as u64)
            && g.num_nonterminals() <= cfg.max_depth
            && cfg.label_depth == 0;
        Ok(Sampler {
            g,
            cfg,
            cum,
            min_len: g.min_lengths(),
            fast: fits.then(|| Flat::new(g)),
        })
    }

    /// Fast path: writes the string straight into `row`, returns its length, or `None` when
    /// the fast path does not apply.
    #[inline]
    fn sample_fast<T: TokenId>(
        &self,
        rng: &mut U32Draws,
        row: &mut [T],
        stack: &mut Vec<u32>,
    ) -> Option<usize> {
        let f = self.fast.as_ref()?;
        let offset = self.cfg.token_offset;
        let uniform = self.cfg.choice == RuleChoice::Uniform;
        let mut draw = || rng.next_u32();
        stack.clear();
        stack.resize(f.stack_cap, 0);
        let mut sp = 1usize; // stack[0] = start symbol
        let mut len = 0usize;
        while sp > 0 {
            sp -= 1;
            let code = stack[sp];
            if code & TERMINAL != 0 {
                row[len] = T::from_id((code & !TERMINAL) + offset);
                len += 1;
                continue;
            }
            let a = code as usize;
            let (lo, hi) = (f.first_rule[a], f.first_rule[a + 1]);
            let r = if hi - lo == 1 {
                lo
            } else if uniform {
                lo + below(&mut draw, hi - lo)
            } else {
                let u = draw() as u64;
                let cum = &self.cum[lo as usize..hi as usize];
                lo + cum.iter().take_while(|&&c| c <= u).count() as u32
            };
            let (s, e) = (
                f.rhs_start[r as usize] as usize,
                f.rhs_start[r as usize + 1] as usize,
            );
            if f.widest <= WIDE {
                let block: &[u32; WIDE] = f.rhs[s..s + WIDE].try_into().expect("padded");
                stack[sp..sp + WIDE].copy_from_slice(block);
            } else {
                stack[sp..sp + e - s].copy_from_slice(&f.rhs[s..e]);
            }
            sp += e - s;
        }
        Some(len)
    }

    /// The rule of `a` to expand: the same draws as the fast path.
    #[inline]
    fn choose(&self, a: usize, rng: &mut U32Draws) -> usize {
        let range = self.g.rule_range(a);
        if range.len() == 1 {
            return range.start;
        }
        match self.cfg.choice {
            RuleChoice::Uniform => {
                range.start + below(&mut || rng.next_u32(), range.len() as u32) as usize
            }
            RuleChoice::Weighted => {
                let u = rng.next_u32() as u64;
                let cum = &self.cum[range.clone()];
                range.start + cum.iter().take_while(|&&c| c <= u).count()
            }
        }
    }

    /// One string into `out` (terminal indices), redrawing abandoned derivations.
    pub fn sample(
        &self,
        rng: &mut U32Draws,
        out: &mut Vec<u32>,
        mut labels: Option<&mut LabelRows<'_>>,
    ) -> Result<()> {
        let mut stack = Vec::new();
        let mut reason = Abandon::TooLong;
        for _ in 0..self.cfg.max_tries {
            out.clear();
            match self.derive(rng, out, &mut stack, labels.as_deref_mut()) {
                Ok(()) => return Ok(()),
                Err(r) => reason = r,
            }
        }
        let why = match reason {
            Abandon::TooLong => format!("longer than max_length = {}", self.cfg.max_length),
            Abandon::TooDeep => format!("deeper than max_depth = {}", self.cfg.max_depth),
        };
        Err(KleeneError::invalid(
            "max_tries",
            format!(
                "{} derivations in a row were {why}; raise the guard (the grammar may be critical or inconsistent: see Grammar.consistency)",
                self.cfg.max_tries
            ),
        ))
    }

    fn derive(
        &self,
        rng: &mut U32Draws,
        out: &mut Vec<u32>,
        stack: &mut Vec<(Sym, u32)>,
        mut labels: Option<&mut LabelRows<'_>>,
    ) -> std::result::Result<(), Abandon> {
        let (max_len, max_depth) = (self.cfg.max_length as u64, self.cfg.max_depth as u32);
        let levels = self.cfg.label_depth;
        let mut path = vec![0i32; levels];
        let mut span_of = vec![0i32; levels];
        let mut entered = vec![0i32; levels];
        stack.clear();
        stack.push((Sym::N(0), 0));
        // Shortest completion of everything emitted or pending.
        let mut committed = self.min_len[0];
        while let Some((sym, depth)) = stack.pop() {
            match sym {
                Sym::T(t) => {
                    if let Some(l) = labels.as_deref_mut() {
                        write_labels(l, out.len(), levels, depth as usize, &path, &span_of);
                    }
                    out.push(t);
                }
                Sym::N(a) => {
                    if depth > max_depth {
                        return Err(Abandon::TooDeep);
                    }
                    let a = a as usize;
                    let d = depth as usize;
                    if d < levels {
                        path[d] = a as i32;
                        span_of[d] = entered[d];
                        entered[d] += 1;
                    }
                    let rule = &self.g.rules()[self.choose(a, rng)];
                    committed -= self.min_len[a];
                    for &s in rule.rhs.iter().rev() {
                        committed += match s {
                            Sym::T(_) => 1,
                            Sym::N(b) => self.min_len[b as usize],
                        };
                        stack.push((s, depth + 1));
                    }
                    if committed > max_len {
                        return Err(Abandon::TooLong);
                    }
                }
            }
        }
        Ok(())
    }
}

fn write_labels(
    l: &mut LabelRows<'_>,
    pos: usize,
    levels: usize,
    depth: usize,
    path: &[i32],
    span_of: &[i32],
) {
    let row = pos * levels..(pos + 1) * levels;
    let (anc, spans) = (&mut l.ancestors[row.clone()], &mut l.spans[row]);
    for k in 0..levels {
        if k < depth {
            anc[k] = path[k];
            spans[k] = span_of[k];
        } else {
            anc[k] = IGNORE;
            spans[k] = IGNORE;
        }
    }
}

/// A batch: tokens `[B, max_length]` padded, lengths `[B]`, and with labels
/// `ancestors`/`spans` `[B, max_length, label_depth]` (IGNORE where absent).
pub struct SampleBatch<T> {
    pub tokens: Vec<T>,
    pub lengths: Vec<u32>,
    pub ancestors: Option<Vec<i32>>,
    pub spans: Option<Vec<i32>>,
}

/// Items `start .. start + count` of the stream keyed by `key`.
pub fn generate<T: TokenId>(
    g: &Grammar,
    cfg: &SampleConfig,
    key: StreamKey,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> Result<SampleBatch<T>> {
    let sampler = Sampler::new(g, cfg.clone())?;
    let top = (cfg.token_offset as u64 + g.num_terminals() as u64).saturating_sub(1);
    if top.max(cfg.pad_id as u64) > T::MAX_ID {
        return Err(KleeneError::invalid(
            "dtype",
            format!("cannot hold token ids up to {}", top.max(cfg.pad_id as u64)),
        ));
    }
    let (w, levels) = (cfg.max_length, cfg.label_depth);
    let per_token = std::mem::size_of::<T>() + 8 * levels;
    let n = check_elements("grammar batch", &[count, w], per_token)?;
    let mut tokens = vec![T::from_id(cfg.pad_id); n];
    let mut lengths = vec![0u32; count];
    let mut ancestors = (levels > 0).then(|| vec![IGNORE; n * levels]);
    let mut spans = (levels > 0).then(|| vec![IGNORE; n * levels]);
    let label_rows: Vec<Option<LabelRows<'_>>> = match (&mut ancestors, &mut spans) {
        (Some(a), Some(s)) => a
            .chunks_mut(w * levels)
            .zip(s.chunks_mut(w * levels))
            .map(|(ancestors, spans)| Some(LabelRows { ancestors, spans }))
            .collect(),
        _ => (0..count).map(|_| None).collect(),
    };
    let fill = |stack: &mut Vec<u32>,
                i: usize,
                row: &mut [T],
                len: &mut u32,
                lab: Option<LabelRows<'_>>| {
        let mut lab = lab;
        let mut rng = U32Draws::new(key.item_rng(start.wrapping_add(i as u64)));
        if let Some(n) = sampler.sample_fast(&mut rng, row, stack) {
            *len = n as u32;
            return Ok(());
        }
        let mut buf = Vec::with_capacity(w);
        sampler.sample(&mut rng, &mut buf, lab.as_mut())?;
        for (dst, &t) in row.iter_mut().zip(&buf) {
            *dst = T::from_id(t + cfg.token_offset);
        }
        *len = buf.len() as u32;
        Ok(())
    };
    let results: Vec<Result<()>> = with_threads(threads, || {
        tokens
            .par_chunks_mut(w)
            .zip(lengths.par_iter_mut())
            .zip(label_rows.into_par_iter())
            .enumerate()
            .map_init(Vec::new, |stack, (i, ((row, len), lab))| {
                fill(stack, i, row, len, lab)
            })
            .collect()
    });
    results.into_iter().collect::<Result<()>>()?;
    Ok(SampleBatch {
        tokens,
        lengths,
        ancestors,
        spans,
    })
}

/// The official cfg3 generator's strings, bit for bit: one `random.Random(seed)` stream,
/// `randint(0, R - 1)` at every nonterminal before its children, depth-first left to right.
/// Returns `count` consecutive strings (terminal indices) of that one stream.
pub fn sample_python_compatible(
    g: &Grammar,
    seed: u128,
    count: usize,
    max_length: usize,
) -> Result<Vec<Vec<u32>>> {
    if g.acyclic_order().is_none() {
        return Err(KleeneError::invalid(
            "grammar",
            "the cfg3-compatible mode needs a non-recursive grammar (as cfg3 grammars are)",
        ));
    }
    let longest = g.max_lengths()[0].unwrap_or(u64::MAX);
    check_elements(
        "cfg3-compatible strings",
        &[count, longest.min(max_length as u64) as usize],
        4,
    )?;
    let mut mt = Mt19937::from_python_seed(seed);
    let mut stack: Vec<Sym> = Vec::new();
    let mut all = Vec::with_capacity(count);
    for _ in 0..count {
        let mut out = Vec::new();
        stack.push(Sym::N(0));
        while let Some(sym) = stack.pop() {
            match sym {
                Sym::T(t) => out.push(t),
                Sym::N(a) => {
                    let range = g.rule_range(a as usize);
                    let r = range.start + mt.randbelow(range.len() as u32) as usize;
                    stack.extend(g.rules()[r].rhs.iter().rev());
                }
            }
        }
        all.push(out);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::super::text::parse;
    use super::*;
    use crate::rng::item_rng;

    fn cfg(max_length: usize) -> SampleConfig {
        SampleConfig {
            choice: RuleChoice::Weighted,
            max_length,
            max_depth: 1 << 20,
            max_tries: 100,
            label_depth: 0,
            token_offset: 0,
            pad_id: 0,
        }
    }

    #[test]
    fn string_probabilities_match_the_pcfg() {
        // S -> a S b [0.4] | c [0.6]: P(a^k c b^k) = 0.4^k 0.6.
        let g = parse("S -> a S b [0.4] | c [0.6]", false).unwrap();
        let s = Sampler::new(&g, cfg(10_000)).unwrap();
        let mut counts = [0usize; 4];
        let mut buf = Vec::new();
        let mut rng = U32Draws::new(item_rng(1, 2, 3));
        let n = 200_000;
        for _ in 0..n {
            s.sample(&mut rng, &mut buf, None).unwrap();
            let k = buf.len() / 2;
            assert_eq!(buf.len(), 2 * k + 1);
            if k < 4 {
                counts[k] += 1;
            }
        }
        for (k, &c) in counts.iter().enumerate() {
            let p = 0.4f64.powi(k as i32) * 0.6;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((c as f64 - n as f64 * p).abs() < 5.0 * sd, "k={k}: {c}");
        }
    }

    #[test]
    fn guards_stop_supercritical_grammars() {
        // Terminates with probability 1/2; unbounded otherwise.
        let g = parse(
            "S -> S S [0.6666666666666666] | a [0.3333333333333334]",
            false,
        )
        .unwrap();
        let s = Sampler::new(&g, cfg(50)).unwrap();
        let mut buf = Vec::new();
        let mut rng = U32Draws::new(item_rng(0, 0, 0));
        for _ in 0..200 {
            s.sample(&mut rng, &mut buf, None).unwrap();
            assert!(!buf.is_empty() && buf.len() <= 50);
        }
        let mut c = cfg(1 << 20);
        c.max_depth = 5;
        c.max_tries = 3;
        let g = parse("S -> a S [0.99] | b [0.01]", false).unwrap();
        let e = Sampler::new(&g, c)
            .unwrap()
            .sample(&mut rng, &mut buf, None);
        assert!(e.unwrap_err().to_string().contains("max_depth"));
    }

    #[test]
    fn labels_follow_the_tree() {
        let g = parse("S -> A B\nA -> a a\nB -> b A", false).unwrap();
        let mut c = cfg(8);
        c.label_depth = 3;
        let b = generate::<i32>(&g, &c, StreamKey::new(0, 0), 0, 1, Some(1)).unwrap();
        assert_eq!(&b.tokens[..5], &[0, 0, 1, 0, 0]);
        let anc = b.ancestors.unwrap();
        let spans = b.spans.unwrap();
        // token 3 ("a" under A under B): path S, B, A; A is the second A-level span.
        assert_eq!(&anc[9..12], &[0, 2, 1]);
        assert_eq!(&spans[9..12], &[0, 1, 0]);
        // token 2 ("b" directly under B).
        assert_eq!(&anc[6..9], &[0, 2, IGNORE]);
    }

    #[test]
    fn fast_and_guarded_paths_draw_the_same_strings() {
        let g = super::super::cfg3::preset("cfg3f")
            .unwrap()
            .generate(1)
            .unwrap();
        for choice in [RuleChoice::Uniform, RuleChoice::Weighted] {
            let mut c = cfg(729);
            c.choice = choice;
            let plain = generate::<i32>(&g, &c, StreamKey::new(4, 5), 0, 20, Some(2)).unwrap();
            c.label_depth = 2;
            let labelled = generate::<i32>(&g, &c, StreamKey::new(4, 5), 0, 20, Some(1)).unwrap();
            assert_eq!(plain.tokens, labelled.tokens);
            assert_eq!(plain.lengths, labelled.lengths);
        }
    }
}
