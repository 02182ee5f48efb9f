//! Bindings for `kleene_core::automata`: the `Dfa` and `DfaPool` classes and samplers.

use kleene_core::automata::random::{
    episodes, random_dfa, regbench_dfas, regbench_pools, EpisodeConfig, RandomFamily,
    RegbenchDfaConfig,
};
use kleene_core::automata::sample::{near_misses, sample, state_trace, LengthSpec, Method};
use kleene_core::automata::{
    compile_regex, count, Count, CountTable, Dfa, ProductOp, DEFAULT_REGEX_DFA_STATES, NONE,
};
use kleene_core::rng::StreamKey;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{core_call, guard, run_detached, run_interruptible, to_numpy, TokenDtype};
use crate::with_token_type;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDfa>()?;
    m.add_class::<PyDfaPool>()?;
    m.add_function(wrap_pyfunction!(dfa_regbench_pools, m)?)?;
    m.add_function(wrap_pyfunction!(dfa_regbench_batch, m)?)?;
    m.add_function(wrap_pyfunction!(dfa_random, m)?)?;
    Ok(())
}

/// A deterministic finite automaton over symbols 0..num_symbols (core of `kleene.DFA`).
#[pyclass(name = "Dfa", module = "kleene._core", frozen)]
#[derive(Clone)]
pub struct PyDfa {
    pub inner: Dfa,
}

fn wrap(inner: Dfa) -> PyDfa {
    PyDfa { inner }
}

fn product_op(op: &str) -> PyResult<ProductOp> {
    Ok(match op {
        "and" => ProductOp::And,
        "or" => ProductOp::Or,
        "difference" => ProductOp::Difference,
        "xor" => ProductOp::Xor,
        _ => {
            return Err(PyValueError::new_err(format!(
                "invalid `op`: {op:?}; allowed: and, or, difference, xor"
            )))
        }
    })
}

#[pymethods]
impl PyDfa {
    /// Builds from a row-major table [states * symbols] (-1 = missing transition).
    #[new]
    #[pyo3(signature = (num_symbols, table, accepting, start=0))]
    fn new(
        num_symbols: usize,
        table: Vec<i64>,
        accepting: Vec<bool>,
        start: i64,
    ) -> PyResult<Self> {
        let n = accepting.len() as i64;
        let mut t = Vec::with_capacity(table.len());
        for (i, &x) in table.iter().enumerate() {
            if x == -1 {
                t.push(NONE);
            } else if (0..n).contains(&x) {
                t.push(x as u32);
            } else {
                return Err(PyValueError::new_err(format!(
                    "invalid `table`: entry {i} = {x} is not a state in 0..{n} nor -1 (missing)"
                )));
            }
        }
        if start < 0 || start >= n.max(1) {
            return Err(PyValueError::new_err(format!(
                "invalid `start`: must be a state in 0..{n}, got {start}"
            )));
        }
        core_call(|| Dfa::new(num_symbols, t, accepting, start as u32)).map(wrap)
    }

    /// Compiles a regular expression over `alphabet` (one character per symbol).
    #[staticmethod]
    #[pyo3(signature = (pattern, alphabet, max_states=DEFAULT_REGEX_DFA_STATES))]
    fn from_regex(
        py: Python<'_>,
        pattern: &str,
        alphabet: &str,
        max_states: usize,
    ) -> PyResult<Self> {
        let chars: Vec<char> = alphabet.chars().collect();
        run_interruptible(py, || compile_regex(pattern, &chars, max_states)).map(wrap)
    }

    #[getter]
    fn num_states(&self) -> usize {
        self.inner.num_states()
    }
    #[getter]
    fn num_symbols(&self) -> usize {
        self.inner.num_symbols()
    }
    #[getter]
    fn start(&self) -> u32 {
        self.inner.start()
    }
    #[getter]
    fn accepting(&self) -> Vec<bool> {
        self.inner.accepting().to_vec()
    }
    /// The table as int64 [states, symbols], -1 where missing.
    fn table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t: Vec<i64> = self
            .inner
            .table()
            .iter()
            .map(|&x| if x == NONE { -1 } else { x as i64 })
            .collect();
        to_numpy(py, t, &[self.inner.num_states(), self.inner.num_symbols()])
    }
    /// Live states (some accepting state is reachable from them).
    fn live(&self) -> PyResult<Vec<bool>> {
        guard(|| Ok(self.inner.coreachable()))
    }
    fn minimize(&self, py: Python<'_>) -> PyResult<Self> {
        run_detached(py, || Ok(self.inner.minimize())).map(wrap)
    }
    fn trim(&self) -> PyResult<Self> {
        guard(|| Ok(wrap(self.inner.trim())))
    }
    fn complete(&self) -> PyResult<Self> {
        guard(|| Ok(wrap(self.inner.complete())))
    }
    fn complement(&self) -> PyResult<Self> {
        guard(|| Ok(wrap(self.inner.complement())))
    }
    /// Product automaton; `op` is and, or, difference or xor.
    fn product(&self, py: Python<'_>, other: &PyDfa, op: &str) -> PyResult<Self> {
        let op = product_op(op)?;
        run_detached(py, || self.inner.product(&other.inner, op)).map(wrap)
    }
    fn is_empty(&self) -> PyResult<bool> {
        guard(|| Ok(self.inner.is_empty()))
    }
    fn equivalent(&self, py: Python<'_>, other: &PyDfa) -> PyResult<bool> {
        run_detached(py, || self.inner.equivalent(&other.inner))
    }
    fn canonical_hash(&self, py: Python<'_>) -> PyResult<u64> {
        run_detached(py, || Ok(self.inner.canonical_hash()))
    }
    fn accepts(&self, word: Vec<u32>) -> PyResult<bool> {
        guard(|| Ok(self.inner.accepts(&word)))
    }
    /// (exact, value): the number of accepted strings of length n as an int when it fits in
    /// 128 bits (exact=True), else its natural logarithm (exact=False).
    fn count<'py>(&self, py: Python<'py>, length: usize) -> PyResult<Bound<'py, PyTuple>> {
        let c = run_detached(py, || count(&self.inner, length))?;
        match c {
            Count::Exact(v) => (true, v).into_pyobject(py),
            Count::Log(l) => (false, l).into_pyobject(py),
        }
    }
    /// (exact, ln_counts [max_len + 1, states]) of the counting DP.
    fn log_count_table<'py>(
        &self,
        py: Python<'py>,
        max_len: usize,
    ) -> PyResult<(bool, Bound<'py, PyAny>)> {
        let t = run_detached(py, || CountTable::new(&self.inner, max_len))?;
        let exact = t.is_exact();
        let arr = to_numpy(py, t.ln_values(), &[max_len + 1, self.inner.num_states()])?;
        Ok((exact, arr))
    }

    /// Samples strings; returns (tokens [count, max_len], lengths [count]).
    #[pyo3(signature = (*, method, min_len, max_len, pad, seed, salt, start, count, weights=None, final_weights=None, dtype="int32", threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        min_len: usize,
        max_len: usize,
        pad: u32,
        seed: u64,
        salt: u64,
        start: u64,
        count: usize,
        weights: Option<Vec<f64>>,
        final_weights: Option<Vec<f64>>,
        dtype: &str,
        threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let threads = crate::convert::threads(threads)?;
        let method = match method {
            "uniform" => Method::Uniform,
            "walk" => Method::Walk { weights },
            "randgen" => Method::StopWalk {
                weights,
                final_weights,
            },
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid `method`: {other:?}; allowed: uniform, walk, randgen"
                )))
            }
        };
        let spec = LengthSpec {
            min_len,
            max_len,
            pad,
        };
        let key = StreamKey::new(seed, salt);
        let dtype = TokenDtype::parse(dtype)?;
        with_token_type!(dtype, T => {
            let s = run_detached(py, || sample::<T>(&self.inner, &method, spec, key, start, count, threads))?;
            Ok((to_numpy(py, s.tokens, &[count, max_len])?, to_numpy(py, s.lengths, &[count])?))
        })
    }

    /// Near-miss pairs: (pos [count, max_len], pos_len, neg [count, max_len+1], neg_len).
    #[pyo3(signature = (*, min_len, max_len, pad, seed, salt, start, count, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn near_misses<'py>(
        &self,
        py: Python<'py>,
        min_len: usize,
        max_len: usize,
        pad: u32,
        seed: u64,
        salt: u64,
        start: u64,
        count: usize,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let threads = crate::convert::threads(threads)?;
        let spec = LengthSpec {
            min_len,
            max_len,
            pad,
        };
        let key = StreamKey::new(seed, salt);
        let (p, n) = run_detached(py, || {
            near_misses::<i32>(&self.inner, spec, key, start, count, threads)
        })?;
        (
            to_numpy(py, p.tokens, &[count, max_len])?,
            to_numpy(py, p.lengths, &[count])?,
            to_numpy(py, n.tokens, &[count, max_len + 1])?,
            to_numpy(py, n.lengths, &[count])?,
        )
            .into_pyobject(py)
    }

    /// State after each token, int32 [B, T] (-1 past the length or after a missing transition).
    #[pyo3(signature = (tokens, lengths, threads=None))]
    fn state_trace<'py>(
        &self,
        py: Python<'py>,
        tokens: PyReadonlyArray2<'py, i64>,
        lengths: PyReadonlyArray1<'py, i64>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let threads = crate::convert::threads(threads)?;
        let shape = tokens.shape().to_vec();
        let toks = tokens.as_slice()?.to_vec();
        let lens = lengths.as_slice()?.to_vec();
        if toks.iter().any(|&x| x < 0) {
            return Err(PyValueError::new_err("invalid `tokens`: ids must be >= 0"));
        }
        let out = run_detached(py, || {
            state_trace::<i64>(&self.inner, &toks, &lens, shape[1], threads)
        })?;
        to_numpy(py, out, &shape)
    }
}

/// A list of automata (REGBENCH pools) that generates in-context episodes.
#[pyclass(name = "DfaPool", module = "kleene._core", frozen)]
pub struct PyDfaPool {
    dfas: Vec<Dfa>,
}

#[pymethods]
impl PyDfaPool {
    fn __len__(&self) -> usize {
        self.dfas.len()
    }
    fn get(&self, i: usize) -> PyResult<PyDfa> {
        self.dfas.get(i).cloned().map(wrap).ok_or_else(|| {
            PyValueError::new_err(format!("index {i} outside the pool of {}", self.dfas.len()))
        })
    }
    /// Transition targets int32 [P, max_states, symbols], -1 where missing or past a DFA's states.
    fn tables<'py>(&self, py: Python<'py>, max_states: usize) -> PyResult<Bound<'py, PyAny>> {
        let k = self.dfas.first().map_or(0, |d| d.num_symbols());
        let mut out = vec![-1i32; self.dfas.len() * max_states * k];
        for (p, d) in self.dfas.iter().enumerate() {
            for (i, &t) in d.table().iter().enumerate().take(max_states * k) {
                out[p * max_states * k + i] = if t == NONE { -1 } else { t as i32 };
            }
        }
        to_numpy(py, out, &[self.dfas.len(), max_states, k])
    }

    /// Episodes: dict of tokens [B, T], lengths [B], dfa_index [B], states [B, T].
    #[pyo3(signature = (*, min_strings, max_strings, min_len, max_len, length, sep, pad, seed, salt, start, count, dtype="int32", threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn episodes<'py>(
        &self,
        py: Python<'py>,
        min_strings: usize,
        max_strings: usize,
        min_len: usize,
        max_len: usize,
        length: usize,
        sep: u32,
        pad: u32,
        seed: u64,
        salt: u64,
        start: u64,
        count: usize,
        dtype: &str,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let threads = crate::convert::threads(threads)?;
        let cfg = EpisodeConfig {
            min_strings,
            max_strings,
            min_len,
            max_len,
            width: length,
            sep,
            pad,
        };
        let key = StreamKey::new(seed, salt);
        let out = PyDict::new(py);
        let dtype = TokenDtype::parse(dtype)?;
        with_token_type!(dtype, T => {
            let e = run_detached(py, || episodes::<T>(&self.dfas, &cfg, key, start, count, threads))?;
            out.set_item("tokens", to_numpy(py, e.tokens, &[count, length])?)?;
            out.set_item("lengths", to_numpy(py, e.lengths, &[count])?)?;
            out.set_item("dfa_index", to_numpy(py, e.dfa_index, &[count])?)?;
            out.set_item("states", to_numpy(py, e.states, &[count, length])?)?;
        });
        Ok(out)
    }
}

/// (test, train) REGBENCH pools, disjoint and deduplicated.
#[pyfunction]
#[pyo3(signature = (*, max_out, max_states, num_letters, seed, salt, num_test, num_train, threads=None))]
#[allow(clippy::too_many_arguments)]
fn dfa_regbench_pools(
    py: Python<'_>,
    max_out: usize,
    max_states: usize,
    num_letters: usize,
    seed: u64,
    salt: u64,
    num_test: usize,
    num_train: usize,
    threads: Option<usize>,
) -> PyResult<(PyDfaPool, PyDfaPool)> {
    let threads = crate::convert::threads(threads)?;
    let cfg = RegbenchDfaConfig {
        max_out,
        max_states,
        num_letters,
    };
    let key = StreamKey::new(seed, salt);
    let (test, train) = run_detached(py, || {
        regbench_pools(&cfg, key, num_test, num_train, threads)
    })?;
    Ok((PyDfaPool { dfas: test }, PyDfaPool { dfas: train }))
}

/// REGBENCH automata start..start+count of a stream (not deduplicated), as a pool.
#[pyfunction]
#[pyo3(signature = (*, max_out, max_states, num_letters, seed, salt, start, count, threads=None))]
#[allow(clippy::too_many_arguments)]
fn dfa_regbench_batch(
    py: Python<'_>,
    max_out: usize,
    max_states: usize,
    num_letters: usize,
    seed: u64,
    salt: u64,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> PyResult<PyDfaPool> {
    let threads = crate::convert::threads(threads)?;
    let cfg = RegbenchDfaConfig {
        max_out,
        max_states,
        num_letters,
    };
    let key = StreamKey::new(seed, salt);
    let dfas = run_detached(py, || regbench_dfas(&cfg, key, start, count, threads))?;
    Ok(PyDfaPool { dfas })
}

/// A uniform random automaton: family complete, reachable or minimal.
#[pyfunction]
#[pyo3(signature = (*, family, num_states, num_symbols, accept_prob, seed, index=0))]
fn dfa_random(
    py: Python<'_>,
    family: &str,
    num_states: usize,
    num_symbols: usize,
    accept_prob: f64,
    seed: u64,
    index: u64,
) -> PyResult<PyDfa> {
    let family = match family {
        "complete" => RandomFamily::Complete,
        "reachable" => RandomFamily::Reachable,
        "minimal" => RandomFamily::Minimal,
        other => {
            return Err(PyValueError::new_err(format!(
                "invalid `family`: {other:?}; allowed: complete, reachable, minimal"
            )))
        }
    };
    let mut rng = StreamKey::new(seed, 0x5241_4e44).item_rng(index);
    run_detached(py, || {
        random_dfa(family, num_states, num_symbols, accept_prob, &mut rng)
    })
    .map(wrap)
}
