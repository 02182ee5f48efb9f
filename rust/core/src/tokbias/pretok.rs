//! The GPT-2 pre-tokenizer, written out by hand (the regex needs a look-ahead):
//! `'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
//!
//! Text is read as UTF-8; a byte that starts no valid character counts as one "other"
//! character, so any byte string splits. Letter / number / space classes use Rust's
//! `char::is_alphabetic`, `is_numeric`, `is_whitespace` (equal to `\p{L}`, `\p{N}`, `\s` on
//! ASCII; `is_alphabetic` also admits a few combining marks).

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
