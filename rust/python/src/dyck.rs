//! Bindings for `kleene_core::automata::dyck`: the bounded Dyck stack sampler.

use kleene_core::automata::dyck::Dyck;
use kleene_core::rng::StreamKey;
use kleene_core::sampler::{generate, RowSampler};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{core_call, run_detached, to_numpy, TokenDtype};
use crate::with_token_type;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDyckSampler>()
}

/// A validated Dyck-(k, m) sampler (Hewitt et al.'s PFA, sampled with a stack).
#[pyclass(name = "DyckSampler", frozen, module = "kleene._core")]
pub struct PyDyckSampler {
    inner: Dyck,
}

#[pymethods]
impl PyDyckSampler {
    /// Raises ValueError naming the first failed constraint.
    #[new]
    #[pyo3(signature = (*, k, m, min_length, max_length))]
    fn new(k: usize, m: usize, min_length: usize, max_length: usize) -> PyResult<Self> {
        Ok(PyDyckSampler {
            inner: core_call(|| Dyck::new(k, m, min_length, max_length))?,
        })
    }

    /// Items `start .. start+count`: a dict with tokens [B, T] (pad 2k), lengths [B] (int64),
    /// depth [B, T] (int64, -100 past the end) and valid_next [B, T, 2k] (uint8).
    #[pyo3(signature = (*, seed, salt, start, count, dtype="int32", threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
        salt: u64,
        start: u64,
        count: usize,
        dtype: &str,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let shape = self.inner.shape();
        let (t, symbols) = (shape.length, shape.ints / shape.length.max(1));
        let threads = crate::convert::threads(threads)?;
        let key = StreamKey::new(seed, salt);
        let dtype = TokenDtype::parse(dtype)?;
        let out = PyDict::new(py);
        with_token_type!(dtype, T => {
            let b = run_detached(py, || generate::<T, _>(&self.inner, key, start, count, threads))?;
            out.set_item("tokens", to_numpy(py, b.tokens, &[count, t])?)?;
            let lengths: Vec<i64> = b.lengths.iter().map(|&x| x as i64).collect();
            out.set_item("lengths", to_numpy(py, lengths, &[count])?)?;
            out.set_item("depth", to_numpy(py, b.labels, &[count, t])?)?;
            let valid: Vec<u8> = b.ints.iter().map(|&x| x as u8).collect();
            out.set_item("valid_next", to_numpy(py, valid, &[count, t, symbols])?)?;
        });
        Ok(out)
    }
}
