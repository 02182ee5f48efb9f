//! Thread pools per (process, thread count), safe across `fork()`.
//!
//! A rayon pool does not survive `fork()`: the child inherits the pool's bookkeeping but not its
//! threads. Worse, a lock held by another parent thread at the moment of the fork stays locked
//! forever in the child. So no lock is shared across processes: the registry of pools is
//! reached through an atomic pointer and tagged with the pid that built it. A forked child sees
//! a foreign pid, builds a fresh registry (with a fresh lock) and swaps it in with a
//! compare-and-swap; the parent's registry, pools and possibly-held lock are leaked in the
//! child, never touched, joined or dropped.

use std::cell::Cell;
use std::collections::HashMap;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::ThreadPool;

use crate::error::{KleeneError, Result};

/// Largest thread count a caller may ask for.
pub const MAX_THREADS: usize = 4096;

/// The pools of one process.
struct Registry {
    pid: u32,
    pools: Mutex<HashMap<usize, Arc<ThreadPool>>>,
}

static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(null_mut());

/// This process's registry, built on first use and again after a fork.
fn registry() -> &'static Registry {
    let pid = std::process::id();
    loop {
        let current = REGISTRY.load(Ordering::Acquire);
        // SAFETY: the pointer is null or comes from `Box::into_raw` below and is never freed.
        if let Some(r) = unsafe { current.as_ref() } {
            if r.pid == pid {
                return r;
            }
        }
        let fresh = Box::into_raw(Box::new(Registry {
            pid,
            pools: Mutex::new(HashMap::new()),
        }));
        match REGISTRY.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // The parent's registry (if any) is leaked on purpose.
            // SAFETY: `fresh` was just published and is never freed.
            Ok(_) => return unsafe { &*fresh },
            // Another thread of this process won the race: drop ours and use theirs.
            // SAFETY: `fresh` was never published.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// Checks a caller's thread count: `None` (the default) or 1..=[`MAX_THREADS`].
pub fn check_threads(threads: Option<usize>) -> Result<()> {
    match threads {
        Some(n) if !(1..=MAX_THREADS).contains(&n) => Err(KleeneError::invalid(
            "threads",
            format!("must be in 1..={MAX_THREADS} (or None for the default), got {n}"),
        )),
        _ => Ok(()),
    }
}

/// The default thread count: `KLEENE_NUM_THREADS` if set to a positive integer, else the
/// number of available cores.
pub fn default_threads() -> usize {
    std::env::var("KLEENE_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// One-thread pools made of their calling thread so far (see [`with_current_thread`]).
static OWN_POOLS: AtomicUsize = AtomicUsize::new(0);

/// How many calling threads may get a pool of their own. rayon cannot free a pool built
/// around the current thread (it leaks the thread's worker state, a few KiB), so such pools
/// are for long-lived threads only: a thread gets one on its second call, and at most this
/// many threads ever do.
const MAX_OWN_POOLS: usize = 64;

thread_local! {
    // Leaked: one small pool per calling thread, never joined. It stays valid in a forked
    // child, whose only thread is the one that forked and thus the pool's only member (rayon
    // would refuse to build a second pool around the same thread).
    static OWN: Cell<Option<&'static ThreadPool>> = const { Cell::new(None) };
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Runs `work` on the calling thread, inside a one-thread pool made of that thread, so that
/// rayon's parallel iterators run inline instead of spreading over the global pool (and
/// without the cost of handing the work to another thread). A thread's first call, and every
/// call past [`MAX_OWN_POOLS`] such threads, runs on a pool of one fresh thread that is freed
/// afterwards: a caller that starts a thread per call (as a binding that runs each call on a
/// worker thread does) must not leak a pool per call.
fn with_current_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if let Some(pool) = OWN.get() {
        return pool.install(work);
    }
    let calls = CALLS.get().saturating_add(1);
    CALLS.set(calls);
    if calls < 2 || OWN_POOLS.fetch_add(1, Ordering::Relaxed) >= MAX_OWN_POOLS {
        return rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("building a one-thread rayon pool")
            .install(work);
    }
    let pool: &'static ThreadPool = Box::leak(Box::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .expect("building a one-thread rayon pool"),
    ));
    OWN.set(Some(pool));
    pool.install(work)
}

/// This process's pool of `n` threads, built on first use.
fn shared_pool(n: usize) -> Arc<ThreadPool> {
    let mut map = registry().pools.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(n)
        .or_insert_with(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("kleene-{i}"))
                    .build()
                    .expect("building a rayon pool"),
            )
        })
        .clone()
}

/// The thread count [`with_threads`] runs on for a caller's `threads`.
pub fn resolve_threads(threads: Option<usize>) -> usize {
    threads
        .filter(|&n| n > 0)
        .unwrap_or_else(default_threads)
        .min(MAX_THREADS)
}

/// Runs `work` on a pool of `threads` threads (`None` or 0: [`default_threads`]; capped at
/// [`MAX_THREADS`]; callers validate user input with [`check_threads`]).
pub fn with_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> R {
    let n = resolve_threads(threads);
    if n == 1 {
        return with_current_thread(work);
    }
    shared_pool(n).install(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_threads_build_no_pool_of_their_own() {
        // Threads that call once run on a temporary pool (nothing leaked); parallel iterators
        // inside still see one thread. A thread that calls again gets its own pool.
        use rayon::prelude::*;
        let one_thread = || {
            with_threads(Some(1), || {
                (0..100)
                    .into_par_iter()
                    .map(|_| rayon::current_num_threads())
                    .max()
            })
        };
        let has_own = || OWN.get().is_some();
        for _ in 0..20 {
            let once = std::thread::spawn(move || (one_thread(), has_own()));
            assert_eq!(once.join().unwrap(), (Some(1), false));
        }
        let twice = std::thread::spawn(move || (one_thread(), one_thread(), has_own()));
        let (a, b, own) = twice.join().unwrap();
        assert_eq!((a, b), (Some(1), Some(1)));
        // (unless 64 other threads of this test process got there first)
        assert!(own || OWN_POOLS.load(Ordering::Relaxed) > MAX_OWN_POOLS);
    }

    #[test]
    fn thread_counts_are_checked() {
        assert!(check_threads(None).is_ok());
        assert!(check_threads(Some(1)).is_ok());
        assert!(check_threads(Some(MAX_THREADS)).is_ok());
        assert!(check_threads(Some(0)).is_err());
        assert!(check_threads(Some(MAX_THREADS + 1)).is_err());
    }
}
