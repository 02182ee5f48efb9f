//! Properties of the markov sampler: determinism under any split of the work, and agreement of
//! the fast (interleaved, unlabelled) path with the labelled path.

use kleene_core::markov::{generate, MarkovConfig, MarkovLabels};
use kleene_core::rng::StreamKey;
use proptest::prelude::*;

fn config(v: usize, k: usize, len: usize, switch_every: usize) -> MarkovConfig {
    MarkovConfig {
        vocab_size: v,
        order: k,
        length: len,
        alpha: 0.7,
        switch_every,
        transition: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn split_and_thread_count_do_not_change_items(
        v in 2usize..5, k in 0usize..3, len in 1usize..40, switch in 0usize..9,
        count in 1usize..11, cut in 0usize..11, seed in any::<u64>(), threads in 1usize..4,
    ) {
        let cfg = config(v, k, len, switch);
        let key = StreamKey::new(seed, 99);
        let cut = cut.min(count);
        let none = MarkovLabels::default();
        let whole = generate::<i32>(&cfg, key, 3, count, none, Some(threads)).unwrap();
        let head = generate::<i32>(&cfg, key, 3, cut, none, Some(1)).unwrap();
        let tail = generate::<i32>(&cfg, key, 3 + cut as u64, count - cut, none, Some(2)).unwrap();
        let joined: Vec<i32> = head.tokens.into_iter().chain(tail.tokens).collect();
        prop_assert_eq!(whole.tokens, joined);
    }

    #[test]
    fn labels_do_not_change_tokens(
        v in 2usize..4, k in 0usize..3, len in 1usize..50, switch in 0usize..9,
        count in 1usize..11, seed in any::<u64>(),
    ) {
        let cfg = config(v, k, len, switch);
        let key = StreamKey::new(seed, 5);
        let plain = generate::<u8>(&cfg, key, 0, count, MarkovLabels::default(), Some(1)).unwrap();
        let all = MarkovLabels { bayes: true, true_probs: true };
        let labelled = generate::<u8>(&cfg, key, 0, count, all, Some(1)).unwrap();
        prop_assert_eq!(plain.tokens, labelled.tokens);
    }
}
