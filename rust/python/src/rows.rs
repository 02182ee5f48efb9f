//! The one Python shape of a row sampler's output (`kleene_core::sampler`), shared by every
//! binding whose sampler implements `RowSampler`.

use kleene_core::rng::StreamKey;
use kleene_core::sampler::{generate, RowSampler};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{run_detached, threads, to_numpy, TokenDtype};
use crate::with_token_type;

/// Items `start .. start+count` as a dict: `tokens [B, T]`, `lengths [B]` (int64) and, when
/// the task has them, `labels [B, T]` (int64, -100 masked), `ints [B, I]` (int8) and
/// `reals [B, R]` (float32). The Python task names and reshapes them.
#[allow(clippy::too_many_arguments)]
pub fn generate_dict<'py, S: RowSampler>(
    py: Python<'py>,
    sampler: &S,
    seed: u64,
    salt: u64,
    start: u64,
    count: usize,
    dtype: &str,
    workers: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let workers = threads(workers)?;
    let shape = sampler.shape();
    let key = StreamKey::new(seed, salt);
    let dtype = TokenDtype::parse(dtype)?;
    let out = PyDict::new(py);
    with_token_type!(dtype, T => {
        let b = run_detached(py, || generate::<T, _>(sampler, key, start, count, workers))?;
        out.set_item("tokens", to_numpy(py, b.tokens, &[count, shape.length])?)?;
        let lengths: Vec<i64> = b.lengths.iter().map(|&x| x as i64).collect();
        out.set_item("lengths", to_numpy(py, lengths, &[count])?)?;
        if shape.labels {
            out.set_item("labels", to_numpy(py, b.labels, &[count, shape.length])?)?;
        }
        if shape.ints > 0 {
            out.set_item("ints", to_numpy(py, b.ints, &[count, shape.ints])?)?;
        }
        if shape.reals > 0 {
            out.set_item("reals", to_numpy(py, b.reals, &[count, shape.reals])?)?;
        }
    });
    Ok(out)
}
