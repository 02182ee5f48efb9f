//! Bindings for `kleene_core::markov`.

use kleene_core::markov::{generate, MarkovConfig, MarkovLabels};
use kleene_core::rng::StreamKey;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{run_detached, to_numpy, TokenDtype};
use crate::with_token_type;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(markov_generate, m)?)?;
    m.add_function(wrap_pyfunction!(markov_validate, m)?)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn config(
    vocab_size: usize,
    order: usize,
    length: usize,
    alpha: f64,
    switch_every: usize,
    transition: Option<Vec<f64>>,
) -> MarkovConfig {
    MarkovConfig {
        vocab_size,
        order,
        length,
        alpha,
        switch_every,
        transition,
    }
}

/// Validates a markov configuration; raises ValueError naming the first bad parameter.
#[pyfunction]
#[pyo3(signature = (*, vocab_size, order, length, alpha, switch_every, transition=None))]
fn markov_validate(
    vocab_size: usize,
    order: usize,
    length: usize,
    alpha: f64,
    switch_every: usize,
    transition: Option<Vec<f64>>,
) -> PyResult<()> {
    crate::convert::core_call(|| {
        config(vocab_size, order, length, alpha, switch_every, transition).validate()
    })
}

/// Generates items `start .. start+count` of a markov stream.
/// Returns a dict: tokens [B, T], and bayes / true_probs [B, T, V] (float32) when asked for.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (*, vocab_size, order, length, alpha, switch_every, transition, seed, salt, start, count, bayes, true_probs, dtype="int32", threads=None))]
fn markov_generate<'py>(
    py: Python<'py>,
    vocab_size: usize,
    order: usize,
    length: usize,
    alpha: f64,
    switch_every: usize,
    transition: Option<Vec<f64>>,
    seed: u64,
    salt: u64,
    start: u64,
    count: usize,
    bayes: bool,
    true_probs: bool,
    dtype: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = crate::convert::threads(threads)?;
    let cfg = config(vocab_size, order, length, alpha, switch_every, transition);
    let labels = MarkovLabels { bayes, true_probs };
    let key = StreamKey::new(seed, salt);
    let out = PyDict::new(py);
    let dtype = TokenDtype::parse(dtype)?;
    with_token_type!(dtype, T => {
        let batch = run_detached(py, || generate::<T>(&cfg, key, start, count, labels, threads))?;
        out.set_item("tokens", to_numpy(py, batch.tokens, &[count, length])?)?;
        if let Some(b) = batch.bayes {
            out.set_item("bayes", to_numpy(py, b, &[count, length, vocab_size])?)?;
        }
        if let Some(tp) = batch.true_probs {
            out.set_item("true_probs", to_numpy(py, tp, &[count, length, vocab_size])?)?;
        }
    });
    Ok(out)
}
