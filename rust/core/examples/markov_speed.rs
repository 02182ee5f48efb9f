//! Quick throughput check of the markov sampler: `cargo run --release --example markov_speed`.
use kleene_core::markov::{generate, MarkovConfig, MarkovLabels};
use kleene_core::rng::StreamKey;
use std::time::Instant;

fn main() {
    for (batch, length) in [(64usize, 256usize), (4096, 256), (16, 65536)] {
        let cfg = MarkovConfig {
            vocab_size: 2,
            order: 1,
            length,
            alpha: 1.0,
            switch_every: 0,
            transition: None,
        };
        let reps = 200_000_000 / (batch * length) + 1;
        let t0 = Instant::now();
        for r in 0..reps {
            let b = generate::<i32>(
                &cfg,
                StreamKey::new(r as u64, 0),
                0,
                batch,
                MarkovLabels::default(),
                Some(1),
            )
            .unwrap();
            std::hint::black_box(b);
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "B={batch} T={length}: {:.0} M tokens/s",
            (reps * batch * length) as f64 / secs / 1e6
        );
    }
}
