//! Regex pre-tokenizers: the GPT-2 split written out by hand, and the cl100k / o200k /
//! Llama 3 / Qwen2 splits run with `fancy-regex` on the exact published patterns (the same
//! engine tiktoken uses).
//!
//! GPT-2: `'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
//!
//! Text is read as UTF-8; a byte that starts no valid character counts as one "other"
//! character, so any byte string splits. Letter / number / space classes use Rust's
//! `char::is_alphabetic`, `is_numeric`, `is_whitespace` (equal to `\p{L}`, `\p{N}`, `\s` on
//! ASCII; `is_alphabetic` also admits a few combining marks).

use std::sync::OnceLock;

use fancy_regex::Regex;

use crate::error::{KleeneError, Result};

/// The pre-tokenizer in front of the merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreTokenizer {
    /// BPE over the whole text.
    None,
    /// The GPT-2 / r50k / p50k regex split.
    Gpt2,
    /// cl100k_base (GPT-3.5 / GPT-4).
    Cl100k,
    /// o200k_base (GPT-4o): case-aware letter runs with contraction suffixes.
    O200k,
    /// Llama 3 (the cl100k rules without possessive quantifiers).
    Llama3,
    /// Qwen2 / Qwen2.5 / Qwen3 (Llama 3's rules with single digits).
    Qwen2,
}

/// tiktoken's cl100k_base pattern.
pub const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";
/// tiktoken's o200k_base pattern.
pub const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
);
/// Meta's Llama 3 pattern (also in its Hugging Face `Split` pre-tokenizer).
pub const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's pattern (Qwen2, Qwen2.5, Qwen3).
pub const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Continuations probed when looking for a piece boundary no continuation can move: one
/// character of every class the patterns tell apart, whitespace runs ending in each class,
/// and the letters completing contractions.
const PROBES: &[&str] = &[
    "",
    "a",
    "A",
    "1",
    " ",
    "\n",
    "\r",
    "\t",
    "!",
    "'",
    "/",
    "s",
    "t",
    "d",
    "m",
    "l",
    "v",
    "r",
    "e",
    "S",
    "T",
    "D",
    "M",
    "L",
    "V",
    "R",
    "E",
    "ll",
    "LL",
    "ve",
    "VE",
    "re",
    "RE",
    " a",
    " A",
    " 1",
    " !",
    " '",
    " \n",
    "  ",
    " \r",
    "\r\n",
    "\u{e9}",
    "\u{c9}",
    "\u{4e2d}",
    "\u{301}",
    "\u{2b0}",
    "\u{1c5}",
    "\u{a0}",
    "\u{3000}",
    "\u{2160}",
    "\u{e000}",
    "\u{1f600}",
];

/// Bytes kept before the end of the text when anchoring long texts (see `restart`).
const TAIL_BYTES: usize = 64;

impl PreTokenizer {
    /// A pre-tokenizer by preset name.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "none" => PreTokenizer::None,
            "gpt2" | "r50k" | "p50k" | "r50k_base" | "p50k_base" => PreTokenizer::Gpt2,
            "cl100k" | "cl100k_base" => PreTokenizer::Cl100k,
            "o200k" | "o200k_base" => PreTokenizer::O200k,
            "llama3" => PreTokenizer::Llama3,
            "qwen2" | "qwen2.5" | "qwen3" => PreTokenizer::Qwen2,
            other => {
                return Err(KleeneError::invalid(
                    "pretokenizer",
                    format!(
                        "{other:?} is not a preset; allowed: none, gpt2, cl100k, o200k, llama3, \
                         qwen2 (aliases r50k, p50k, cl100k_base, o200k_base, qwen2.5, qwen3)"
                    ),
                ))
            }
        })
    }

    /// The preset's canonical name.
    pub fn name(self) -> &'static str {
        match self {
            PreTokenizer::None => "none",
            PreTokenizer::Gpt2 => "gpt2",
            PreTokenizer::Cl100k => "cl100k",
            PreTokenizer::O200k => "o200k",
            PreTokenizer::Llama3 => "llama3",
            PreTokenizer::Qwen2 => "qwen2",
        }
    }

    /// The regex the preset runs (None for no split; GPT-2 is hand-written).
    pub fn pattern(self) -> Option<&'static str> {
        match self {
            PreTokenizer::None | PreTokenizer::Gpt2 => None,
            PreTokenizer::Cl100k => Some(CL100K_PATTERN),
            PreTokenizer::O200k => Some(O200K_PATTERN),
            PreTokenizer::Llama3 => Some(LLAMA3_PATTERN),
            PreTokenizer::Qwen2 => Some(QWEN2_PATTERN),
        }
    }

    fn regex(self) -> Option<&'static Regex> {
        static CELLS: [OnceLock<Regex>; 4] = [const { OnceLock::new() }; 4];
        let slot = match self {
            PreTokenizer::None | PreTokenizer::Gpt2 => return None,
            PreTokenizer::Cl100k => 0,
            PreTokenizer::O200k => 1,
            PreTokenizer::Llama3 => 2,
            PreTokenizer::Qwen2 => 3,
        };
        let pattern = self.pattern()?;
        Some(CELLS[slot].get_or_init(|| Regex::new(pattern).expect("preset patterns compile")))
    }

    /// Byte offsets where pieces start (the first is 0 for a non-empty text).
    pub fn piece_starts(self, text: &[u8]) -> Result<Vec<usize>> {
        match self {
            PreTokenizer::None if text.is_empty() => Ok(vec![]),
            PreTokenizer::None => Ok(vec![0]),
            PreTokenizer::Gpt2 => Ok(gpt2_piece_starts(text)),
            _ => regex_piece_starts(self.regex().expect("regex preset"), text),
        }
    }

    /// Whether some text continuing `left` puts a piece boundary between `left` and `right`
    /// (`whole`: `left` is all the text before, else its tail). Over-approximates: only
    /// boundaries between two ASCII characters that no pattern alternative can separate are
    /// ruled out.
    pub fn boundary_possible(self, left: &[u8], right: &[u8], whole: bool) -> bool {
        let (Some(&a), Some(&b)) = (left.last(), right.first()) else {
            return true;
        };
        if !a.is_ascii() || !b.is_ascii() {
            return true;
        }
        match (ascii_class(a), ascii_class(b)) {
            (Class::Other, Class::Other) => false,
            // `[^\r\n\p{L}\p{N}]?\p{L}+` takes one whitespace character other than a line
            // break into the letters after it, and ` ?[^\s\p{L}\p{N}]+` a space into the
            // punctuation after it; a whitespace piece never ends right before either.
            (Class::Space, Class::Letter) => a == b'\r' || a == b'\n',
            (Class::Space, Class::Other) => a != b' ',
            (Class::Letter, Class::Letter) => {
                let case_change =
                    self == PreTokenizer::O200k && a.is_ascii_lowercase() && b.is_ascii_uppercase();
                ends_contraction(left, whole) || case_change
            }
            _ => true,
        }
    }

    /// A byte offset of `text` where every text starting with `text` has a piece boundary,
    /// with the same pieces before it: `(offset, piece starts before it)`. Found by probing
    /// continuations of every character class on the tail of the text.
    pub fn stable_prefix(self, text: &[u8]) -> Result<(usize, Vec<usize>)> {
        let end = complete_prefix_len(text);
        let text = &text[..end];
        let full = self.piece_starts(text)?;
        let restart = restart(text, &full);
        let tail = &text[restart..];
        let mut common: Option<Vec<usize>> = None;
        let mut probe_text = Vec::with_capacity(tail.len() + 8);
        for probe in PROBES {
            probe_text.clear();
            probe_text.extend_from_slice(tail);
            probe_text.extend_from_slice(probe.as_bytes());
            let starts: Vec<usize> = self
                .piece_starts(&probe_text)?
                .into_iter()
                .take_while(|&s| s < tail.len())
                .collect();
            common = Some(match common {
                None => starts,
                Some(c) => c
                    .iter()
                    .zip(&starts)
                    .take_while(|(x, y)| x == y)
                    .map(|(x, _)| *x)
                    .collect(),
            });
        }
        let mut starts: Vec<usize> = full.into_iter().take_while(|&s| s < restart).collect();
        let tail_starts = common.unwrap_or_default();
        match tail_starts.last() {
            Some(&last) => {
                starts.extend(
                    tail_starts[..tail_starts.len() - 1]
                        .iter()
                        .map(|s| s + restart),
                );
                Ok((restart + last, starts))
            }
            None => {
                // Nothing in the tail is certain: anchor at the restart point itself.
                let anchor = starts.pop().unwrap_or(0);
                Ok((anchor, starts))
            }
        }
    }
}

/// Whether `left` can end a contraction (`'s 't 'd 'm 'll 've 're`, any case), the only
/// pieces that end between two letters in the cl100k family: its trailing letters are the
/// whole contraction word after an apostrophe, or (the apostrophe in an earlier token) a
/// suffix of one (unless `left` is the whole text before).
fn ends_contraction(left: &[u8], whole: bool) -> bool {
    const WORDS: [&[u8]; 7] = [b"s", b"t", b"d", b"m", b"ll", b"ve", b"re"];
    let start = left
        .iter()
        .rposition(|c| !c.is_ascii_alphabetic())
        .map_or(0, |i| i + 1);
    let tail = left[start..].to_ascii_lowercase();
    if start == 0 {
        !whole && WORDS.iter().any(|w| w.ends_with(&tail))
    } else {
        left[start - 1] == b'\'' && WORDS.contains(&&tail[..])
    }
}

/// Piece starts by a regex over `text`, reading invalid UTF-8 bytes as U+E000 each (a
/// private-use character: neither letter, number nor space, like a lone byte in tiktoken's
/// byte-level view).
fn regex_piece_starts(re: &Regex, text: &[u8]) -> Result<Vec<usize>> {
    let (owned, map);
    let s: &str = match std::str::from_utf8(text) {
        Ok(s) => s,
        Err(_) => {
            (owned, map) = lossy_with_offsets(text);
            return regex_starts_str(re, &owned).map(|v| v.into_iter().map(|i| map[i]).collect());
        }
    };
    regex_starts_str(re, s)
}

fn regex_starts_str(re: &Regex, s: &str) -> Result<Vec<usize>> {
    let mut starts = Vec::new();
    let mut end = 0;
    for m in re.find_iter(s) {
        let m = m.map_err(|e| KleeneError::invalid("text", format!("pre-tokenizer: {e}")))?;
        if m.start() > end {
            starts.push(end); // a gap (no pattern matched) is a piece of its own
        }
        if m.end() > m.start() {
            starts.push(m.start());
            end = m.end();
        }
    }
    if end < s.len() {
        starts.push(end);
    }
    Ok(starts)
}

/// `text` with every invalid byte replaced by U+E000, and the map from offsets of the result
/// (at character starts, plus its end) back to offsets of `text`.
fn lossy_with_offsets(text: &[u8]) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len() * 3);
    let mut map = Vec::with_capacity(text.len() * 3 + 1);
    let mut pos = 0;
    for chunk in text.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            for _ in 0..c.len_utf8() {
                map.push(pos + i);
            }
            out.push(c);
        }
        pos += chunk.valid().len();
        for _ in chunk.invalid() {
            out.push('\u{e000}');
            map.extend([pos; 3]);
            pos += 1;
        }
    }
    map.push(pos);
    (out, map)
}

/// Length of `text` without a trailing incomplete (but so far valid) UTF-8 sequence.
pub(crate) fn complete_prefix_len(text: &[u8]) -> usize {
    let n = text.len();
    for back in 1..=3.min(n) {
        let b = text[n - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead
        }
        let width = utf8_width(b);
        return if width > back && b >= 0xC0 {
            n - back
        } else {
            n
        };
    }
    n
}

/// A piece start far enough before the end of `text` that no continuation can move it or
/// anything before it: at least [`TAIL_BYTES`] back and not on whitespace (only whitespace
/// runs are split at places that depend on text arbitrarily far ahead); 0 if none.
fn restart(text: &[u8], starts: &[usize]) -> usize {
    let limit = text.len().saturating_sub(TAIL_BYTES);
    starts
        .iter()
        .rev()
        .copied()
        .filter(|&s| s > 0 && s <= limit)
        .find(|&s| !starts_with_space(&text[s..]) && !ends_with_space(&text[..s]))
        .unwrap_or(0)
}

fn starts_with_space(s: &[u8]) -> bool {
    s.utf8_chunks()
        .next()
        .and_then(|c| c.valid().chars().next())
        .is_some_and(char::is_whitespace)
}

fn ends_with_space(s: &[u8]) -> bool {
    let from = s.len().saturating_sub(4);
    s[from..]
        .utf8_chunks()
        .last()
        .filter(|c| c.invalid().is_empty())
        .and_then(|c| c.valid().chars().last())
        .is_some_and(char::is_whitespace)
}

fn ascii_class(b: u8) -> Class {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => Class::Letter,
        b'0'..=b'9' => Class::Number,
        b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' => Class::Space,
        _ => Class::Other,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Char {
    start: usize,
    ch: Option<char>,
    class: Class,
}

fn chars(text: &[u8]) -> Vec<Char> {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    while pos < text.len() {
        let width = utf8_width(text[pos]).min(text.len() - pos);
        let ch = std::str::from_utf8(&text[pos..pos + width])
            .ok()
            .and_then(|s| s.chars().next());
        let (ch, width) = match ch {
            Some(c) => (Some(c), width),
            None => (None, 1),
        };
        let class = match ch {
            Some(c) if c.is_alphabetic() => Class::Letter,
            Some(c) if c.is_numeric() => Class::Number,
            Some(c) if c.is_whitespace() => Class::Space,
            _ => Class::Other,
        };
        out.push(Char {
            start: pos,
            ch,
            class,
        });
        pos += width;
    }
    out
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Length in characters of the regex match at `p` (always at least 1).
fn match_len(cs: &[Char], p: usize) -> usize {
    let n = cs.len();
    let is = |i: usize, c: char| i < n && cs[i].ch == Some(c);
    if is(p, '\'') {
        for suffix in ["s", "d", "m", "t", "ll", "ve", "re"] {
            if suffix.chars().enumerate().all(|(k, c)| is(p + 1 + k, c)) {
                return 1 + suffix.len();
            }
        }
    }
    let after_space = if is(p, ' ') { p + 1 } else { p };
    for class in [Class::Letter, Class::Number, Class::Other] {
        let mut q = after_space;
        while q < n && cs[q].class == class {
            q += 1;
        }
        if q > after_space {
            return q - p;
        }
    }
    let mut q = p;
    while q < n && cs[q].class == Class::Space {
        q += 1;
    }
    // `\s+(?!\S)`: at the end of the text take the whole run, else give back its last
    // character (which must leave at least one); otherwise `\s+` takes the whole run.
    if q < n && q - p >= 2 {
        q - 1 - p
    } else {
        (q - p).max(1)
    }
}

/// Byte offsets where pieces start (the first is 0 for a non-empty text).
pub fn gpt2_piece_starts(text: &[u8]) -> Vec<usize> {
    let cs = chars(text);
    let mut starts = Vec::new();
    let mut p = 0;
    while p < cs.len() {
        starts.push(cs[p].start);
        p += match_len(&cs, p);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        let starts = gpt2_piece_starts(s.as_bytes());
        let mut out = Vec::new();
        for (k, &a) in starts.iter().enumerate() {
            let b = starts.get(k + 1).copied().unwrap_or(s.len());
            out.push(&s[a..b]);
        }
        out
    }

    #[test]
    fn letter_joins_split_only_after_contractions_or_o200k_case_changes() {
        let cl = PreTokenizer::Cl100k;
        let possible = |l: &[u8], r: &[u8]| cl.boundary_possible(l, r, false);
        assert!(!possible(b"Th", b"e"));
        assert!(possible(b"T", b"he")); // "'T" is a contraction
        assert!(!cl.boundary_possible(b"T", b"he", true)); // ... unless nothing is before
        assert!(possible(b"don't", b"x"));
        assert!(possible(b"'LL", b"x"));
        assert!(possible(b"l", b"x")); // "'l" + "l" + "x"
        assert!(!possible(b"al", b"x"));
        assert!(!possible(b"!", b"?"));
        assert!(possible(b"a", b" "));
        assert!(!possible(b"a", b"B"));
        assert!(!possible(b" ", b"a") && !possible(b"\t", b"a") && possible(b"\n", b"a"));
        assert!(!possible(b" ", b"!") && possible(b"\t", b"!"));
        assert!(PreTokenizer::O200k.boundary_possible(b"a", b"B", false));
        assert!(!PreTokenizer::O200k.boundary_possible(b"A", b"b", false));
    }

    #[test]
    fn splits_like_the_gpt2_regex() {
        assert_eq!(split("Hello world"), ["Hello", " world"]);
        assert_eq!(
            split("it's  2 cats!!\n"),
            ["it", "'s", " ", " 2", " cats", "!!", "\n"]
        );
        assert_eq!(split("a  b"), ["a", " ", " b"]);
        assert_eq!(split("a  "), ["a", "  "]);
        assert_eq!(split("a \nb"), ["a", " ", "\n", "b"]);
        assert_eq!(split("x'll 'r"), ["x", "'ll", " '", "r"]);
        assert_eq!(split("né7"), ["né", "7"]);
    }
}
