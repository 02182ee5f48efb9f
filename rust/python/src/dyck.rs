//! Bindings for `kleene_core::automata::dyck`: the bounded Dyck stack sampler.

use kleene_core::automata::dyck::Dyck;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::core_call;
use crate::rows::generate_dict;

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

    /// Items `start .. start+count` ([`generate_dict`]): labels are the depths, ints the
    /// valid-next flags `[B, T * 2k]`.
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
        generate_dict(py, &self.inner, seed, salt, start, count, dtype, threads)
    }
}
