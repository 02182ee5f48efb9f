//! Maximum-prefix encoding (WordPiece's inference rule without a continuation prefix): at
//! each position take the longest vocabulary token that is a prefix of the rest of the text.

use super::vocab::Vocab;
use super::Tokenizer;
use crate::error::{KleeneError, Result};

/// A maximum-prefix-encoding tokenizer. Every byte that occurs in a text must be a token.
#[derive(Clone, Debug)]
pub struct Mpe {
    vocab: Vocab,
}

impl Mpe {
    pub fn new(vocab: Vocab) -> Self {
        Mpe { vocab }
    }
}

/// Longest-match encoding of `text`, appended to `out`.
fn longest_match(vocab: &Vocab, text: &[u8], out: &mut Vec<u32>) -> Result<()> {
    let mut pos = 0;
    while pos < text.len() {
        let (id, len) = vocab.longest_prefix(&text[pos..]).ok_or_else(|| {
            KleeneError::invalid(
                "text",
                format!("byte {:#04x} at offset {pos} is not a token", text[pos]),
            )
        })?;
        out.push(id);
        pos += len;
    }
    Ok(())
}

impl Tokenizer for Mpe {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn encode(&self, text: &[u8]) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        longest_match(&self.vocab, text, &mut out)?;
        Ok(out)
    }

    /// A boundary more than `L - 1` bytes before the end never moves (`L` = longest token), so
    /// re-run the longest match from the first boundary inside that window and compare.
    fn extends(&self, context: &[u32], next: u32) -> bool {
        if self.vocab.is_special(next) {
            return false;
        }
        let window = self.vocab.max_len().saturating_sub(1);
        let mut start = context.len();
        let mut span = 0;
        while start > 0 {
            let len = self.vocab.bytes(context[start - 1]).len();
            if span + len > window {
                break;
            }
            span += len;
            start -= 1;
        }
        let mut text = Vec::with_capacity(span + self.vocab.bytes(next).len());
        for &id in &context[start..] {
            text.extend_from_slice(self.vocab.bytes(id));
        }
        text.extend_from_slice(self.vocab.bytes(next));
        let mut again = Vec::new();
        if longest_match(&self.vocab, &text, &mut again).is_err() {
            return false;
        }
        again.len() == context.len() - start + 1
            && again[..again.len() - 1] == context[start..]
            && again[again.len() - 1] == next
    }

    /// Phan et al.'s anchor: the token after boundary `j` can change under a continuation only
    /// if a longer token starts with the rest of the text after `j`; the first such boundary
    /// is the anchor.
    fn anchor(&self, text: &[u8]) -> Result<(usize, Vec<u32>)> {
        let tokens = self.encode(text)?;
        let mut start = 0;
        for (j, &id) in tokens.iter().enumerate() {
            let movable = self
                .vocab
                .walk(&text[start..])
                .is_some_and(|node| !self.vocab.children(node).is_empty());
            if movable {
                return Ok((start, tokens[..j].to_vec()));
            }
            start += self.vocab.bytes(id).len();
        }
        Ok((start, tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mpe(words: &[&str]) -> Mpe {
        let tokens: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let n = tokens.len();
        Mpe::new(Vocab::new(tokens, vec![false; n]).unwrap())
    }

    #[test]
    fn encodes_longest_match() {
        let t = mpe(&["a", "b", "ab", "abb", "ba"]);
        assert_eq!(t.encode(b"abbab").unwrap(), vec![3, 2]);
        assert_eq!(t.encode(b"bab").unwrap(), vec![4, 1]);
        assert!(t.encode(b"abc").is_err());
    }

    #[test]
    fn extends_equals_canonical_by_brute_force() {
        let t = mpe(&["a", "b", "ab", "abb", "ba", "bbb"]);
        // All token sequences of length <= 4: extendable iff canonical (prefix-closure).
        let mut seqs: Vec<Vec<u32>> = vec![vec![]];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &seqs {
                for id in 0..6u32 {
                    let mut longer = s.clone();
                    longer.push(id);
                    next.push(longer);
                }
            }
            for s in &next {
                let (ctx, last) = s.split_at(s.len() - 1);
                let canonical = |x: &[u32]| t.encode(&t.vocab.decode(x).unwrap()).unwrap() == x;
                if canonical(ctx) {
                    assert_eq!(t.extends(ctx, last[0]), canonical(s), "{s:?}");
                }
            }
            seqs = next;
        }
    }

    #[test]
    fn anchor_is_first_movable_boundary() {
        let t = mpe(&["a", "b", "ab", "abb", "ba"]);
        // "abab" = [ab, ab]; "ab" + "b" -> "abb": the last boundary moves, the first does not.
        let (pos, ctx) = t.anchor(b"abab").unwrap();
        assert_eq!((pos, ctx), (2, vec![2]));
        // "bb" = [b, b]; nothing starts with "bb" beyond it... "b" starts "ba".
        let (pos, _) = t.anchor(b"bb").unwrap();
        assert_eq!(pos, 1);
    }
}
