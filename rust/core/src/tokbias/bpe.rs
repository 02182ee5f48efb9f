//! Byte-pair encoding from a merge list or from ranks (tiktoken style), optionally behind a
//! regex pre-tokenizer (GPT-2, cl100k, o200k, Llama 3, Qwen2).
//!
//! Validity of `context + [next]`:
//! - pure BPE is prefix-closed, and a sequence is canonical iff every token is reachable (BPE
//!   of its own bytes returns it) and every adjacent pair is canonical (BPE of the two tokens'
//!   bytes returns exactly the pair); the pair test is cached;
//! - behind the pre-tokenizer, a look-ahead can split a whitespace run differently depending on
//!   what follows, which breaks prefix-closure. The oracle then accepts a pair also when some
//!   continuation can put a piece boundary between the two tokens. It over-approximates
//!   "extendable" (an ideal model gives the extra sequences probability 0, so exactness holds)
//!   and never rejects an extendable sequence. For the other presets the same question is
//!   answered from the two characters at the join ([`PreTokenizer::boundary_possible`]).
//! - `ignore_merges` (tiktoken, Llama 3): a piece that is itself a token is emitted whole, so
//!   a token that merges cannot build is still reachable as a whole piece.

use std::collections::HashMap;
use std::sync::Mutex;

pub use super::pretok::PreTokenizer;
use super::pretok::{complete_prefix_len, gpt2_piece_starts};
use super::vocab::Vocab;
use super::Tokenizer;
use crate::error::{ensure, KleeneError, Result};

const NONE: u32 = u32::MAX;
/// Tokens of context read when deciding whether a piece boundary can fall before the next.
const CONTEXT_TOKENS: usize = 3;
/// Pair verdicts kept before the cache is cleared (about 100 MB at most).
const MAX_CACHED_PAIRS: usize = 4 << 20;

/// Continuations probed for a piece boundary: one of each character class the GPT-2 pattern
/// tells apart, plus the letters that complete contractions.
const PROBES: &[&[u8]] = &[
    b"", b"a", b"1", b" ", b"\n", b"!", b"'", b"s", b"d", b"m", b"t", b"l", b"v", b"r", b"e",
];

/// How a piece becomes the symbols the merges start from.
#[derive(Debug)]
enum Init {
    /// One symbol per byte (byte-level BPE): the smallest id of each single-byte token.
    Bytes([u32; 256]),
    /// One symbol per character that is a token, else one `<0xNN>` byte-fallback token per
    /// byte of the character (SentencePiece-style BPE).
    Chars {
        chars: HashMap<Vec<u8>, u32>,
        fallback: [u32; 256],
    },
}

/// A byte-pair-encoding tokenizer.
#[derive(Debug)]
pub struct Bpe {
    vocab: Vocab,
    /// (left, right) -> (rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    init: Init,
    reachable: Vec<bool>,
    pretok: PreTokenizer,
    ignore_merges: bool,
    /// Token bytes -> id, for the whole-piece lookup of `ignore_merges`.
    index: HashMap<Vec<u8>, u32>,
    pairs: Mutex<HashMap<(u32, u32), bool>>,
}

impl Bpe {
    /// BPE from an ordered merge list (rank = position); each merge's result must be a token.
    pub fn from_merges(
        vocab: Vocab,
        merges: &[(u32, u32)],
        pretok: PreTokenizer,
        ignore_merges: bool,
    ) -> Result<Self> {
        let index = byte_index(&vocab);
        let mut table = HashMap::with_capacity(merges.len());
        for (rank, &(l, r)) in merges.iter().enumerate() {
            vocab.check_id(l, "merges")?;
            vocab.check_id(r, "merges")?;
            let mut joined = vocab.bytes(l).to_vec();
            joined.extend_from_slice(vocab.bytes(r));
            let merged = *index.get(&joined).ok_or_else(|| {
                KleeneError::invalid(
                    "merges",
                    format!("merge {rank} ({l}, {r}) gives bytes that are not a token"),
                )
            })?;
            table.entry((l, r)).or_insert((rank as u32, merged));
        }
        Self::build(vocab, table, pretok, ignore_merges, index, None)
    }

    /// SentencePiece-style BPE with byte fallback: merges (rank = position) over characters;
    /// a character that is no token becomes the byte-fallback tokens of its UTF-8 bytes
    /// (`fallback` = (byte, id) pairs, ids whose bytes are that one byte). No pre-tokenizer:
    /// the text (with spaces for SentencePiece's `▁`) is one piece.
    pub fn sentencepiece(
        vocab: Vocab,
        merges: &[(u32, u32)],
        fallback: &[(u8, u32)],
    ) -> Result<Self> {
        let mut table = [NONE; 256];
        for &(b, id) in fallback {
            vocab.check_id(id, "byte_fallback")?;
            ensure(vocab.bytes(id) == [b], "byte_fallback", || {
                format!("token {id} does not decode to the byte {b:#04x}")
            })?;
            table[b as usize] = id;
        }
        let is_fallback = |id: u32| table[vocab.bytes(id)[0] as usize] == id;
        let mut chars = HashMap::new();
        for &id in vocab.sorted() {
            let bytes = vocab.bytes(id);
            let one_char = std::str::from_utf8(bytes).is_ok_and(|s| s.chars().count() == 1);
            if one_char && !(bytes.len() == 1 && is_fallback(id)) {
                chars.entry(bytes.to_vec()).or_insert(id);
            }
        }
        let mut merged = Vec::with_capacity(merges.len());
        let index = char_merge_index(&vocab, &table);
        for (rank, &(l, r)) in merges.iter().enumerate() {
            vocab.check_id(l, "merges")?;
            vocab.check_id(r, "merges")?;
            let mut joined = vocab.bytes(l).to_vec();
            joined.extend_from_slice(vocab.bytes(r));
            let id = *index.get(&joined).ok_or_else(|| {
                KleeneError::invalid(
                    "merges",
                    format!("merge {rank} ({l}, {r}) gives bytes that are not a token"),
                )
            })?;
            merged.push(((l, r), (rank as u32, id)));
        }
        let mut map = HashMap::with_capacity(merged.len());
        for (pair, v) in merged {
            map.entry(pair).or_insert(v);
        }
        let init = Init::Chars {
            chars,
            fallback: table,
        };
        Self::build(
            vocab,
            map,
            PreTokenizer::None,
            false,
            HashMap::new(),
            Some(init),
        )
    }

    /// BPE from ranks (tiktoken): the rank of a token is its id, and any two adjacent tokens
    /// whose bytes join into a token merge with that token's rank.
    pub fn from_ranks(vocab: Vocab, pretok: PreTokenizer, ignore_merges: bool) -> Result<Self> {
        let index = byte_index(&vocab);
        let mut table = HashMap::new();
        for &id in vocab.sorted() {
            let bytes = vocab.bytes(id);
            for k in 1..bytes.len() {
                if let (Some(&l), Some(&r)) = (index.get(&bytes[..k]), index.get(&bytes[k..])) {
                    table.entry((l, r)).or_insert((id, id));
                }
            }
        }
        Self::build(vocab, table, pretok, ignore_merges, index, None)
    }

    fn build(
        vocab: Vocab,
        merges: HashMap<(u32, u32), (u32, u32)>,
        pretok: PreTokenizer,
        ignore_merges: bool,
        index: HashMap<Vec<u8>, u32>,
        init: Option<Init>,
    ) -> Result<Self> {
        let init = init.unwrap_or_else(|| {
            let mut byte_ids = [NONE; 256];
            for &id in vocab.sorted().iter().rev() {
                if let [b] = vocab.bytes(id) {
                    byte_ids[*b as usize] = id;
                }
            }
            Init::Bytes(byte_ids)
        });
        let mut bpe = Bpe {
            vocab,
            merges,
            init,
            reachable: Vec::new(),
            pretok,
            ignore_merges,
            index: if ignore_merges { index } else { HashMap::new() },
            pairs: Mutex::new(HashMap::new()),
        };
        // With `ignore_merges` every token is reachable as a whole piece (only its smallest
        // id when bytes repeat); an over-approximation where no piece can equal the token.
        bpe.reachable = (0..bpe.vocab.len() as u32)
            .map(|id| {
                !bpe.vocab.is_special(id)
                    && (bpe.merge_ids(bpe.vocab.bytes(id)).ok().as_deref() == Some(&[id][..])
                        || bpe.index.get(bpe.vocab.bytes(id)) == Some(&id))
            })
            .collect();
        Ok(bpe)
    }

    /// Whether BPE of the token's own bytes returns the token.
    pub fn is_reachable(&self, id: u32) -> bool {
        self.reachable.get(id as usize).copied().unwrap_or(false)
    }

    /// BPE of one piece: the whole piece if it is a token and `ignore_merges` is set,
    /// otherwise the merges.
    fn merge_piece(&self, piece: &[u8]) -> Result<Vec<u32>> {
        if self.ignore_merges {
            if let Some(&id) = self.index.get(piece) {
                return Ok(vec![id]);
            }
        }
        self.merge_ids(piece)
    }

    /// Applies the lowest-rank merge (leftmost on ties) until none applies.
    fn merge_ids(&self, piece: &[u8]) -> Result<Vec<u32>> {
        let mut ids = self.initial(piece)?;
        loop {
            let mut best: Option<(u32, usize, u32)> = None;
            for i in 0..ids.len().saturating_sub(1) {
                if let Some(&(rank, merged)) = self.merges.get(&(ids[i], ids[i + 1])) {
                    if best.is_none_or(|(r, _, _)| rank < r) {
                        best = Some((rank, i, merged));
                    }
                }
            }
            match best {
                Some((_, i, merged)) => {
                    ids[i] = merged;
                    ids.remove(i + 1);
                }
                None => return Ok(ids),
            }
        }
    }

    /// The symbols the merges start from.
    fn initial(&self, piece: &[u8]) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(piece.len());
        let byte = |table: &[u32; 256], pos: usize| {
            let (b, id) = (piece[pos], table[piece[pos] as usize]);
            ensure(id != NONE, "text", || {
                format!("byte {b:#04x} at offset {pos} is not a token")
            })
            .map(|_| id)
        };
        match &self.init {
            Init::Bytes(table) => {
                for pos in 0..piece.len() {
                    ids.push(byte(table, pos)?);
                }
            }
            Init::Chars { chars, fallback } => {
                let mut pos = 0;
                for chunk in piece.utf8_chunks() {
                    for c in chunk.valid().chars() {
                        let end = pos + c.len_utf8();
                        match chars.get(&piece[pos..end]) {
                            Some(&id) => ids.push(id),
                            None => {
                                for p in pos..end {
                                    ids.push(byte(fallback, p)?);
                                }
                            }
                        }
                        pos = end;
                    }
                    for _ in chunk.invalid() {
                        ids.push(byte(fallback, pos)?);
                        pos += 1;
                    }
                }
            }
        }
        Ok(ids)
    }

    /// The pre-tokenizer in front of the merges.
    pub fn pretokenizer(&self) -> PreTokenizer {
        self.pretok
    }

    fn pieces(&self, text: &[u8]) -> Result<Vec<usize>> {
        self.pretok.piece_starts(text)
    }

    /// Tokens of `text` split at `starts` (piece by piece).
    fn encode_pieces(&self, text: &[u8], starts: &[usize], end: usize) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        for (k, &a) in starts.iter().enumerate() {
            let b = starts.get(k + 1).copied().unwrap_or(end);
            out.extend(self.merge_piece(&text[a..b])?);
        }
        Ok(out)
    }

    /// `[l, r]` can be adjacent in an extendable sequence: BPE of their bytes returns exactly
    /// the pair, or (behind the GPT-2 pre-tokenizer) a piece boundary may fall between them.
    /// Cached per pair.
    fn pair_allowed(&self, l: u32, r: u32) -> bool {
        if let Some(&ok) = self.pairs.lock().unwrap().get(&(l, r)) {
            return ok;
        }
        let mut joined = self.vocab.bytes(l).to_vec();
        joined.extend_from_slice(self.vocab.bytes(r));
        // The regex presets decide the boundary in `extends`, from the context's last bytes.
        let ok = self.merge_ids(&joined).ok().as_deref() == Some(&[l, r][..])
            || (self.pretok == PreTokenizer::Gpt2 && self.boundary_possible(l, r));
        let mut pairs = self.pairs.lock().unwrap();
        if pairs.len() >= MAX_CACHED_PAIRS {
            pairs.clear(); // bounded memory: masking visits every token per new last token
        }
        pairs.insert((l, r), ok);
        ok
    }

    /// Some continuation puts a piece boundary between `l` and `r`.
    fn boundary_possible(&self, l: u32, r: u32) -> bool {
        let cut = self.vocab.bytes(l).len();
        let mut text = self.vocab.bytes(l).to_vec();
        text.extend_from_slice(self.vocab.bytes(r));
        let base = text.len();
        PROBES.iter().any(|probe| {
            text.truncate(base);
            text.extend_from_slice(probe);
            gpt2_piece_starts(&text).contains(&cut)
        })
    }
}

/// Map from token bytes to the smallest id with those bytes, byte-fallback ids left out.
fn char_merge_index(vocab: &Vocab, fallback: &[u32; 256]) -> HashMap<Vec<u8>, u32> {
    let mut index = HashMap::with_capacity(vocab.len());
    for &id in vocab.sorted() {
        let bytes = vocab.bytes(id);
        if !(bytes.len() == 1 && fallback[bytes[0] as usize] == id) {
            index.entry(bytes.to_vec()).or_insert(id);
        }
    }
    index
}

/// Map from token bytes to the smallest id with those bytes.
fn byte_index(vocab: &Vocab) -> HashMap<Vec<u8>, u32> {
    let mut index = HashMap::with_capacity(vocab.len());
    for &id in vocab.sorted() {
        index.entry(vocab.bytes(id).to_vec()).or_insert(id);
    }
    index
}

impl Tokenizer for Bpe {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn encode(&self, text: &[u8]) -> Result<Vec<u32>> {
        let starts = self.pieces(text)?;
        self.encode_pieces(text, &starts, text.len())
    }

    fn extends(&self, context: &[u32], next: u32) -> bool {
        if !self.is_reachable(next) {
            return false;
        }
        let Some(&last) = context.last() else {
            return true;
        };
        if self.pair_allowed(last, next) {
            return true;
        }
        match self.pretok {
            PreTokenizer::None | PreTokenizer::Gpt2 => false,
            pre => {
                // The last few tokens' bytes (all of the context when it is that short).
                let from = context.len().saturating_sub(CONTEXT_TOKENS);
                let left: Vec<u8> = context[from..]
                    .iter()
                    .flat_map(|&t| self.vocab.bytes(t).iter().copied())
                    .collect();
                pre.boundary_possible(&left, self.vocab.bytes(next), from == 0)
            }
        }
    }

    /// Pure BPE has no bounded look-ahead: start from the empty context. Behind the GPT-2
    /// pre-tokenizer the start of the last piece never moves (every earlier match ended on a
    /// character that is already there), so the pieces before it are fixed. The other presets
    /// anchor at the last piece start that every probed continuation keeps.
    fn anchor(&self, text: &[u8]) -> Result<(usize, Vec<u32>)> {
        match self.pretok {
            PreTokenizer::None => Ok((0, Vec::new())),
            pre @ (PreTokenizer::Cl100k
            | PreTokenizer::O200k
            | PreTokenizer::Llama3
            | PreTokenizer::Qwen2) => {
                let (anchor, starts) = pre.stable_prefix(text)?;
                Ok((anchor, self.encode_pieces(text, &starts, anchor)?))
            }
            PreTokenizer::Gpt2 => {
                // A trailing partial character may join the piece before it once complete.
                let starts = gpt2_piece_starts(&text[..complete_prefix_len(text)]);
                let Some(&last) = starts.last() else {
                    return Ok((0, Vec::new()));
                };
                let mut out = Vec::new();
                for w in starts.windows(2) {
                    out.extend(self.merge_piece(&text[w[0]..w[1]])?);
                }
                Ok((last, out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vocabulary a, b, c, then merges (a,b)->ab, (b,c)->bc, (ab,c)->abc, (a,a)->aa.
    fn toy() -> Bpe {
        let words = ["a", "b", "c", "ab", "bc", "abc", "aa"];
        let tokens: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let vocab = Vocab::new(tokens, vec![false; 7]).unwrap();
        Bpe::from_merges(
            vocab,
            &[(0, 1), (1, 2), (3, 2), (0, 0)],
            PreTokenizer::None,
            false,
        )
        .unwrap()
    }

    #[test]
    fn merges_by_rank() {
        let t = toy();
        assert_eq!(t.encode(b"abc").unwrap(), vec![5]);
        assert_eq!(t.encode(b"aabc").unwrap(), vec![0, 5]);
        assert_eq!(t.encode(b"aaa").unwrap(), vec![6, 0]);
        assert_eq!(t.encode(b"bcab").unwrap(), vec![4, 3]);
        assert!(t.encode(b"d").is_err());
    }

    #[test]
    fn pairwise_validity_equals_canonical_by_brute_force() {
        let t = toy();
        let canonical = |x: &[u32]| t.encode(&t.vocab.decode(x).unwrap()).unwrap() == x;
        let mut seqs: Vec<Vec<u32>> = vec![vec![]];
        for _ in 0..4 {
            let mut next = Vec::new();
            for s in &seqs {
                for id in 0..7u32 {
                    let mut longer = s.clone();
                    longer.push(id);
                    if canonical(s) {
                        assert_eq!(t.extends(s, id), canonical(&longer), "{longer:?}");
                    }
                    next.push(longer);
                }
            }
            seqs = next;
        }
    }

    #[test]
    fn sentencepiece_merges_characters_and_falls_back_to_bytes() {
        let words: [&[u8]; 7] = [b"a", b"\xc3", b"\xa9", b"a", b" ", b" a", "é".as_bytes()];
        let tokens: Vec<Vec<u8>> = words.iter().map(|w| w.to_vec()).collect();
        let vocab = Vocab::new(tokens, vec![false; 7]).unwrap();
        let fallback = [(b'a', 0), (0xC3, 1), (0xA9, 2)];
        let t = Bpe::sentencepiece(vocab.clone(), &[(4, 3)], &fallback).unwrap();
        // "a" is a character token (3), not its fallback duplicate (0); " a" merges.
        assert_eq!(t.encode(b" a a").unwrap(), vec![5, 5]);
        assert_eq!(t.encode(" aé".as_bytes()).unwrap(), vec![5, 6]);
        assert_eq!(t.encode(b"\xc3").unwrap(), vec![1]);
        assert!(
            !t.extends(&[1], 2),
            "the pair <C3><A9> spells a character token"
        );
        assert!(
            !t.extends(&[], 0),
            "a fallback duplicate of a character token"
        );
        let without = Vocab::new(
            words[..6].iter().map(|w| w.to_vec()).collect(),
            vec![false; 6],
        )
        .unwrap();
        let t = Bpe::sentencepiece(without, &[(4, 3)], &fallback).unwrap();
        assert_eq!(t.encode(" aé".as_bytes()).unwrap(), vec![5, 1, 2]);
        assert!(t.extends(&[5, 1], 2));
        assert!(t.encode("中".as_bytes()).is_err());
    }

    #[test]
    fn ranks_equal_merges_when_consistent() {
        let words = ["a", "b", "ab", "ba", "aba"];
        let tokens: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let vocab = Vocab::new(tokens, vec![false; 5]).unwrap();
        let t = Bpe::from_ranks(vocab, PreTokenizer::None, false).unwrap();
        // (a,b) rank 2 first, then (ab,a) rank 4: "aba" -> [aba]; "bab" -> b,ab -> ...
        assert_eq!(t.encode(b"aba").unwrap(), vec![4]);
        assert_eq!(t.encode(b"bab").unwrap(), vec![1, 2]);
    }
}
