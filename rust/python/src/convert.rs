//! Shared conversions: error mapping, panic guard, numpy output, dtype dispatch.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use kleene_core::KleeneError;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{Element, IntoPyArray};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// Maps a core error to a Python `ValueError` carrying the core's message.
pub fn to_py_err(e: KleeneError) -> PyErr {
    match e {
        KleeneError::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// The one panic boundary: a panic inside `work` becomes a `RuntimeError` saying it is a bug
/// in kleene, never an abort or a `PanicException`. Every binding entry point that calls into
/// the core goes through this (directly, or through [`run_detached`] / [`core_call`]).
pub fn guard<R>(work: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panic_error(&*panic)))
}

/// Runs a quick core call with the GIL held, mapping its error and any panic.
pub fn core_call<R>(work: impl FnOnce() -> kleene_core::Result<R>) -> PyResult<R> {
    guard(|| work().map_err(to_py_err))
}

fn panic_error(panic: &(dyn std::any::Any + Send)) -> PyErr {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    PyRuntimeError::new_err(format!(
        "kleene internal error (a bug in kleene; please report it): {msg}"
    ))
}

/// Runs `work` without the GIL, turning core errors into `ValueError` and any panic into a
/// `RuntimeError` (a Rust panic must never cross into Python).
pub fn run_detached<R: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> kleene_core::Result<R> + Send,
) -> PyResult<R> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(work))) {
        Ok(result) => result.map_err(to_py_err),
        Err(panic) => Err(panic_error(&*panic)),
    }
}

/// Runs a long core call on a worker thread while this thread checks the interpreter for
/// signals every 20 ms. On Ctrl-C the core's long loops are asked to stop (see
/// `kleene_core::interrupt`), and the signal handler's exception (`KeyboardInterrupt`) is
/// raised once the worker has returned. Used for calls whose length the input controls (long
/// cellular runs, chart parsing, prefix probabilities, regex compilation); panics are caught
/// as in [`run_detached`].
pub fn run_interruptible<R: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> kleene_core::Result<R> + Send,
) -> PyResult<R> {
    let done = (Mutex::new(false), Condvar::new());
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let out = catch_unwind(AssertUnwindSafe(work));
            *done.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            done.1.notify_all();
            out
        });
        let wait = || {
            let finished = done.0.lock().unwrap_or_else(|e| e.into_inner());
            let (finished, _) = done
                .1
                .wait_timeout_while(finished, Duration::from_millis(20), |d| !*d)
                .unwrap_or_else(|e| e.into_inner());
            *finished
        };
        let mut signal = None;
        while !py.detach(wait) {
            if let Err(e) = py.check_signals() {
                kleene_core::interrupt::request(true);
                signal = Some(e);
                break;
            }
        }
        let out = worker.join();
        if let Some(e) = signal {
            kleene_core::interrupt::request(false);
            return Err(e);
        }
        match out {
            Ok(Ok(result)) => result.map_err(to_py_err),
            Ok(Err(panic)) | Err(panic) => Err(panic_error(&*panic)),
        }
    })
}

/// Checks a caller's `threads` argument (None, or 1..=`MAX_THREADS`).
pub fn threads(threads: Option<usize>) -> PyResult<Option<usize>> {
    kleene_core::pool::check_threads(threads).map_err(to_py_err)?;
    Ok(threads)
}

/// Moves a flat vector into a numpy array of the given shape without copying.
pub fn to_numpy<'py, T: Element>(
    py: Python<'py>,
    data: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let array = ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| PyRuntimeError::new_err(format!("kleene internal shape error: {e}")))?;
    Ok(array.into_pyarray(py).into_any())
}

/// The token dtypes a caller may ask for.
#[derive(Clone, Copy)]
pub enum TokenDtype {
    U8,
    U16,
    I16,
    I32,
    I64,
}

impl TokenDtype {
    pub fn parse(name: &str) -> PyResult<Self> {
        Ok(match name {
            "uint8" => TokenDtype::U8,
            "uint16" => TokenDtype::U16,
            "int16" => TokenDtype::I16,
            "int32" => TokenDtype::I32,
            "int64" => TokenDtype::I64,
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid `dtype`: {other:?}; allowed: uint8, uint16, int16, int32, int64"
                )))
            }
        })
    }
}

/// Calls `$body` with `$t` bound to the Rust type of a `TokenDtype`.
#[macro_export]
macro_rules! with_token_type {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            $crate::convert::TokenDtype::U8 => {
                type $t = u8;
                $body
            }
            $crate::convert::TokenDtype::U16 => {
                type $t = u16;
                $body
            }
            $crate::convert::TokenDtype::I16 => {
                type $t = i16;
                $body
            }
            $crate::convert::TokenDtype::I32 => {
                type $t = i32;
                $body
            }
            $crate::convert::TokenDtype::I64 => {
                type $t = i64;
                $body
            }
        }
    };
}
