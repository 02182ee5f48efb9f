//! Bindings for `kleene_core::tokbias`. The model is a Python callable, so these calls keep
//! the GIL (the model runs in Python anyway); panics are still caught.

use std::sync::{Arc, Mutex};

use kleene_core::tokbias::bpe::{Bpe, PreTokenizer};
use kleene_core::tokbias::cover::{CoverState, SYMBOLS};
use kleene_core::tokbias::model::{NextTokenModel, Options, Row, Values};
use kleene_core::tokbias::mpc::{mpc_distribution, naive_distribution};
use kleene_core::tokbias::mpe::Mpe;
use kleene_core::tokbias::vocab::Vocab;
use kleene_core::tokbias::{Reencode, Tokenizer};
use kleene_core::KleeneError;
use numpy::PyReadonlyArray2;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::convert::{to_numpy, to_py_err};

pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenizer>()?;
    m.add_class::<PyCoverState>()?;
    m.add_function(wrap_pyfunction!(tokbias_mpc, m)?)?;
    m.add_function(wrap_pyfunction!(tokbias_naive, m)?)?;
    Ok(())
}

/// A tokenizer model for tokenizer-bias correction: vocabulary as byte strings, encode,
/// validity oracle and prompt anchor.
#[pyclass(name = "TokbiasTokenizer", module = "kleene._core", frozen)]
pub struct PyTokenizer {
    inner: Arc<dyn Tokenizer>,
    kind: &'static str,
    /// The first exception a Python encoder raised (re-encoding tokenizers), raised again
    /// by the call that needed the encoder.
    encoder_err: Option<ErrSlot>,
}

type ErrSlot = Arc<Mutex<Option<PyErr>>>;

/// Raises the stored encoder exception, if any.
fn raise_encoder_error(slot: &Option<ErrSlot>) -> PyResult<()> {
    match slot.as_ref().and_then(|s| s.lock().ok()?.take()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn vocab(tokens: Vec<Vec<u8>>, special: Option<Vec<bool>>) -> PyResult<Vocab> {
    let special = special.unwrap_or_else(|| tokens.iter().map(|t| t.is_empty()).collect());
    guard(|| Vocab::new(tokens, special))
}

fn pretokenizer(name: Option<&str>) -> PyResult<PreTokenizer> {
    name.map_or(Ok(PreTokenizer::None), |n| {
        PreTokenizer::from_name(n).map_err(to_py_err)
    })
}

#[pymethods]
impl PyTokenizer {
    /// Maximum-prefix encoding over `tokens` (empty entries are special tokens).
    #[staticmethod]
    #[pyo3(signature = (tokens, special=None))]
    fn mpe(tokens: Vec<Vec<u8>>, special: Option<Vec<bool>>) -> PyResult<Self> {
        Ok(PyTokenizer {
            inner: Arc::new(Mpe::new(vocab(tokens, special)?)),
            kind: "mpe",
            encoder_err: None,
        })
    }

    /// BPE from an ordered merge list of (left id, right id).
    #[staticmethod]
    #[pyo3(signature = (tokens, merges, pretokenizer=None, special=None, ignore_merges=false))]
    fn bpe_merges(
        tokens: Vec<Vec<u8>>,
        merges: Vec<(u32, u32)>,
        pretokenizer: Option<&str>,
        special: Option<Vec<bool>>,
        ignore_merges: bool,
    ) -> PyResult<Self> {
        let pre = self::pretokenizer(pretokenizer)?;
        let vocab = vocab(tokens, special)?;
        let bpe = guard(|| Bpe::from_merges(vocab, &merges, pre, ignore_merges))?;
        Ok(PyTokenizer {
            inner: Arc::new(bpe),
            kind: "bpe",
            encoder_err: None,
        })
    }

    /// BPE from ranks (tiktoken): token id = rank.
    #[staticmethod]
    #[pyo3(signature = (tokens, pretokenizer=None, special=None, ignore_merges=false))]
    fn bpe_ranks(
        tokens: Vec<Vec<u8>>,
        pretokenizer: Option<&str>,
        special: Option<Vec<bool>>,
        ignore_merges: bool,
    ) -> PyResult<Self> {
        let pre = self::pretokenizer(pretokenizer)?;
        let vocab = vocab(tokens, special)?;
        let bpe = guard(|| Bpe::from_ranks(vocab, pre, ignore_merges))?;
        Ok(PyTokenizer {
            inner: Arc::new(bpe),
            kind: "bpe",
            encoder_err: None,
        })
    }

    /// SentencePiece-style BPE with byte fallback: merges over characters, `(byte, id)` pairs
    /// of the `<0xNN>` tokens.
    #[staticmethod]
    #[pyo3(signature = (tokens, merges, byte_fallback, special=None))]
    fn bpe_sentencepiece(
        tokens: Vec<Vec<u8>>,
        merges: Vec<(u32, u32)>,
        byte_fallback: Vec<(u8, u32)>,
        special: Option<Vec<bool>>,
    ) -> PyResult<Self> {
        let bpe = Bpe::sentencepiece(vocab(tokens, special)?, &merges, &byte_fallback)
            .map_err(to_py_err)?;
        Ok(PyTokenizer {
            inner: Arc::new(bpe),
            kind: "bpe",
            encoder_err: None,
        })
    }

    /// Any encoder `bytes -> list[int]`; validity by re-encoding.
    #[staticmethod]
    #[pyo3(signature = (tokens, encoder, special=None))]
    fn reencode(
        tokens: Vec<Vec<u8>>,
        encoder: Py<PyAny>,
        special: Option<Vec<bool>>,
    ) -> PyResult<Self> {
        let slot: ErrSlot = Arc::new(Mutex::new(None));
        let keep = slot.clone();
        let encode = move |text: &[u8]| -> kleene_core::Result<Vec<u32>> {
            Python::attach(|py| {
                encoder
                    .call1(py, (PyBytes::new(py, text),))
                    .and_then(|ids| ids.extract::<Vec<u32>>(py))
                    .map_err(|e| {
                        let msg = e.to_string();
                        if let Ok(mut first) = keep.lock() {
                            first.get_or_insert(e);
                        }
                        KleeneError::invalid("encoder", msg)
                    })
            })
        };
        Ok(PyTokenizer {
            inner: Arc::new(Reencode::new(vocab(tokens, special)?, encode)),
            kind: "reencode",
            encoder_err: Some(slot),
        })
    }

    /// "mpe", "bpe" or "reencode".
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab().len()
    }

    #[getter]
    fn max_token_len(&self) -> usize {
        self.inner.vocab().max_len()
    }

    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyBytes>> {
        self.inner.vocab().check_id(id, "id").map_err(to_py_err)?;
        Ok(PyBytes::new(py, self.inner.vocab().bytes(id)))
    }

    fn encode(&self, text: &[u8]) -> PyResult<Vec<u32>> {
        let out = guard(|| self.inner.encode(text));
        raise_encoder_error(&self.encoder_err)?;
        out
    }

    fn decode<'py>(&self, py: Python<'py>, ids: Vec<u32>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.inner.vocab().decode(&ids).map_err(to_py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Whether `context + [next]` can be a prefix of a canonical encoding (`context` valid).
    fn extends(&self, context: Vec<u32>, next: u32) -> PyResult<bool> {
        let vocab = self.inner.vocab();
        for &id in context.iter().chain([next].iter()) {
            vocab.check_id(id, "context").map_err(to_py_err)?;
        }
        let out = guard(|| Ok(self.inner.extends(&context, next)));
        raise_encoder_error(&self.encoder_err)?;
        out
    }

    /// `(offset, encode(text[:offset]))`: the boundary no continuation of `text` can move.
    fn anchor(&self, text: &[u8]) -> PyResult<(usize, Vec<u32>)> {
        guard(|| self.inner.anchor(text))
    }
}

/// Runs `work` inside the shared panic boundary; core errors become ValueError.
fn guard<R>(work: impl FnOnce() -> kleene_core::Result<R>) -> PyResult<R> {
    crate::convert::core_call(work)
}

/// The Python model callable seen as a core model; keeps the first Python error it meets.
struct PyModel<'py> {
    f: Bound<'py, PyAny>,
    err: Option<PyErr>,
}

impl NextTokenModel for PyModel<'_> {
    fn next_probs(
        &mut self,
        contexts: &[Vec<u32>],
        sink: &mut dyn FnMut(usize, Box<dyn Row>) -> kleene_core::Result<()>,
    ) -> kleene_core::Result<()> {
        let py = self.f.py();
        let called = (|| -> PyResult<Vec<Box<dyn Row>>> {
            let batch = PyList::empty(py);
            for c in contexts {
                batch.append(PyList::new(py, c)?)?;
            }
            let out = self.f.call1((batch,))?;
            match out.extract::<PyReadonlyArray2<'_, f32>>() {
                Ok(arr) => Ok(rows_in_place(&out, &arr)),
                Err(_) => Ok(rows_in_place(
                    &out,
                    &out.extract::<PyReadonlyArray2<'_, f64>>()?,
                )),
            }
        })();
        let rows = match called {
            Ok(rows) => rows,
            Err(e) => {
                let msg = e.to_string();
                self.err.get_or_insert(e);
                return Err(KleeneError::invalid("model", msg));
            }
        };
        if rows.len() != contexts.len() {
            return Err(KleeneError::invalid(
                "model",
                format!(
                    "returned {} rows for {} contexts",
                    rows.len(),
                    contexts.len()
                ),
            ));
        }
        for (i, row) in rows.into_iter().enumerate() {
            sink(i, row)?;
        }
        Ok(())
    }
}

/// The rows of the model's `[B, V]` output, read in place when the array is C-contiguous (the
/// usual case), copied otherwise.
fn rows_in_place<T>(owner: &Bound<'_, PyAny>, arr: &PyReadonlyArray2<'_, T>) -> Vec<Box<dyn Row>>
where
    T: numpy::Element + Copy + Send + Sync + 'static,
    NumpyRow<T>: Row,
    Vec<T>: Row,
{
    let view = arr.as_array();
    let (n, width) = view.dim();
    match arr.as_slice() {
        Ok(all) if all.as_ptr().align_offset(std::mem::align_of::<T>()) == 0 => (0..n)
            .map(|i| {
                let row = &all[i * width..(i + 1) * width];
                Box::new(NumpyRow {
                    _owner: owner.clone().unbind(),
                    ptr: row.as_ptr(),
                    len: width,
                }) as Box<dyn Row>
            })
            .collect(),
        _ => view
            .rows()
            .into_iter()
            .map(|row| Box::new(row.to_vec()) as Box<dyn Row>)
            .collect(),
    }
}

/// One row of a numpy array the model returned, read without a copy. Holding the array keeps
/// its buffer alive; like the wrapper's cache, this relies on the model not writing into an
/// array after returning it (documented on `ByteLM`).
struct NumpyRow<T> {
    _owner: Py<PyAny>,
    ptr: *const T,
    len: usize,
}

// SAFETY: the pointer is into the buffer of `_owner`, which is alive as long as the row and
// only ever read through it.
unsafe impl<T: Sync> Send for NumpyRow<T> {}
unsafe impl<T: Sync> Sync for NumpyRow<T> {}

impl<T> NumpyRow<T> {
    fn slice(&self) -> &[T] {
        // SAFETY: `ptr..ptr + len` lies in the live, aligned buffer of `_owner` (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Row for NumpyRow<f64> {
    fn values(&self) -> Values<'_> {
        Values::F64(self.slice())
    }
}

impl Row for NumpyRow<f32> {
    fn values(&self) -> Values<'_> {
        Values::F32(self.slice())
    }
}

/// Runs `work` with the model, raising the model's own Python error first.
fn with_model<'py, R>(
    model: &Bound<'py, PyAny>,
    work: impl FnOnce(&mut PyModel<'py>) -> kleene_core::Result<R>,
) -> PyResult<R> {
    let mut m = PyModel {
        f: model.clone(),
        err: None,
    };
    let outcome = crate::convert::core_call(|| work(&mut m));
    if let Some(e) = m.err.take() {
        return Err(e);
    }
    outcome
}

fn options(
    tok: &PyTokenizer,
    eos: Option<u32>,
    mask_invalid: bool,
    beam: usize,
    threshold: f64,
    row_tolerance: Option<f64>,
) -> PyResult<Options> {
    if let Some(e) = eos {
        tok.inner.vocab().check_id(e, "eos").map_err(to_py_err)?;
    }
    if let Some(t) = row_tolerance.filter(|t| t.is_nan() || *t < 0.0) {
        return Err(PyValueError::new_err(format!(
            "invalid `row_tolerance`: {t}; must be >= 0 (None = no check)"
        )));
    }
    Ok(Options {
        eos,
        mask_invalid,
        beam,
        threshold,
        row_tolerance: row_tolerance.unwrap_or(f64::INFINITY),
    })
}

/// Incremental cover state of a text: exact next-byte distribution, one model call per byte.
#[pyclass(name = "TokbiasCoverState", module = "kleene._core")]
pub struct PyCoverState {
    inner: CoverState,
    encoder_err: Option<ErrSlot>,
}

#[pymethods]
impl PyCoverState {
    #[new]
    #[pyo3(signature = (tokenizer, model, prompt, *, eos=None, mask_invalid=false, beam=0, threshold=0.0, row_tolerance=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tokenizer: &PyTokenizer,
        model: &Bound<'_, PyAny>,
        prompt: &[u8],
        eos: Option<u32>,
        mask_invalid: bool,
        beam: usize,
        threshold: f64,
        row_tolerance: Option<f64>,
    ) -> PyResult<Self> {
        let opts = options(tokenizer, eos, mask_invalid, beam, threshold, row_tolerance)?;
        let tok = tokenizer.inner.clone();
        let inner = with_model(model, |m| CoverState::new(tok, opts, m, prompt));
        raise_encoder_error(&tokenizer.encoder_err)?;
        Ok(PyCoverState {
            inner: inner?,
            encoder_err: tokenizer.encoder_err.clone(),
        })
    }

    /// Next-symbol probabilities [257] (float64): bytes 0..255, then end-of-string.
    fn distribution<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = guard(|| self.inner.distribution())?;
        to_numpy(py, d, &[SYMBOLS])
    }

    /// Appends one byte (calls the model for the new contexts).
    fn advance(&mut self, model: &Bound<'_, PyAny>, byte: u8) -> PyResult<()> {
        let inner = &mut self.inner;
        let out = with_model(model, |m| inner.advance(m, byte));
        raise_encoder_error(&self.encoder_err)?;
        out
    }

    #[getter]
    fn log_mass(&self) -> f64 {
        self.inner.log_mass()
    }

    #[getter]
    fn dropped_mass(&self) -> f64 {
        self.inner.dropped_mass()
    }

    #[getter]
    fn calls(&self) -> usize {
        self.inner.calls()
    }

    #[getter]
    fn anchor(&self) -> usize {
        self.inner.anchor()
    }

    #[getter]
    fn invalid_mass(&self) -> f64 {
        self.inner.invalid_mass()
    }

    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.text())
    }

    #[getter]
    fn num_groups(&self) -> usize {
        self.inner.num_groups()
    }

    /// Every cover with its probability relative to `exp(log_mass)`.
    fn covers(&self) -> Vec<(Vec<u32>, f64)> {
        self.inner.cover_masses()
    }
}

/// Maximum Prefix Correction: (next-symbol probabilities [257], model calls).
#[pyfunction]
#[pyo3(signature = (tokenizer, model, prompt, *, eos=None, mask_invalid=false, row_tolerance=None))]
fn tokbias_mpc<'py>(
    py: Python<'py>,
    tokenizer: &PyTokenizer,
    model: &Bound<'py, PyAny>,
    prompt: &[u8],
    eos: Option<u32>,
    mask_invalid: bool,
    row_tolerance: Option<f64>,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    if tokenizer.kind != "mpe" {
        return Err(PyValueError::new_err(format!(
            "invalid `tokenizer`: MPC needs a maximum-prefix (mpe) tokenizer, got {}",
            tokenizer.kind
        )));
    }
    let opts = options(tokenizer, eos, mask_invalid, 0, 0.0, row_tolerance)?;
    let tok = tokenizer.inner.as_ref();
    let out = with_model(model, |m| mpc_distribution(tok, &opts, m, prompt));
    raise_encoder_error(&tokenizer.encoder_err)?;
    let (d, calls) = out?;
    Ok((to_numpy(py, d, &[SYMBOLS])?, calls))
}

/// Naive token prompting: next-symbol probabilities [257] read off encode(prompt).
#[pyfunction]
#[pyo3(signature = (tokenizer, model, prompt, *, eos=None, mask_invalid=false, row_tolerance=None))]
fn tokbias_naive<'py>(
    py: Python<'py>,
    tokenizer: &PyTokenizer,
    model: &Bound<'py, PyAny>,
    prompt: &[u8],
    eos: Option<u32>,
    mask_invalid: bool,
    row_tolerance: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = options(tokenizer, eos, mask_invalid, 0, 0.0, row_tolerance)?;
    let tok = tokenizer.inner.as_ref();
    let out = with_model(model, |m| naive_distribution(tok, &opts, m, prompt));
    raise_encoder_error(&tokenizer.encoder_err)?;
    let d = out?;
    to_numpy(py, d, &[SYMBOLS])
}
