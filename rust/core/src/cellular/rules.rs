//! Metadata of the 256 elementary rules: symmetries, the 88 equivalence classes, Langton's
//! lambda and a Wolfram class table.

/// The rule seen in a mirror: `(l, c, r)` behaves as the original on `(r, c, l)`.
pub fn reflect(rule: u8) -> u8 {
    (0..8u8).fold(0, |acc, k| {
        let (l, c, r) = (k >> 2 & 1, k >> 1 & 1, k & 1);
        let mirrored = 4 * r + 2 * c + l;
        acc | (((rule >> mirrored) & 1) << k)
    })
}

/// The rule with 0 and 1 exchanged in both input and output.
pub fn complement(rule: u8) -> u8 {
    (0..8u8).fold(0, |acc, k| acc | ((((rule >> (7 - k)) & 1) ^ 1) << k))
}

/// The rules equivalent to `rule` under reflection and complement (sorted, 1, 2 or 4 rules).
pub fn orbit(rule: u8) -> Vec<u8> {
    let mut rules = vec![
        rule,
        reflect(rule),
        complement(rule),
        reflect(complement(rule)),
    ];
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// The smallest rule of `rule`'s equivalence class (Wolfram's representative).
pub fn representative(rule: u8) -> u8 {
    orbit(rule)[0]
}

/// The 88 class representatives, ascending.
pub fn representatives() -> Vec<u8> {
    (0..=255u8).filter(|&r| representative(r) == r).collect()
}

/// Langton's lambda with 0 as the quiescent state: the fraction of the 8 neighbourhoods that
/// map to 1.
pub fn langton_lambda(rule: u8) -> f64 {
    rule.count_ones() as f64 / 8.0
}

/// Wolfram classes of the 88 representatives, the classification commonly used in the
/// literature (Wolfram 1984, "Universality and complexity in cellular automata", Physica D 10;
/// A New Kind of Science, 2002), as tabulated e.g. by Martinez (2013), "A note on elementary
/// cellular automata classification", J. Cellular Automata 8. Class 2 is every representative
/// not listed. Sources disagree on borderline rules; callers may pass their own table.
pub const CLASS_1: [u8; 8] = [0, 8, 32, 40, 128, 136, 160, 168];
pub const CLASS_3: [u8; 11] = [18, 22, 30, 45, 60, 90, 105, 122, 126, 146, 150];
pub const CLASS_4: [u8; 4] = [41, 54, 106, 110];

/// The Wolfram class (1-4) of any rule, from its representative and the default table.
pub fn wolfram_class(rule: u8) -> u8 {
    let rep = representative(rule);
    if CLASS_1.contains(&rep) {
        1
    } else if CLASS_3.contains(&rep) {
        3
    } else if CLASS_4.contains(&rep) {
        4
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_eight_classes_with_published_representatives() {
        let reps = representatives();
        assert_eq!(reps.len(), 88);
        // The list of minimal representatives in the reference (generators.md, section 4.1).
        let mut want: Vec<u8> = (0..=15).collect();
        want.extend([18, 19]);
        want.extend(22..=30);
        want.extend(32..=38);
        want.extend(40..=46);
        want.extend([
            50, 51, 54, 56, 57, 58, 60, 62, 72, 73, 74, 76, 77, 78, 90, 94, 104, 105,
        ]);
        want.extend([
            106, 108, 110, 122, 126, 128, 130, 132, 134, 136, 138, 140, 142, 146,
        ]);
        want.extend([
            150, 152, 154, 156, 160, 162, 164, 168, 170, 172, 178, 184, 200, 204, 232,
        ]);
        assert_eq!(reps, want);
    }

    #[test]
    fn symmetries_are_involutions_with_known_images() {
        for r in 0..=255u8 {
            assert_eq!(reflect(reflect(r)), r);
            assert_eq!(complement(complement(r)), r);
        }
        assert_eq!(reflect(110), 124);
        assert_eq!(complement(110), 137);
        assert_eq!(reflect(170), 240);
        assert_eq!(orbit(30), vec![30, 86, 135, 149]);
    }

    #[test]
    fn class_table_expands_to_known_counts() {
        let mut counts = [0usize; 5];
        for r in 0..=255u8 {
            counts[wolfram_class(r) as usize] += 1;
        }
        assert_eq!(&counts[1..], &[24, 192, 26, 14]);
        assert_eq!(langton_lambda(110), 5.0 / 8.0);
    }
}
