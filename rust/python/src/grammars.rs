//! Bindings for `kleene_core::grammars`: the `Grammar` class.

use kleene_core::grammars::analysis::consistency;
use kleene_core::grammars::parse::Parser;
use kleene_core::grammars::prefix::PrefixModel;
use kleene_core::grammars::sample::{generate, sample_python_compatible, RuleChoice, SampleConfig};
use kleene_core::grammars::uniform;
use kleene_core::grammars::{cfg3, text, Grammar, Sym, Weights};
use kleene_core::rng::StreamKey;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::OnceLock;

use crate::convert::{core_call, guard, run_detached, run_interruptible, to_numpy, TokenDtype};
use crate::with_token_type;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGrammar>()?;
    m.add_function(wrap_pyfunction!(cfg3_preset, m)?)?;
    Ok(())
}

/// A context-free grammar with rule probabilities (see `kleene.Grammar`).
#[pyclass(name = "Grammar", module = "kleene._core", frozen)]
pub struct PyGrammar {
    pub inner: Grammar,
    parser: OnceLock<Parser>,
    prefix: OnceLock<PrefixModel>,
}

impl PyGrammar {
    fn wrap(inner: Grammar) -> Self {
        PyGrammar {
            inner,
            parser: OnceLock::new(),
            prefix: OnceLock::new(),
        }
    }

    fn parser(&self) -> PyResult<&Parser> {
        guard(|| Ok(self.parser.get_or_init(|| Parser::new(&self.inner))))
    }

    fn prefix_model(&self) -> PyResult<&PrefixModel> {
        if let Some(m) = self.prefix.get() {
            return Ok(m);
        }
        let m = core_call(|| PrefixModel::new(&self.inner))?;
        Ok(self.prefix.get_or_init(|| m))
    }
}

/// Parameters of a named cfg3 configuration: dict(sizes, deg_min, deg_max, len_min, len_max,
/// disallow_duplicate_sym).
#[pyfunction]
fn cfg3_preset<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let p = cfg3::preset(name).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "invalid `name`: {name:?}; allowed: {}",
            cfg3::PRESETS.join(", ")
        ))
    })?;
    let d = PyDict::new(py);
    d.set_item("sizes", p.sizes)?;
    d.set_item("deg_min", p.deg_min)?;
    d.set_item("deg_max", p.deg_max)?;
    d.set_item("len_min", p.len_min)?;
    d.set_item("len_max", p.len_max)?;
    d.set_item("disallow_duplicate_sym", p.disallow_duplicate_sym)?;
    Ok(d)
}

fn parse_choice(choice: &str) -> PyResult<RuleChoice> {
    match choice {
        "weighted" => Ok(RuleChoice::Weighted),
        "uniform" => Ok(RuleChoice::Uniform),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "invalid `choice`: {other:?}; allowed: 'weighted', 'uniform'"
        ))),
    }
}

#[pymethods]
impl PyGrammar {
    /// Parses the text format; `normalise` rescales weights per nonterminal.
    #[staticmethod]
    /// `verbatim` keeps the written probabilities bit for bit (they must sum to 1 within
    /// 1e-6 per nonterminal); pickling uses it to rebuild a grammar from its `to_text`.
    #[pyo3(signature = (text, normalise=false, verbatim=false))]
    fn from_text(text: &str, normalise: bool, verbatim: bool) -> PyResult<Self> {
        let weights = match (normalise, verbatim) {
            (_, true) => Weights::Verbatim,
            (true, false) => Weights::Normalise,
            (false, false) => Weights::Exact,
        };
        core_call(|| text::parse_with(text, weights)).map(PyGrammar::wrap)
    }

    /// Builds a cfg3 grammar from its levels (rules as index lists into the next level).
    #[staticmethod]
    fn from_cfg3_levels(
        levels: Vec<Vec<Vec<Vec<usize>>>>,
        names: Vec<Vec<String>>,
        num_terminals: usize,
    ) -> PyResult<Self> {
        core_call(|| cfg3::from_levels(&levels, &names, num_terminals)).map(PyGrammar::wrap)
    }

    /// A random grammar of the cfg3 family.
    #[staticmethod]
    #[pyo3(signature = (*, sizes, deg_min, deg_max, len_min, len_max, seed, disallow_duplicate_sym=false))]
    fn cfg3_family(
        sizes: Vec<usize>,
        deg_min: usize,
        deg_max: usize,
        len_min: usize,
        len_max: usize,
        seed: u64,
        disallow_duplicate_sym: bool,
    ) -> PyResult<Self> {
        let p = cfg3::FamilyParams {
            sizes,
            deg_min,
            deg_max,
            len_min,
            len_max,
            disallow_duplicate_sym,
        };
        core_call(|| p.generate(seed)).map(PyGrammar::wrap)
    }

    #[getter]
    fn terminals(&self) -> Vec<String> {
        self.inner.terminals().to_vec()
    }

    #[getter]
    fn nonterminals(&self) -> Vec<String> {
        self.inner.nonterminals().to_vec()
    }

    /// Rules as (lhs index, [(is_terminal, index), ...], probability).
    #[getter]
    #[allow(clippy::type_complexity)]
    fn rules(&self) -> Vec<(u32, Vec<(bool, u32)>, f64)> {
        self.inner
            .rules()
            .iter()
            .map(|r| {
                let rhs = r
                    .rhs
                    .iter()
                    .map(|s| match *s {
                        Sym::T(t) => (true, t),
                        Sym::N(b) => (false, b),
                    })
                    .collect();
                (r.lhs, rhs, r.prob)
            })
            .collect()
    }

    fn to_text(&self) -> PyResult<String> {
        guard(|| Ok(self.inner.to_text()))
    }

    /// (shortest length, longest length or None when unbounded) of the language.
    fn length_range(&self) -> PyResult<(u64, Option<u64>)> {
        guard(|| Ok((self.inner.min_lengths()[0], self.inner.max_lengths()[0])))
    }

    /// dict(spectral_radius, termination_probability, expected_length, expected_size).
    fn consistency<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = guard(|| Ok(consistency(&self.inner)))?;
        let d = PyDict::new(py);
        d.set_item("spectral_radius", c.spectral_radius)?;
        d.set_item("termination_probability", c.termination_probability)?;
        d.set_item("expected_length", c.expected_length)?;
        d.set_item("expected_size", c.expected_size)?;
        d.set_item("consistent", c.is_consistent())?;
        Ok(d)
    }

    /// Items start..start+count of a sampling stream; dict(tokens [B, max_length],
    /// lengths [B], and ancestors/spans [B, max_length, label_depth] when label_depth > 0).
    #[pyo3(signature = (*, count, seed, salt, start, choice, max_length, max_depth, max_tries, label_depth, token_offset, pad_id, dtype="int32", threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        count: usize,
        seed: u64,
        salt: u64,
        start: u64,
        choice: &str,
        max_length: usize,
        max_depth: usize,
        max_tries: u32,
        label_depth: usize,
        token_offset: u32,
        pad_id: u32,
        dtype: &str,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let threads = crate::convert::threads(threads)?;
        let cfg = SampleConfig {
            choice: parse_choice(choice)?,
            max_length,
            max_depth,
            max_tries,
            label_depth,
            token_offset,
            pad_id,
        };
        let key = StreamKey::new(seed, salt);
        let dtype = TokenDtype::parse(dtype)?;
        let g = &self.inner;
        let out = PyDict::new(py);
        with_token_type!(dtype, T => {
            let b = run_detached(py, || generate::<T>(g, &cfg, key, start, count, threads))?;
            out.set_item("tokens", to_numpy(py, b.tokens, &[count, max_length])?)?;
            out.set_item("lengths", to_numpy(py, b.lengths, &[count])?)?;
            if let Some(a) = b.ancestors {
                out.set_item("ancestors", to_numpy(py, a, &[count, max_length, label_depth])?)?;
            }
            if let Some(s) = b.spans {
                out.set_item("spans", to_numpy(py, s, &[count, max_length, label_depth])?)?;
            }
        });
        Ok(out)
    }

    /// `count` consecutive strings (terminal indices) of the official cfg3 generator driven
    /// by `random.Random(seed)`.
    #[pyo3(signature = (seed, count, max_length=1<<24))]
    fn sample_python_compatible(
        &self,
        py: Python<'_>,
        seed: u128,
        count: usize,
        max_length: usize,
    ) -> PyResult<Vec<Vec<u32>>> {
        let g = &self.inner;
        run_detached(py, || sample_python_compatible(g, seed, count, max_length))
    }

    /// Whether the grammar derives `w` (terminal indices).
    fn accepts(&self, py: Python<'_>, w: Vec<u32>) -> PyResult<bool> {
        let p = self.parser()?;
        run_interruptible(py, || p.accepts(&w))
    }

    /// Membership of many strings, in parallel.
    #[pyo3(signature = (strings, threads=None))]
    fn accepts_batch(
        &self,
        py: Python<'_>,
        strings: Vec<Vec<u32>>,
        threads: Option<usize>,
    ) -> PyResult<Vec<bool>> {
        let threads = crate::convert::threads(threads)?;
        let p = self.parser()?;
        run_detached(py, || p.accepts_batch(&strings, threads))
    }

    /// Probability of `w` (sum over derivations).
    fn string_probability(&self, py: Python<'_>, w: Vec<u32>) -> PyResult<f64> {
        let p = self.parser()?;
        run_interruptible(py, || p.string_probability(&w))
    }

    /// Number of parse trees of `w` (float).
    fn count_parses(&self, py: Python<'_>, w: Vec<u32>) -> PyResult<f64> {
        let p = self.parser()?;
        run_interruptible(py, || p.count_parses(&w))
    }

    /// Most probable parse: None, or (probability, [(is_terminal, symbol, start, end, parent)]).
    #[allow(clippy::type_complexity)]
    fn best_tree(
        &self,
        py: Python<'_>,
        w: Vec<u32>,
    ) -> PyResult<Option<(f64, Vec<(bool, u32, u32, u32, i32)>)>> {
        let p = self.parser()?;
        let t = run_interruptible(py, || p.best_tree(&w))?;
        Ok(t.map(|(score, nodes)| {
            let flat = nodes
                .iter()
                .map(|n| (n.terminal, n.symbol, n.start, n.end, n.parent))
                .collect();
            (score, flat)
        }))
    }

    /// `P(a string starts with w)`.
    fn prefix_probability(&self, py: Python<'_>, w: Vec<u32>) -> PyResult<f64> {
        let m = self.prefix_model()?;
        run_interruptible(py, || m.prefix_probability(&w))
    }

    /// Next-symbol distributions after every prefix of `w`: float64 [n + 1, V + 1], end of
    /// string first.
    fn next_token_distributions<'py>(
        &self,
        py: Python<'py>,
        w: Vec<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.prefix_model()?;
        let n = w.len();
        let v = self.inner.num_terminals();
        let d = run_interruptible(py, || m.next_token_distributions(&w))?;
        to_numpy(py, d, &[n + 1, v + 1])
    }

    /// Strings of exactly `length` tokens, uniform over derivations: uint32 [count, length].
    #[pyo3(signature = (*, length, count, seed, salt, start, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn sample_uniform_length<'py>(
        &self,
        py: Python<'py>,
        length: usize,
        count: usize,
        seed: u64,
        salt: u64,
        start: u64,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = crate::convert::threads(threads)?;
        let g = &self.inner;
        let key = StreamKey::new(seed, salt);
        let t = run_detached(py, || {
            uniform::generate(g, length, key, start, count, threads)
        })?;
        to_numpy(py, t, &[count, length])
    }

    /// Number of derivations of strings of exactly `length` tokens (float).
    fn num_derivations(&self, py: Python<'_>, length: usize) -> PyResult<f64> {
        let g = &self.inner;
        run_detached(py, || {
            Ok(uniform::LengthSampler::new(g, length)?.num_derivations())
        })
    }
}
