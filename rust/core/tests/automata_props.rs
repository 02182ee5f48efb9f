//! Property tests of the DFA engine against brute-force enumeration of all short strings.

use kleene_core::automata::random::{regbench_dfa, regbench_raw, RegbenchDfaConfig};
use kleene_core::automata::sample::{near_misses, rejected_neighbours, sample, LengthSpec, Method};
use kleene_core::automata::{count, Count, Dfa, ProductOp, NONE};
use kleene_core::rng::StreamKey;
use proptest::prelude::*;

const K: usize = 2;
const MAX_LEN: usize = 7;

/// All strings over `k` symbols of length `0..=max_len`.
fn all_strings(k: usize, max_len: usize) -> Vec<Vec<u32>> {
    let mut out = vec![vec![]];
    let mut frontier = vec![vec![]];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for w in &frontier {
            for a in 0..k as u32 {
                let mut v: Vec<u32> = w.clone();
                v.push(a);
                next.push(v);
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

/// The language restricted to short strings, as a membership vector.
fn language(d: &Dfa) -> Vec<bool> {
    all_strings(d.num_symbols(), MAX_LEN)
        .iter()
        .map(|w| d.accepts(w))
        .collect()
}

/// Random partial DFAs with 1..6 states over two symbols.
fn arb_dfa() -> impl Strategy<Value = Dfa> {
    (1usize..6).prop_flat_map(|n| {
        (
            proptest::collection::vec(prop_oneof![1 => Just(NONE), 4 => 0..n as u32], n * K),
            proptest::collection::vec(any::<bool>(), n),
            0..n as u32,
        )
            .prop_map(|(table, acc, start)| Dfa::new(K, table, acc, start).unwrap())
    })
}

/// Brute-force minimal state count: Myhill-Nerode classes of the reachable live states,
/// distinguished by their acceptance of all suffixes up to the number of states.
fn brute_minimal_states(d: &Dfa) -> usize {
    let c = d.complete();
    let reach = c.reachable();
    let suffixes = all_strings(K, c.num_states());
    let mut classes = std::collections::HashSet::new();
    for q in (0..c.num_states()).filter(|&q| reach[q]) {
        let sig: Vec<bool> = suffixes
            .iter()
            .map(|s| {
                let mut p = q as u32;
                for &a in s {
                    p = c.next(p, a);
                }
                c.accepting()[p as usize]
            })
            .collect();
        if sig.iter().any(|&x| x) {
            classes.insert(sig);
        }
    }
    classes.len().max(1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn minimize_preserves_language_is_idempotent_and_minimal(d in arb_dfa()) {
        let m = d.minimize();
        prop_assert_eq!(language(&m), language(&d));
        prop_assert_eq!(&m.minimize(), &m);
        prop_assert_eq!(m.num_states(), brute_minimal_states(&d));
        prop_assert_eq!(m.canonical_hash(), d.canonical_hash());
    }

    #[test]
    fn algebra_matches_set_operations(a in arb_dfa(), b in arb_dfa()) {
        let (la, lb) = (language(&a), language(&b));
        let and = a.product(&b, ProductOp::And).unwrap();
        let or = a.product(&b, ProductOp::Or).unwrap();
        let diff = a.product(&b, ProductOp::Difference).unwrap();
        let (land, lor, ldiff) = (language(&and), language(&or), language(&diff));
        for i in 0..la.len() {
            prop_assert_eq!(land[i], la[i] && lb[i]);
            prop_assert_eq!(lor[i], la[i] || lb[i]);
            prop_assert_eq!(ldiff[i], la[i] && !lb[i]);
            prop_assert!(!land[i] || la[i]); // L(A and B) within L(A)
        }
        // De Morgan: not(A or B) = (not A) and (not B)
        let lhs = or.complement();
        let rhs = a.complement().product(&b.complement(), ProductOp::And).unwrap();
        prop_assert!(lhs.equivalent(&rhs).unwrap());
        prop_assert_eq!(lhs.minimize(), rhs.minimize());
        // equivalence agrees with the enumerated languages on short strings
        if a.equivalent(&b).unwrap() { prop_assert_eq!(&la, &lb); }
        prop_assert_eq!(a.is_empty(), a.minimize().is_empty());
        prop_assert_eq!(and.is_empty(), land.iter().all(|&x| !x) && and.minimize().is_empty());
    }

    #[test]
    fn counts_match_enumeration(d in arb_dfa()) {
        let strings = all_strings(K, MAX_LEN);
        for n in 0..=MAX_LEN {
            let brute = strings.iter().filter(|w| w.len() == n && d.accepts(w)).count() as u128;
            prop_assert_eq!(count(&d, n).unwrap(), Count::Exact(brute));
        }
    }

    #[test]
    fn samples_are_accepted_and_deterministic(d in arb_dfa(), seed in any::<u64>()) {
        let key = StreamKey::new(seed, 1);
        let spec = LengthSpec { min_len: 0, max_len: 6, pad: 9 };
        if let Ok(s) = sample::<i32>(&d, &Method::Uniform, spec, key, 0, 20, Some(1)) {
            for (row, &len) in s.tokens.chunks(6).zip(&s.lengths) {
                let w: Vec<u32> = row[..len as usize].iter().map(|&x| x as u32).collect();
                prop_assert!(d.accepts(&w));
                prop_assert!(row[len as usize..].iter().all(|&x| x == 9));
            }
            let again = sample::<i32>(&d, &Method::Uniform, spec, key, 0, 20, Some(2)).unwrap();
            prop_assert_eq!(s, again);
        } else {
            prop_assert!((0..=6).all(|n| count(&d, n).unwrap() == Count::Exact(0)));
        }
    }

    #[test]
    fn walks_follow_transitions_and_do_not_depend_on_threads(d in arb_dfa(), seed in any::<u64>(), n in 1usize..40) {
        let key = StreamKey::new(seed, 3);
        let spec = LengthSpec { min_len: 0, max_len: 9, pad: 7 };
        for method in [Method::Walk { weights: None }, Method::Walk { weights: Some(vec![1.0; d.num_states() * K]) }] {
            let a = sample::<i32>(&d, &method, spec, key, 5, n, Some(1)).unwrap();
            let b = sample::<i32>(&d, &method, spec, key, 5, n, Some(3)).unwrap();
            let tail = sample::<i32>(&d, &method, spec, key, 6, n - 1, Some(2)).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a.tokens[9..], &tail.tokens[..]);
            for (row, &len) in a.tokens.chunks(9).zip(&a.lengths) {
                let w: Vec<u32> = row[..len as usize].iter().map(|&x| x as u32).collect();
                prop_assert!(d.run(&w).is_some()); // every step followed a defined transition
                prop_assert!(row[len as usize..].iter().all(|&x| x == 7));
            }
        }
        let randgen = Method::StopWalk { weights: None, final_weights: None };
        if let Ok(r) = sample::<i32>(&d, &randgen, spec, key, 0, n, Some(2)) {
            for (row, &len) in r.tokens.chunks(9).zip(&r.lengths) {
                let w: Vec<u32> = row[..len as usize].iter().map(|&x| x as u32).collect();
                prop_assert!(d.accepts(&w));
                prop_assert!(row[len as usize..].iter().all(|&x| x == 7));
            }
        }
    }

    #[test]
    fn near_misses_are_rejected_at_distance_one(d in arb_dfa(), seed in any::<u64>()) {
        let key = StreamKey::new(seed, 2);
        let spec = LengthSpec { min_len: 1, max_len: 5, pad: 9 };
        if let Ok((pos, neg)) = near_misses::<i32>(&d, spec, key, 0, 10, Some(1)) {
            for i in 0..10 {
                let p: Vec<u32> = pos.tokens[i * 5..i * 5 + pos.lengths[i] as usize].iter().map(|&x| x as u32).collect();
                let q: Vec<u32> = neg.tokens[i * 6..i * 6 + neg.lengths[i] as usize].iter().map(|&x| x as u32).collect();
                prop_assert!(d.accepts(&p) && !d.accepts(&q));
                prop_assert_eq!(edit_distance(&p, &q), 1);
            }
        }
    }

    #[test]
    fn rejected_neighbours_are_exactly_the_rejected_edit1_strings(d in arb_dfa(), w in proptest::collection::vec(0u32..2, 0..6)) {
        let got: std::collections::BTreeSet<Vec<u32>> =
            rejected_neighbours(&d, &w).iter().map(|e| e.apply(&w)).collect();
        prop_assert_eq!(got.len(), rejected_neighbours(&d, &w).len()); // distinct
        let want: std::collections::BTreeSet<Vec<u32>> = all_strings(K, w.len() + 1)
            .into_iter()
            .filter(|v| edit_distance(v, &w) == 1 && !d.accepts(v))
            .collect();
        prop_assert_eq!(got, want);
    }
}

fn edit_distance(a: &[u32], b: &[u32]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + (a[i - 1] != b[j - 1]) as usize;
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[test]
fn regbench_raw_automata_follow_the_procedure() {
    let cfg = RegbenchDfaConfig::default();
    let key = StreamKey::new(3, 4);
    let mut degree_hist = [0usize; 4];
    let mut sizes = Vec::new();
    for i in 0..2000 {
        let raw = regbench_raw(&cfg, &mut key.item_rng(i));
        let n = raw.num_states();
        assert!((4..=12).contains(&n));
        let mut letters = std::collections::HashSet::new();
        for q in 0..n as u32 {
            let targets: Vec<u32> = raw.row(q).iter().copied().filter(|&t| t != NONE).collect();
            assert!(!targets.contains(&q), "self-loop");
            let distinct: std::collections::HashSet<_> = targets.iter().collect();
            assert_eq!(distinct.len(), targets.len(), "repeated target");
            degree_hist[targets.len()] += 1;
            letters.extend(
                raw.row(q)
                    .iter()
                    .enumerate()
                    .filter(|(_, &t)| t != NONE)
                    .map(|(a, _)| a),
            );
        }
        assert!(raw.accepting().iter().all(|&a| a));
        let m = regbench_dfa(&cfg, &mut key.item_rng(i));
        assert!(m.equivalent(&raw).unwrap());
        sizes.push(m.num_states());
    }
    // out-degree uniform on {1, 2, 3}
    assert_eq!(degree_hist[0], 0);
    let total: usize = degree_hist.iter().sum();
    for (d, &hits) in degree_hist.iter().enumerate().skip(1) {
        let share = hits as f64 / total as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "degree {d}: {share}");
    }
    // the reference measured mean 7.0, min 1, max 12 over 2,000 minimised automata
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    assert!((6.6..=7.4).contains(&mean), "mean states {mean}");
    assert_eq!(*sizes.iter().min().unwrap(), 1);
    assert!(*sizes.iter().max().unwrap() <= 12);
}

#[test]
fn uniform_tables_reused_between_calls_belong_to_the_right_automaton() {
    // Alternating two automata (and two length ranges) through the table cache: every call
    // gives what a first call gives, and only strings of its own automaton.
    let even_a = Dfa::new(2, vec![1, 0, 0, 1], vec![true, false], 0).unwrap(); // even number of 0s
    let no_b = Dfa::new(2, vec![0, NONE], vec![true], 0).unwrap(); // 0*
    let key = StreamKey::new(3, 4);
    let run = |d: &Dfa, lo: usize, hi: usize| {
        let spec = LengthSpec {
            min_len: lo,
            max_len: hi,
            pad: 2,
        };
        sample::<i32>(d, &Method::Uniform, spec, key, 0, 50, Some(1)).unwrap()
    };
    let first = [run(&even_a, 1, 30), run(&no_b, 1, 30), run(&even_a, 5, 30)];
    for _ in 0..3 {
        for (i, (d, lo)) in [(&even_a, 1), (&no_b, 1), (&even_a, 5)]
            .into_iter()
            .enumerate()
        {
            let again = run(d, lo, 30);
            assert_eq!(again, first[i], "call {i}");
            for (row, &len) in again.tokens.chunks(30).zip(&again.lengths) {
                let word: Vec<u32> = row[..len as usize].iter().map(|&x| x as u32).collect();
                assert!(d.accepts(&word) && len as usize >= lo);
            }
        }
    }
}
