//! Regular languages: a DFA engine (regex compilation, minimisation, algebra, canonical form),
//! counting and samplers, and random automata (REGBENCH and uniform families).

pub mod count;
pub mod dfa;
pub mod dyck;
pub mod random;
pub mod regex;
pub mod sample;
pub mod uniform;
pub mod walk;

pub use count::{count, Count, CountTable};
pub use dfa::{Dfa, ProductOp, NONE};
pub use regex::{compile as compile_regex, DEFAULT_REGEX_DFA_STATES};
