//! kleene-core: fast, seedable samplers for research on sequence models over formal languages.
//!
//! Pure Rust, no Python. Every sampler follows the same contracts:
//! - item `i` of a stream is a pure function of (configuration, seed, i) via [`rng::item_rng`];
//! - configurations are validated before any allocation, and sizes are checked against
//!   [`limits::max_bytes`];
//! - batches are generated in parallel on a rayon pool chosen by [`pool::with_threads`].

pub mod automata;
pub mod cellular;
pub mod chomsky;
pub mod error;
pub mod grammars;
pub mod interrupt;
pub mod limits;
pub mod markov;
pub mod pool;
pub mod recall;
pub mod rng;
pub mod sampler;
pub mod tokbias;
pub mod token;

pub use error::{KleeneError, Result};
