//! Bindings for `kleene_core::recall`: one generic entry point, the task chosen by name and
//! its parameters passed as a dict (the Python task classes validate types and fill defaults).

use kleene_core::recall::binary::{BinaryConfig, BinaryKind};
use kleene_core::recall::boolean::{BoolClass, BooleanConfig, Gotu, GotuConfig, GotuFunction};
use kleene_core::recall::copying::CopyingConfig;
use kleene_core::recall::fuzzy::FuzzyConfig;
use kleene_core::recall::induction::{AssocRecallConfig, InductionConfig};
use kleene_core::recall::mad::{
    CompressionConfig, Memorization, MemorizationConfig, RecallConfig, Targets,
};
use kleene_core::recall::mqar::{Mqar, MqarConfig};
use kleene_core::recall::{AnySampler, RowSampler};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{guard, to_numpy, to_py_err};
use crate::rows::generate_dict;

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRecallSampler>()?;
    m.add_function(wrap_pyfunction!(recall_memorization_map, m)?)?;
    Ok(())
}

/// A validated recall-family sampler, built once (precomputed gap law, fixed maps) and reused
/// for every batch.
#[pyclass(name = "RecallSampler", frozen, module = "kleene._core")]
pub struct PyRecallSampler {
    inner: AnySampler,
}

#[pymethods]
impl PyRecallSampler {
    /// Builds the sampler of `task`; raises ValueError naming the first failed constraint.
    #[new]
    fn new(task: &str, params: &Bound<'_, PyDict>) -> PyResult<Self> {
        guard(|| {
            Ok(PyRecallSampler {
                inner: build(task, params)?,
            })
        })
    }

    /// Every token id is below this.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    /// Items `start .. start+count`: a dict with tokens [B, T] and, when the task has them,
    /// labels [B, T] (int64), ints [B, I] (int8) and reals [B, R] (float32).
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

fn get<'py, T>(params: &Bound<'py, PyDict>, name: &str) -> PyResult<T>
where
    T: pyo3::conversion::FromPyObjectOwned<'py>,
{
    match params.get_item(name)? {
        Some(v) => v.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("invalid `{name}`: {e}"))
        }),
        None => Err(PyValueError::new_err(format!("missing parameter `{name}`"))),
    }
}

fn choice<T>(name: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> PyResult<T> {
    parse(value).ok_or_else(|| PyValueError::new_err(format!("invalid `{name}`: {value:?}")))
}

fn memorization_config(p: &Bound<'_, PyDict>) -> PyResult<MemorizationConfig> {
    Ok(MemorizationConfig {
        vocab_size: get(p, "vocab_size")?,
        length: get(p, "length")?,
        noise_vocab_size: get(p, "noise_vocab_size")?,
        frac_noise: get(p, "frac_noise")?,
        map_seed: get(p, "map_seed")?,
    })
}

/// Builds and validates the sampler of `task` from its parameters.
fn build(task: &str, p: &Bound<'_, PyDict>) -> PyResult<AnySampler> {
    let sampler = match task {
        "mqar" => AnySampler::Mqar(
            Mqar::new(MqarConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                num_kv_pairs: get(p, "num_kv_pairs")?,
                num_passes: get(p, "num_passes")?,
                power_a: get(p, "power_a")?,
                random_non_queries: get(p, "random_non_queries")?,
            })
            .map_err(to_py_err)?,
        ),
        "in_context_recall" => {
            let targets: String = get(p, "targets")?;
            let cfg = RecallConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                multi_query: get(p, "multi_query")?,
                noise_vocab_size: get(p, "noise_vocab_size")?,
                frac_noise: get(p, "frac_noise")?,
                targets: choice("targets", &targets, |s| match s {
                    "next_token" => Some(Targets::NextToken),
                    "recall" => Some(Targets::Recall),
                    _ => None,
                })?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Recall(cfg)
        }
        "fuzzy_in_context_recall" => {
            let split: String = get(p, "split")?;
            let cfg = FuzzyConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                k_motif_size: get(p, "k_motif_size")?,
                v_motif_size: get(p, "v_motif_size")?,
                multi_query: get(p, "multi_query")?,
                noise_vocab_size: get(p, "noise_vocab_size")?,
                frac_noise: get(p, "frac_noise")?,
                test: choice("split", &split, |s| match s {
                    "train" => Some(false),
                    "test" => Some(true),
                    _ => None,
                })?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Fuzzy(cfg)
        }
        "memorization" => {
            AnySampler::Memorization(Memorization::new(memorization_config(p)?).map_err(to_py_err)?)
        }
        "compression" => {
            let cfg = CompressionConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                noise_vocab_size: get(p, "noise_vocab_size")?,
                frac_noise: get(p, "frac_noise")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Compression(cfg)
        }
        "copying" => {
            let cfg = CopyingConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                num_tokens_to_copy: get(p, "num_tokens_to_copy")?,
                selective: get(p, "selective")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Copying(cfg)
        }
        "induction_heads" => {
            let cfg = InductionConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                all_targets: get(p, "all_targets")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Induction(cfg)
        }
        "associative_recall" => {
            let cfg = AssocRecallConfig {
                vocab_size: get(p, "vocab_size")?,
                length: get(p, "length")?,
                allow_dot: get(p, "allow_dot")?,
                all_targets: get(p, "all_targets")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::AssocRecall(cfg)
        }
        "boolean_functions" => {
            let class: String = get(p, "function_class")?;
            let cfg = BooleanConfig {
                class: choice("function_class", &class, BoolClass::parse)?,
                n_dims: get(p, "n_dims")?,
                n_points: get(p, "n_points")?,
                k: get(p, "k")?,
                noise_rate: get(p, "noise_rate")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Boolean(cfg)
        }
        "gotu" => {
            let function: String = get(p, "function")?;
            let max_negatives: i64 = get(p, "max_negatives")?;
            let cfg = GotuConfig {
                dims: get(p, "dims")?,
                function: choice("function", &function, |s| match s {
                    "parity" => Some(GotuFunction::Parity),
                    "majority" => Some(GotuFunction::Majority),
                    "cyclic" => Some(GotuFunction::Cyclic),
                    _ => None,
                })?,
                support: get(p, "support")?,
                frozen: get(p, "frozen")?,
                max_negatives: usize::try_from(max_negatives).ok(),
            };
            AnySampler::Gotu(Gotu::new(cfg).map_err(to_py_err)?)
        }
        "binary_sequences" => {
            let kind: String = get(p, "kind")?;
            let kind = match kind.as_str() {
                "bernoulli" => {
                    let prob: f64 = get(p, "p")?;
                    BinaryKind::Bernoulli {
                        p: (prob >= 0.0).then_some(prob),
                    }
                }
                "periodic" => {
                    let patterns: Vec<String> = get(p, "patterns")?;
                    BinaryKind::Periodic {
                        patterns: patterns
                            .iter()
                            .map(|s| s.bytes().map(|b| b.wrapping_sub(b'0')).collect())
                            .collect(),
                        period: get(p, "period")?,
                        random_phase: get(p, "random_phase")?,
                    }
                }
                other => return Err(PyValueError::new_err(format!("invalid `kind`: {other:?}"))),
            };
            let cfg = BinaryConfig {
                kind,
                length: get(p, "length")?,
            };
            cfg.validate().map_err(to_py_err)?;
            AnySampler::Binary(cfg)
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown recall task {other:?}"
            )))
        }
    };
    Ok(sampler)
}

/// The fixed key -> value map of a `memorization` configuration, `[n_keys]`.
#[pyfunction]
fn recall_memorization_map<'py>(
    py: Python<'py>,
    params: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = Memorization::new(memorization_config(params)?).map_err(to_py_err)?;
    let map: Vec<i64> = m.map().iter().map(|&v| v as i64).collect();
    let n = map.len();
    to_numpy(py, map, &[n])
}
