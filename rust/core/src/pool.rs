//! Thread pools keyed by (process id, thread count).
//!
//! A rayon pool does not survive `fork()`: the child inherits the pool's bookkeeping but not its
//! threads. Keying pools by pid makes a forked DataLoader worker build a fresh pool on first
//! use instead of deadlocking; the parent's stale pool is leaked in the child, never joined.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

type PoolMap = HashMap<(u32, usize), Arc<ThreadPool>>;

fn pools() -> &'static Mutex<PoolMap> {
    static POOLS: OnceLock<Mutex<PoolMap>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
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

/// Runs `work` on the calling thread, inside a one-thread pool made of that thread, so that
/// rayon's parallel iterators run inline instead of spreading over the global pool (and
/// without the cost of handing the work to another thread).
fn with_current_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    thread_local! {
        // Leaked: one small pool per calling thread, never joined. It stays valid in a forked
        // child, whose only thread is the one that forked and thus the pool's only member
        // (rayon would refuse to build a second pool around the same thread).
        static OWN: Cell<Option<&'static ThreadPool>> = const { Cell::new(None) };
    }
    let pool = OWN.get().unwrap_or_else(|| {
        let pool: &'static ThreadPool = Box::leak(Box::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .use_current_thread()
                .build()
                .expect("building a one-thread rayon pool"),
        ));
        OWN.set(Some(pool));
        pool
    });
    pool.install(work)
}

/// Runs `work` on a pool of `threads` threads (`None` or 0: [`default_threads`]).
pub fn with_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> R {
    let n = threads.filter(|&n| n > 0).unwrap_or_else(default_threads);
    if n == 1 {
        return with_current_thread(work);
    }
    let key = (std::process::id(), n);
    let pool = {
        let mut map = pools().lock().unwrap_or_else(|e| e.into_inner());
        if map.keys().any(|(pid, _)| *pid != key.0) {
            // Forked child: forget (never join or drop) the parent's pools.
            for (_, stale) in map.drain() {
                std::mem::forget(stale);
            }
        }
        map.entry(key)
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
    };
    pool.install(work)
}
