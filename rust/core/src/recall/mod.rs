//! Recall, copying and in-context function tasks.
//!
//! Every task is a [`RowSampler`] (see [`crate::sampler`]): a validated configuration that
//! fills one item from that item's own generator; [`generate`] is the shared driver.

pub mod binary;
pub mod boolean;
pub mod copying;
pub mod fuzzy;
pub mod induction;
pub mod mad;
pub mod mqar;
pub mod sampling;

use crate::error::Result;

pub use crate::sampler::{generate, Dice, Row, RowSampler, RowShape, Scratch, SeqBatch, IGNORE};

/// Any recall-family sampler, for callers that pick the task at run time.
pub enum AnySampler {
    Mqar(mqar::Mqar),
    Recall(mad::RecallConfig),
    Memorization(mad::Memorization),
    Compression(mad::CompressionConfig),
    Copying(copying::CopyingConfig),
    Fuzzy(fuzzy::FuzzyConfig),
    Induction(induction::InductionConfig),
    AssocRecall(induction::AssocRecallConfig),
    Boolean(boolean::BooleanConfig),
    Gotu(boolean::Gotu),
    Binary(binary::BinaryConfig),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            AnySampler::Mqar($s) => $body,
            AnySampler::Recall($s) => $body,
            AnySampler::Memorization($s) => $body,
            AnySampler::Compression($s) => $body,
            AnySampler::Copying($s) => $body,
            AnySampler::Fuzzy($s) => $body,
            AnySampler::Induction($s) => $body,
            AnySampler::AssocRecall($s) => $body,
            AnySampler::Boolean($s) => $body,
            AnySampler::Gotu($s) => $body,
            AnySampler::Binary($s) => $body,
        }
    };
}

impl RowSampler for AnySampler {
    fn vocab_size(&self) -> usize {
        delegate!(self, s => s.vocab_size())
    }

    fn shape(&self) -> RowShape {
        delegate!(self, s => s.shape())
    }

    fn fill(&self, dice: &mut Dice, scratch: &mut Scratch, row: Row<'_>) {
        delegate!(self, s => s.fill(dice, scratch, row))
    }
}

/// Shorthand for a parameter check.
pub(crate) fn check(ok: bool, name: &str, message: impl FnOnce() -> String) -> Result<()> {
    crate::error::ensure(ok, name, message)
}
