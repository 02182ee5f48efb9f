//! Bindings for `kleene_core::chomsky`: one sampler class for the DeepMind seq2seq tasks.

use kleene_core::chomsky::{Chomsky, ChomskyConfig};
use kleene_core::sampler::RowSampler;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::core_call;
use crate::rows::generate_dict;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyChomskySampler>()
}

/// A validated Chomsky-hierarchy task (DeepMind's seq2seq suite), built once and reused for
/// every batch.
#[pyclass(name = "ChomskySampler", frozen, module = "kleene._core")]
pub struct PyChomskySampler {
    inner: ChomskyConfig,
}

#[pymethods]
impl PyChomskySampler {
    /// Builds the sampler of `task`; raises ValueError naming the first failed constraint.
    #[new]
    #[pyo3(signature = (task, *, length, min_length=None, modulus=5, mult=true))]
    fn new(
        task: &str,
        length: usize,
        min_length: Option<usize>,
        modulus: u32,
        mult: bool,
    ) -> PyResult<Self> {
        let inner = core_call(|| {
            let inner = ChomskyConfig {
                task: Chomsky::from_name(task)?,
                length,
                min_length,
                modulus,
                mult,
            };
            inner.validate().map(|()| inner)
        })?;
        Ok(PyChomskySampler { inner })
    }

    /// Every token id is below this (symbols, then SEP, then PAD).
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// Items `start .. start+count` ([`generate_dict`]): labels are the targets, ints the
    /// accuracy mask.
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
