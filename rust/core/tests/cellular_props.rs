//! Properties of the cellular engines against their naive per-cell references.

use kleene_core::cellular::eca::{self, Boundary, Eca, Init, Window};
use kleene_core::cellular::life::{self, Life, LifeBoundary, LifeRule};
use proptest::prelude::*;

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::Periodic),
        Just(Boundary::Fixed0),
        Just(Boundary::Fixed1),
        Just(Boundary::Reflective),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn eca_equals_per_cell_reference(
        rule in 0u32..256,
        b in boundary(),
        cells in prop::collection::vec(0u8..2, 1..300),
        steps in 0usize..12,
    ) {
        let w = cells.len();
        let ca = Eca::new(rule, w, b).unwrap();
        let rows = eca::initial_rows(&Init::Explicit(cells.clone()), 1, w).unwrap();
        let got = eca::run_cells(&ca, &Window::full(steps, w), &rows, Some(1)).unwrap();
        let mut row = cells;
        for t in 0..=steps {
            prop_assert_eq!(&got[t * w..(t + 1) * w], &row[..]);
            row = eca::step_ref(rule as u8, b, &row);
        }
    }

    #[test]
    fn life_equals_per_cell_reference(
        birth in 0u16..512,
        survive in 0u16..512,
        torus in any::<bool>(),
        h in 1usize..12,
        w in 1usize..140,
        seed in any::<u64>(),
    ) {
        let rule = LifeRule { birth, survive };
        let b = if torus { LifeBoundary::Torus } else { LifeBoundary::Dead };
        let mut x = seed | 1;
        let grid: Vec<u8> = (0..h * w)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x & 1) as u8
            })
            .collect();
        let game = Life::new(rule, h, w, b).unwrap();
        let packed = life::pack_grids(&game, &grid).unwrap();
        let got = life::run_cells(&game, &packed, 3, 1, Some(1)).unwrap();
        let mut cur = grid;
        for t in 0..=3 {
            prop_assert_eq!(&got[t * h * w..(t + 1) * h * w], &cur[..]);
            cur = life::step_ref(rule, b, &cur, h, w);
        }
    }
}
