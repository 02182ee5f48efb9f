//! Cellular automata: elementary (1D, radius 1, two states) and Life-like (2D Moore, B/S rules).
//!
//! Both engines are bit-parallel: a row of cells is packed into `u64` words (cell `i` is bit
//! `i % 64` of word `i / 64`) and one generation is a boolean formula evaluated on whole words,
//! 64 cells at a time. Around them: rule metadata ([`rules`]), complexity measures
//! ([`measures`]), packing helpers ([`bits`]) and an animated-GIF writer ([`gif`]).

pub mod bits;
pub mod eca;
pub mod gif;
pub mod life;
pub mod measures;
pub mod rules;
pub mod tasks;
