//! Bindings for `kleene_core::cellular`.

use kleene_core::cellular::eca::{self, Boundary, Eca, Init, Window};
use kleene_core::cellular::life::{self, Life, LifeBoundary, LifeRule};
use kleene_core::cellular::tasks::{
    eca_batch, life_batch, EcaSplit, EcaTaskConfig, LifeTaskConfig,
};
use kleene_core::cellular::{gif, measures, rules};
use kleene_core::rng::StreamKey;
use numpy::{PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{core_call, guard, run_detached, run_interruptible, to_numpy, to_py_err};

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(eca_run, m)?)?;
    m.add_function(wrap_pyfunction!(eca_rule_info, m)?)?;
    m.add_function(wrap_pyfunction!(eca_representatives, m)?)?;
    m.add_function(wrap_pyfunction!(life_run, m)?)?;
    m.add_function(wrap_pyfunction!(life_rule_notation, m)?)?;
    m.add_function(wrap_pyfunction!(life_soup, m)?)?;
    m.add_function(wrap_pyfunction!(cellular_measures, m)?)?;
    m.add_function(wrap_pyfunction!(cellular_gif, m)?)?;
    m.add_function(wrap_pyfunction!(eca_task_generate, m)?)?;
    m.add_function(wrap_pyfunction!(life_task_generate, m)?)?;
    Ok(())
}

fn contiguous<'a, T>(s: Result<&'a [T], numpy::AsSliceError>, name: &str) -> PyResult<&'a [T]> {
    s.map_err(|_| PyValueError::new_err(format!("`{name}` must be a C-contiguous array")))
}

/// Runs elementary CA trajectories. `init` is "single", "random" (Bernoulli(density), item i
/// keyed by (seed, salt, i)) or "explicit" (`cells [B, W]` uint8). Returns uint8
/// `[B, steps + 1, cols]`, or uint64 words `[B, steps + 1, ceil(cols / 64)]` when `packed`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (*, rule, boundary, init, width, count, cells=None, density=0.5, seed=0, salt=0, steps, stride=1, t0=0, col0=0, cols=None, packed=false, threads=None))]
fn eca_run<'py>(
    py: Python<'py>,
    rule: u32,
    boundary: &str,
    init: &str,
    width: usize,
    count: usize,
    cells: Option<PyReadonlyArray2<'py, u8>>,
    density: f64,
    seed: u64,
    salt: u64,
    steps: usize,
    stride: usize,
    t0: usize,
    col0: usize,
    cols: Option<usize>,
    packed: bool,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = crate::convert::threads(threads)?;
    let eca =
        Eca::new(rule, width, Boundary::parse(boundary).map_err(to_py_err)?).map_err(to_py_err)?;
    let init = match init {
        "single" => Init::Single,
        "random" => Init::Bernoulli {
            p: density,
            key: StreamKey::new(seed, salt),
            start: 0,
        },
        "explicit" => {
            let arr = cells.ok_or_else(|| PyValueError::new_err("explicit init needs `cells`"))?;
            Init::Explicit(contiguous(arr.as_slice(), "init")?.to_vec())
        }
        other => return Err(PyValueError::new_err(format!("invalid `init`: {other:?}"))),
    };
    let cols = cols.unwrap_or(width);
    let window = Window {
        steps,
        stride,
        t0,
        col0,
        cols,
    };
    let rows = steps.saturating_add(1);
    if packed {
        let out = run_interruptible(py, || {
            let inits = eca::initial_rows(&init, count, width)?;
            eca::run_packed(&eca, &window, &inits, threads)
        })?;
        to_numpy(py, out, &[count, rows, cols.div_ceil(64)])
    } else {
        let out = run_interruptible(py, || {
            let inits = eca::initial_rows(&init, count, width)?;
            eca::run_cells(&eca, &window, &inits, threads)
        })?;
        to_numpy(py, out, &[count, rows, cols])
    }
}

fn check_rule(rule: u32) -> PyResult<u8> {
    u8::try_from(rule).map_err(|_| {
        PyValueError::new_err(format!("invalid `rule`: must be in 0..=255, got {rule}"))
    })
}

/// (representative, reflected, complemented, langton_lambda, wolfram_class) of a rule.
#[pyfunction]
fn eca_rule_info(rule: u32) -> PyResult<(u8, u8, u8, f64, u8)> {
    let r = check_rule(rule)?;
    guard(|| {
        Ok((
            rules::representative(r),
            rules::reflect(r),
            rules::complement(r),
            rules::langton_lambda(r),
            rules::wolfram_class(r),
        ))
    })
}

/// The 88 minimal representatives of the classes under reflection and complement.
#[pyfunction]
fn eca_representatives() -> Vec<u8> {
    rules::representatives()
}

/// Runs Life-like grids `[B, H, W]` uint8; returns `[B, steps + 1, H, W]` uint8 (every
/// `stride`-th generation).
#[pyfunction]
#[pyo3(signature = (*, rule, boundary, grids, steps, stride=1, threads=None))]
fn life_run<'py>(
    py: Python<'py>,
    rule: &str,
    boundary: &str,
    grids: PyReadonlyArray3<'py, u8>,
    steps: usize,
    stride: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = crate::convert::threads(threads)?;
    let shape = grids.shape().to_vec();
    let (b, h, w) = (shape[0], shape[1], shape[2]);
    let life = core_call(|| {
        let rule = LifeRule::parse(rule)?;
        Life::new(rule, h, w, LifeBoundary::parse(boundary)?)
    })?;
    let cells = contiguous(grids.as_slice(), "grid")?;
    let out = run_interruptible(py, || {
        let packed = life::pack_grids(&life, cells)?;
        life::run_cells(&life, &packed, steps, stride, threads)
    })?;
    to_numpy(py, out, &[b, steps.saturating_add(1), h, w])
}

/// The canonical `B.../S...` notation of a rule string (raises ValueError if malformed).
#[pyfunction]
fn life_rule_notation(rule: &str) -> PyResult<String> {
    core_call(|| Ok(LifeRule::parse(rule)?.notation()))
}

/// Random soups `[count, height, width]` uint8 of Bernoulli(density) cells.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (*, count, height, width, density, seed, salt=0, start=0))]
fn life_soup<'py>(
    py: Python<'py>,
    count: usize,
    height: usize,
    width: usize,
    density: f64,
    seed: u64,
    salt: u64,
    start: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let key = StreamKey::new(seed, salt);
    let out = run_detached(py, || life::soup(key, start, count, height, width, density))?;
    to_numpy(py, out, &[count, height, width])
}

/// Complexity measures of each trajectory of `states [B, T, W]` uint8: a dict of `[B]`
/// arrays compression_ratio, lz_phrases, lz_normalized, block_entropy.
#[pyfunction]
#[pyo3(signature = (states, block=3, threads=None))]
fn cellular_measures<'py>(
    py: Python<'py>,
    states: PyReadonlyArray3<'py, u8>,
    block: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = crate::convert::threads(threads)?;
    let shape = states.shape().to_vec();
    let cells = contiguous(states.as_slice(), "states")?;
    let m = run_detached(py, || {
        measures::measure_batch(cells, shape[0], shape[2], block, threads)
    })?;
    let out = PyDict::new(py);
    let n = m.len();
    out.set_item(
        "compression_ratio",
        to_numpy(py, m.iter().map(|x| x.compression_ratio).collect(), &[n])?,
    )?;
    out.set_item(
        "lz_phrases",
        to_numpy(py, m.iter().map(|x| x.lz_phrases as i64).collect(), &[n])?,
    )?;
    out.set_item(
        "lz_normalized",
        to_numpy(py, m.iter().map(|x| x.lz_normalized).collect(), &[n])?,
    )?;
    out.set_item(
        "block_entropy",
        to_numpy(py, m.iter().map(|x| x.block_entropy).collect(), &[n])?,
    )?;
    Ok(out)
}

/// An animated GIF (bytes) of `frames [F, H, W]` uint8.
#[pyfunction]
#[pyo3(signature = (frames, scale=4, delay_cs=10))]
fn cellular_gif<'py>(
    py: Python<'py>,
    frames: PyReadonlyArray3<'py, u8>,
    scale: usize,
    delay_cs: u16,
) -> PyResult<Bound<'py, PyBytes>> {
    let shape = frames.shape().to_vec();
    let cells = contiguous(frames.as_slice(), "frames")?;
    let bytes = run_detached(py, || {
        gif::encode(cells, shape[0], shape[1], shape[2], scale, delay_cs)
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// Items `start .. start + count` of the `eca` task: dict with cells [B, seq_length,
/// sample_width] uint8 and t0, col0, trajectory [B] int64.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (*, rule, width, boundary, density, stride, seq_length, sample_width, horizon, trajectories, seed, salt, start, count, split="all", train_fraction=0.9, threads=None))]
fn eca_task_generate<'py>(
    py: Python<'py>,
    rule: u32,
    width: usize,
    boundary: &str,
    density: f64,
    stride: usize,
    seq_length: usize,
    sample_width: usize,
    horizon: usize,
    trajectories: usize,
    seed: u64,
    salt: u64,
    start: u64,
    count: usize,
    split: &str,
    train_fraction: f64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = crate::convert::threads(threads)?;
    let cfg = EcaTaskConfig {
        rule,
        width,
        boundary: Boundary::parse(boundary).map_err(to_py_err)?,
        density,
        stride,
        seq_length,
        sample_width,
        horizon,
        trajectories,
        split: EcaSplit::parse(split).map_err(to_py_err)?,
        train_fraction,
    };
    if count == 0 {
        cfg.validate().map_err(to_py_err)?;
    }
    let key = StreamKey::new(seed, salt);
    let b = run_detached(py, || eca_batch(&cfg, key, start, count, threads))?;
    let out = PyDict::new(py);
    out.set_item(
        "cells",
        to_numpy(py, b.cells, &[count, seq_length, sample_width])?,
    )?;
    out.set_item("t0", to_numpy(py, b.t0, &[count])?)?;
    out.set_item("col0", to_numpy(py, b.col0, &[count])?)?;
    out.set_item("trajectory", to_numpy(py, b.trajectory, &[count])?)?;
    Ok(out)
}

/// Items `start .. start + count` of the `life` task: dict with input, target
/// [B, size, size] uint8 and density [B] float64.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (*, rule, size, boundary, density_low, density_high, warmup, horizon, seed, salt, start, count, threads=None))]
fn life_task_generate<'py>(
    py: Python<'py>,
    rule: &str,
    size: usize,
    boundary: &str,
    density_low: f64,
    density_high: f64,
    warmup: usize,
    horizon: usize,
    seed: u64,
    salt: u64,
    start: u64,
    count: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = crate::convert::threads(threads)?;
    let cfg = LifeTaskConfig {
        rule: LifeRule::parse(rule).map_err(to_py_err)?,
        size,
        boundary: LifeBoundary::parse(boundary).map_err(to_py_err)?,
        density_low,
        density_high,
        warmup,
        horizon,
    };
    cfg.validate().map_err(to_py_err)?;
    let key = StreamKey::new(seed, salt);
    let b = run_detached(py, || life_batch(&cfg, key, start, count, threads))?;
    let out = PyDict::new(py);
    out.set_item("input", to_numpy(py, b.input, &[count, size, size])?)?;
    out.set_item("target", to_numpy(py, b.target, &[count, size, size])?)?;
    out.set_item("density", to_numpy(py, b.density, &[count])?)?;
    Ok(out)
}
