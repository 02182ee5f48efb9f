//! The `kleene._core` extension: thin PyO3 bindings over kleene-core.
//! One file per core module; each exports `init(m)`. No algorithms live here.

use pyo3::prelude::*;

mod automata;
mod cellular;
mod chomsky;
mod convert;
mod dyck;
mod grammars;
mod markov;
mod recall;
mod rows;
mod tokbias;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    markov::init(m)?;
    automata::init(m)?;
    recall::init(m)?;
    tokbias::init(m)?;
    cellular::init(m)?;
    grammars::init(m)?;
    chomsky::init(m)?;
    dyck::init(m)?;
    Ok(())
}

/// The thread count used when none is given: `KLEENE_NUM_THREADS` or the number of cores.
#[pyfunction]
fn default_threads() -> usize {
    kleene_core::pool::default_threads()
}

/// Panics on purpose (with the GIL released when `detached`), so that tests can check the
/// panic boundary: the call must raise RuntimeError, not abort.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, detached: bool) -> PyResult<()> {
    if detached {
        convert::run_detached(py, || -> kleene_core::Result<()> {
            panic!("deliberate test panic")
        })
    } else {
        convert::guard(|| -> PyResult<()> { panic!("deliberate test panic") })
    }
}
