//! Properties of the recall-family samplers: every token is inside the vocabulary, and item i
//! is the same whatever the thread count or the batch it is generated in.

use kleene_core::recall::boolean::{BoolClass, BooleanConfig};
use kleene_core::recall::copying::CopyingConfig;
use kleene_core::recall::fuzzy::FuzzyConfig;
use kleene_core::recall::mad::{RecallConfig, Targets};
use kleene_core::recall::mqar::{Mqar, MqarConfig};
use kleene_core::recall::{generate, RowSampler, SeqBatch, IGNORE};
use kleene_core::rng::StreamKey;
use proptest::prelude::*;

fn check_sampler<S: RowSampler>(s: &S, seed: u64) {
    let key = StreamKey::new(seed, 17);
    let one: SeqBatch<i32> = generate(s, key, 0, 24, Some(1)).unwrap();
    let three: SeqBatch<i32> = generate(s, key, 0, 24, Some(3)).unwrap();
    assert_eq!(one, three);
    let tail: SeqBatch<i32> = generate(s, key, 10, 14, Some(2)).unwrap();
    let t = s.shape().length;
    assert_eq!(&one.tokens[10 * t..], &tail.tokens[..]);
    let v = s.vocab_size() as i32;
    assert!(one.tokens.iter().all(|&x| (0..v).contains(&x)));
    assert!(one
        .labels
        .iter()
        .all(|&y| y == IGNORE || (0..v as i64).contains(&y)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn mqar_is_thread_invariant(k in 1usize..12, passes in 1usize..3, extra in 0usize..40, seed in any::<u64>()) {
        let l = 2 * k * (passes + 1) + 2 * extra;
        let cfg = MqarConfig {
            vocab_size: l + 1 + 4 * k,
            length: l,
            num_kv_pairs: k,
            num_passes: passes,
            power_a: 0.01,
            random_non_queries: true,
        };
        check_sampler(&Mqar::new(cfg).unwrap(), seed);
    }

    #[test]
    fn recall_is_thread_invariant(v in 4usize..40, half in 2usize..40, multi in any::<bool>(), seed in any::<u64>()) {
        let cfg = RecallConfig {
            vocab_size: v,
            length: 2 * half,
            multi_query: multi,
            noise_vocab_size: 1,
            frac_noise: 0.3,
            targets: Targets::Recall,
        };
        if cfg.validate().is_ok() {
            check_sampler(&cfg, seed);
        }
    }

    #[test]
    fn fuzzy_recall_is_thread_invariant(v in 6usize..30, l in 10usize..80, km in 1usize..4, vm in 1usize..4, multi in any::<bool>(), test in any::<bool>(), seed in any::<u64>()) {
        let cfg = FuzzyConfig {
            vocab_size: v,
            length: l,
            k_motif_size: km,
            v_motif_size: vm,
            multi_query: multi,
            noise_vocab_size: 1,
            frac_noise: 0.2,
            test,
        };
        if cfg.validate().is_ok() {
            check_sampler(&cfg, seed);
        }
    }

    #[test]
    fn copying_is_thread_invariant(n in 1usize..10, extra in 1usize..30, selective in any::<bool>(), seed in any::<u64>()) {
        let cfg = CopyingConfig {
            vocab_size: 5,
            length: 2 * n + 1 + extra,
            num_tokens_to_copy: n,
            selective,
        };
        cfg.validate().unwrap();
        check_sampler(&cfg, seed);
    }

    #[test]
    fn boolean_is_thread_invariant(class in 0usize..10, n in 1usize..70, m in 1usize..6, seed in any::<u64>()) {
        let names = ["conjunction", "disjunction", "sparse_disjunction", "dnf", "cnf",
            "sparse_parity", "parity", "majority", "zero_one_threshold", "integer_halfspace"];
        let cfg = BooleanConfig {
            class: BoolClass::parse(names[class]).unwrap(),
            n_dims: n,
            n_points: m,
            k: 1 + n / 2,
            noise_rate: 0.1,
        };
        cfg.validate().unwrap();
        check_sampler(&cfg, seed);
    }
}
