//! Bindings for `kleene_core::chomsky`: one sampler class for the DeepMind seq2seq tasks.

use kleene_core::chomsky::{Chomsky, ChomskyConfig};
use kleene_core::rng::StreamKey;
use kleene_core::sampler::{generate, RowSampler};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{core_call, run_detached, to_numpy, TokenDtype};
use crate::with_token_type;

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

    /// Items `start .. start+count`: a dict with tokens [B, T], targets [B, T] (int64, -100
    /// off the output), accuracy_mask [B, T] (bool) and lengths [B] (int64).
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
        let t = self.inner.shape().length;
        let threads = crate::convert::threads(threads)?;
        let key = StreamKey::new(seed, salt);
        let dtype = TokenDtype::parse(dtype)?;
        let out = PyDict::new(py);
        with_token_type!(dtype, T => {
            let b = run_detached(py, || generate::<T, _>(&self.inner, key, start, count, threads))?;
            out.set_item("tokens", to_numpy(py, b.tokens, &[count, t])?)?;
            out.set_item("targets", to_numpy(py, b.labels, &[count, t])?)?;
            let mask: Vec<bool> = b.ints.iter().map(|&x| x != 0).collect();
            out.set_item("accuracy_mask", to_numpy(py, mask, &[count, t])?)?;
            let lengths: Vec<i64> = b.lengths.iter().map(|&x| x as i64).collect();
            out.set_item("lengths", to_numpy(py, lengths, &[count])?)?;
        });
        Ok(out)
    }
}
