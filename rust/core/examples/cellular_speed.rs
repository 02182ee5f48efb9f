//! Single-thread speed of the cellular engines: `cargo run --release --example cellular_speed`.

use std::time::Instant;

use kleene_core::cellular::eca::{initial_rows, Boundary, Eca, Init};
use kleene_core::cellular::life::{pack_grids, soup, Life, LifeBoundary, LifeRule};
use kleene_core::rng::StreamKey;

fn main() {
    let key = StreamKey::new(1, 2);
    for rule in [110u32, 30, 90] {
        let width = 1 << 16;
        let eca = Eca::new(rule, width, Boundary::Periodic).unwrap();
        let init = Init::Bernoulli {
            p: 0.5,
            key,
            start: 0,
        };
        let mut row = initial_rows(&init, 1, width).unwrap();
        let mut scratch = vec![0u64; row.len()];
        let gens = 20_000;
        let t = Instant::now();
        eca.advance(&mut row, &mut scratch, gens);
        let rate = (width * gens) as f64 / t.elapsed().as_secs_f64();
        println!("ECA rule {rule}: {rate:.3e} cell-updates/s");
    }
    for (rule, name) in [
        (LifeRule::CONWAY, "B3/S23"),
        (LifeRule::parse("B36/S23").unwrap(), "B36/S23"),
    ] {
        for (h, w, count, gens) in [(1024usize, 1024usize, 1usize, 200usize), (32, 32, 256, 200)] {
            let life = Life::new(rule, h, w, LifeBoundary::Torus).unwrap();
            let cells = soup(key, 0, count, h, w, 0.4).unwrap();
            let grids = pack_grids(&life, &cells).unwrap();
            let gw = life.grid_words();
            let t = Instant::now();
            for g in grids.chunks(gw) {
                let mut cur = g.to_vec();
                let mut next = vec![0u64; gw];
                let mut scratch = kleene_core::cellular::life::LifeScratch::default();
                for _ in 0..gens {
                    life.step_with(&cur, &mut next, &mut scratch);
                    std::mem::swap(&mut cur, &mut next);
                }
            }
            let rate = (h * w * count * gens) as f64 / t.elapsed().as_secs_f64();
            println!("Life {name} {count} x {h}x{w}: {rate:.3e} cell-updates/s");
        }
    }
}
