//! Quick throughput check of the markov sampler (process CPU time, so a busy machine does not
//! distort it): `cargo run --release --example markov_speed`.
use cpu_time::ProcessTime;
use kleene_core::markov::{generate, MarkovConfig, MarkovLabels};
use kleene_core::rng::StreamKey;

fn main() {
    let labels = MarkovLabels {
        bayes: std::env::args().any(|a| a == "--labels"),
        true_probs: std::env::args().any(|a| a == "--labels"),
    };
    for (batch, length, v, k) in [
        (64usize, 256usize, 2usize, 1usize),
        (4096, 256, 2, 1),
        (16, 65536, 2, 1),
        (256, 256, 8, 2),
        (256, 256, 64, 1),
        (256, 256, 3, 1),
    ] {
        let cfg = MarkovConfig {
            vocab_size: v,
            order: k,
            length,
            alpha: 1.0,
            switch_every: 0,
            transition: None,
        };
        let reps = 50_000_000 / (batch * length) + 1;
        let t0 = ProcessTime::now();
        let w0 = std::time::Instant::now();
        for r in 0..reps {
            let b = generate::<i32>(&cfg, StreamKey::new(r as u64, 0), 0, batch, labels, Some(1))
                .unwrap();
            std::hint::black_box(b);
        }
        let secs = t0.elapsed().as_secs_f64();
        eprintln!("cpu {secs:.3}s wall {:.3}s", w0.elapsed().as_secs_f64());
        println!(
            "B={batch} T={length}: {:.0} M tokens/s",
            (reps * batch * length) as f64 / secs / 1e6
        );
    }
}

#[allow(dead_code)]
fn handoff() {
    let t0 = std::time::Instant::now();
    for i in 0..10000u64 {
        std::hint::black_box(kleene_core::pool::with_threads(Some(1), || i + 1));
    }
    println!(
        "handoff {:.2} us",
        t0.elapsed().as_secs_f64() / 10000.0 * 1e6
    );
}
