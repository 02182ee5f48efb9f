//! A vocabulary of byte strings with a byte trie for prefix queries.
//!
//! Tokens are sorted by their bytes; every trie node (a byte string `s`) owns the contiguous
//! range of sorted positions whose tokens start with `s`, so "all tokens covering `s`" is a
//! range and its probability mass is a difference of two prefix sums.

use crate::error::{ensure, Result};

/// Index of a trie node; the root (empty string) is node 0.
pub type NodeId = u32;
pub const ROOT: NodeId = 0;

#[derive(Clone, Debug, Default)]
struct Node {
    /// Children sorted by byte.
    children: Vec<(u8, NodeId)>,
    /// Sorted positions `lo..hi` hold the tokens starting with this node's string;
    /// `lo..lo + exact` are the tokens equal to it.
    lo: u32,
    hi: u32,
    exact: u32,
}

/// Token byte strings by id, plus the sorted order and the trie. Ids without bytes (special
/// tokens such as end-of-text) take part in no prefix query.
#[derive(Clone, Debug)]
pub struct Vocab {
    tokens: Vec<Vec<u8>>,
    special: Vec<bool>,
    sorted: Vec<u32>,
    /// id -> position in `sorted` (`u32::MAX` for special tokens).
    position: Vec<u32>,
    /// id -> first byte (256 for special tokens).
    first_byte: Vec<u16>,
    /// node -> its depth-1 ancestor (itself at depth 1; the root for the root).
    depth1: Vec<NodeId>,
    nodes: Vec<Node>,
    max_len: usize,
}

impl Vocab {
    /// Builds the vocabulary; `special[i]` marks ids that decode to no bytes (their byte string
    /// must be empty). Every other token must be non-empty.
    pub fn new(tokens: Vec<Vec<u8>>, special: Vec<bool>) -> Result<Self> {
        ensure(tokens.len() == special.len(), "special", || {
            format!("has {} entries for {} tokens", special.len(), tokens.len())
        })?;
        ensure(tokens.len() < u32::MAX as usize, "tokens", || {
            "too many tokens (at most 2^32 - 2)".into()
        })?;
        for (i, t) in tokens.iter().enumerate() {
            ensure(special[i] || !t.is_empty(), "tokens", || {
                format!("token {i} is empty (only special tokens may be empty)")
            })?;
        }
        let mut sorted: Vec<u32> = (0..tokens.len() as u32)
            .filter(|&i| !special[i as usize])
            .collect();
        sorted.sort_by(|&a, &b| tokens[a as usize].cmp(&tokens[b as usize]).then(a.cmp(&b)));
        let max_len = sorted
            .iter()
            .map(|&i| tokens[i as usize].len())
            .max()
            .unwrap_or(0);
        let nodes = build_trie(&tokens, &sorted);
        let mut position = vec![u32::MAX; tokens.len()];
        for (pos, &id) in sorted.iter().enumerate() {
            position[id as usize] = pos as u32;
        }
        let first_byte = tokens
            .iter()
            .zip(&special)
            .map(|(t, &sp)| if sp { 256 } else { t[0] as u16 })
            .collect();
        let depth1 = depth1_ancestors(&nodes);
        Ok(Vocab {
            tokens,
            special,
            sorted,
            position,
            first_byte,
            depth1,
            nodes,
            max_len,
        })
    }

    /// Number of ids (byte tokens and special tokens).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The bytes of token `id` (empty for special tokens).
    pub fn bytes(&self, id: u32) -> &[u8] {
        &self.tokens[id as usize]
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.special[id as usize]
    }

    /// Length in bytes of the longest token.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Byte-token ids sorted by their bytes.
    pub fn sorted(&self) -> &[u32] {
        &self.sorted
    }

    /// Position of byte token `id` in [`Vocab::sorted`] (None for special tokens).
    #[inline]
    pub fn position(&self, id: u32) -> Option<usize> {
        let pos = self.position[id as usize];
        (pos != u32::MAX).then_some(pos as usize)
    }

    /// First byte of every id (256 for special tokens).
    #[inline]
    pub fn first_bytes(&self) -> &[u16] {
        &self.first_byte
    }

    /// The depth-1 ancestor of `node` (itself at depth 1; [`ROOT`] for the root).
    #[inline]
    pub fn depth1(&self, node: NodeId) -> NodeId {
        self.depth1[node as usize]
    }

    /// Concatenated bytes of a token sequence; fails on an unknown id.
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for &id in ids {
            self.check_id(id, "tokens")?;
            out.extend_from_slice(self.bytes(id));
        }
        Ok(out)
    }

    /// An error naming `what` unless `id` is a known id.
    pub fn check_id(&self, id: u32, what: &str) -> Result<()> {
        ensure((id as usize) < self.tokens.len(), what, || {
            format!(
                "token id {id} is outside the vocabulary [0, {})",
                self.tokens.len()
            )
        })
    }

    /// The child of `node` along byte `b`.
    #[inline]
    pub fn child(&self, node: NodeId, b: u8) -> Option<NodeId> {
        let ch = &self.nodes[node as usize].children;
        ch.binary_search_by_key(&b, |&(c, _)| c)
            .ok()
            .map(|i| ch[i].1)
    }

    /// Children `(byte, node)` of `node`, sorted by byte.
    #[inline]
    pub fn children(&self, node: NodeId) -> &[(u8, NodeId)] {
        &self.nodes[node as usize].children
    }

    /// Sorted positions of the tokens starting with the node's string.
    #[inline]
    pub fn range(&self, node: NodeId) -> (usize, usize) {
        let n = &self.nodes[node as usize];
        (n.lo as usize, n.hi as usize)
    }

    /// Ids of the tokens equal to the node's string (usually zero or one).
    #[inline]
    pub fn exact(&self, node: NodeId) -> &[u32] {
        let n = &self.nodes[node as usize];
        &self.sorted[n.lo as usize..(n.lo + n.exact) as usize]
    }

    /// The node of string `s`, if some token starts with `s`.
    pub fn walk(&self, s: &[u8]) -> Option<NodeId> {
        s.iter().try_fold(ROOT, |node, &b| self.child(node, b))
    }

    /// The longest token that is a prefix of `text`: `(id, length)`.
    pub fn longest_prefix(&self, text: &[u8]) -> Option<(u32, usize)> {
        let mut node = ROOT;
        let mut best = None;
        for (i, &b) in text.iter().enumerate() {
            match self.child(node, b) {
                Some(c) => node = c,
                None => break,
            }
            if let Some(&id) = self.exact(node).first() {
                best = Some((id, i + 1));
            }
        }
        best
    }

    /// Ids of all tokens starting with `s`.
    pub fn covering(&self, s: &[u8]) -> &[u32] {
        match self.walk(s) {
            Some(node) => {
                let (lo, hi) = self.range(node);
                &self.sorted[lo..hi]
            }
            None => &[],
        }
    }
}

/// Inserts the sorted tokens one by one: each node's range grows to the last token through it.
fn build_trie(tokens: &[Vec<u8>], sorted: &[u32]) -> Vec<Node> {
    let mut nodes = vec![Node {
        hi: sorted.len() as u32,
        ..Node::default()
    }];
    for (pos, &id) in sorted.iter().enumerate() {
        let pos = pos as u32;
        let mut node = 0usize;
        for &b in &tokens[id as usize] {
            let next = match nodes[node].children.last() {
                Some(&(c, n)) if c == b => n as usize,
                _ => {
                    let n = nodes.len();
                    nodes.push(Node {
                        lo: pos,
                        ..Node::default()
                    });
                    nodes[node].children.push((b, n as NodeId));
                    n
                }
            };
            node = next;
            nodes[node].hi = pos + 1;
        }
        if nodes[node].lo + nodes[node].exact == pos {
            nodes[node].exact += 1;
        }
    }
    nodes
}

fn depth1_ancestors(nodes: &[Node]) -> Vec<NodeId> {
    let mut out = vec![ROOT; nodes.len()];
    for &(_, child) in &nodes[0].children {
        let mut stack = vec![child];
        while let Some(n) = stack.pop() {
            out[n as usize] = child;
            stack.extend(nodes[n as usize].children.iter().map(|&(_, c)| c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(words: &[&str]) -> Vocab {
        let tokens: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let n = tokens.len();
        Vocab::new(tokens, vec![false; n]).unwrap()
    }

    #[test]
    fn covering_matches_brute_force() {
        let v = vocab(&["a", "b", "ab", "abc", "b", "ba", "c", "abd"]);
        for q in ["", "a", "ab", "abc", "b", "x", "abcd", "ba"] {
            let mut got: Vec<u32> = v.covering(q.as_bytes()).to_vec();
            got.sort();
            let want: Vec<u32> = (0..v.len() as u32)
                .filter(|&i| v.bytes(i).starts_with(q.as_bytes()))
                .collect();
            assert_eq!(got, want, "query {q:?}");
        }
        let b = v.walk(b"b").unwrap();
        assert_eq!(v.exact(b), &[1, 4]);
        assert_eq!(v.longest_prefix(b"abcx"), Some((3, 3)));
        assert_eq!(v.longest_prefix(b"xa"), None);
        assert_eq!(v.max_len(), 3);
    }

    #[test]
    fn rejects_empty_tokens() {
        assert!(Vocab::new(vec![b"a".to_vec(), vec![]], vec![false, false]).is_err());
        assert!(Vocab::new(vec![b"a".to_vec(), vec![]], vec![false, true]).is_ok());
    }
}
