//! Fuzz targets that stay (issue 18): hostile inputs to every text/config entry of the core
//! must give `Ok` or `Err`, never a panic, a stack overflow or runaway work. Each target runs a
//! bounded number of proptest cases in `cargo test`; the regression corpus (inputs that once
//! failed) is replayed every run by `regression_corpus`.

use kleene_core::automata::{compile_regex, DEFAULT_REGEX_DFA_STATES};
use kleene_core::cellular::eca::Boundary;
use kleene_core::cellular::life::{LifeBoundary, LifeRule};
use kleene_core::cellular::tasks::{
    eca_batch, life_batch, EcaSplit, EcaTaskConfig, LifeTaskConfig,
};
use kleene_core::grammars::parse::Parser;
use kleene_core::grammars::prefix::PrefixModel;
use kleene_core::grammars::{cfg3, text};
use kleene_core::recall::copying::CopyingConfig;
use kleene_core::recall::{generate, SeqBatch};
use kleene_core::rng::StreamKey;
use proptest::prelude::*;

/// Regex-ish strings: metacharacters, digits and alphabet letters, nested freely.
fn regex_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("("),
            Just(")"),
            Just("|"),
            Just("*"),
            Just("+"),
            Just("?"),
            Just("["),
            Just("]"),
            Just("^"),
            Just("-"),
            Just("."),
            Just("\\"),
            Just("{"),
            Just("}"),
            Just(","),
            Just("a"),
            Just("b"),
            Just("c"),
            Just("1"),
            Just("3"),
            Just("99"),
            Just("{2,}"),
            Just("{0,3}"),
            Just("{1000}"),
            Just(" ")
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Grammar-text-ish strings built from the format's tokens.
fn grammar_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("S"),
            Just("A"),
            Just("B"),
            Just("->"),
            Just("|"),
            Just("ε"),
            Just("eps"),
            Just("a"),
            Just("b"),
            Just("'x'"),
            Just("\"q\""),
            Just("[0.5]"),
            Just("[1]"),
            Just("[0]"),
            Just("[-1]"),
            Just("[nan]"),
            Just("[inf]"),
            Just("[1e308]"),
            Just("\n"),
            Just(" "),
            Just("#"),
            Just("'")
        ],
        0..30,
    )
    .prop_map(|parts| parts.join(" "))
}

fn check_regex(pattern: &str) {
    if let Ok(d) = compile_regex(pattern, &['a', 'b', 'c'], 4096) {
        assert!(d.num_states() >= 1);
    }
}

fn check_grammar_text(src: &str) {
    if let Ok(g) = text::parse(src, true) {
        let _ = g.to_text();
        let p = Parser::new(&g);
        let k = g.terminals().len() as u32;
        let w: Vec<u32> = (0..4).map(|i| if k == 0 { 0 } else { i % k }).collect();
        let _ = p.string_probability(&w);
        let _ = p.count_parses(&w);
        if let Ok(m) = PrefixModel::new(&g) {
            let _ = m.prefix_probability(&w[..2]);
            let _ = m.prefix_probability(&[]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn regex_never_panics(pattern in regex_text()) {
        check_regex(&pattern);
    }

    #[test]
    fn grammar_text_never_panics(src in grammar_text()) {
        check_grammar_text(&src);
    }

    #[test]
    fn life_rules_never_panic(rule in "[BbSs/0-9a-z~ ]{0,20}") {
        if let Ok(r) = LifeRule::parse(&rule) {
            prop_assert_eq!(LifeRule::parse(&r.notation()).unwrap().notation(), r.notation());
        }
    }

    #[test]
    fn cfg3_levels_never_panic(
        levels in proptest::collection::vec(
            proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(0usize..6, 0..4), 0..3),
                0..4,
            ),
            0..4,
        ),
        num_terminals in 0usize..5,
    ) {
        let names: Vec<Vec<String>> = levels
            .iter()
            .enumerate()
            .map(|(l, level)| (0..level.len()).map(|i| format!("N{l}_{i}")).collect())
            .collect();
        let _ = cfg3::from_levels(&levels, &names, num_terminals);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn copying_configs_never_panic(
        vocab_size in prop_oneof![0usize..40, Just(usize::MAX)],
        length in prop_oneof![0usize..80, Just(usize::MAX), Just(1usize << 40)],
        n in prop_oneof![0usize..40, Just(usize::MAX), Just(1usize << 63), Just(usize::MAX / 2)],
        selective in any::<bool>(),
    ) {
        let cfg = CopyingConfig { vocab_size, length, num_tokens_to_copy: n, selective };
        if cfg.validate().is_ok() {
            let b: kleene_core::Result<SeqBatch<i32>> =
                generate(&cfg, StreamKey::new(1, 2), 0, 2, Some(1));
            if let Ok(b) = b {
                prop_assert_eq!(b.tokens.len(), 2 * length);
            }
        }
    }
}

fn edge_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..=1.0f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.5),
        Just(1.5),
        Just(0.0),
        Just(1.0)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn eca_task_configs_never_panic(
        rule in prop_oneof![0u32..256, Just(256u32), Just(u32::MAX)],
        width in prop_oneof![0usize..130, Just(usize::MAX)],
        stride in prop_oneof![0usize..4, Just(usize::MAX)],
        seq_length in prop_oneof![0usize..12, Just(usize::MAX)],
        sample_width in prop_oneof![0usize..130, Just(usize::MAX)],
        horizon in prop_oneof![0usize..200, Just(usize::MAX), Just(1usize << 24)],
        trajectories in prop_oneof![0usize..4, Just(usize::MAX)],
        density in edge_f64(),
        train_fraction in edge_f64(),
        split in prop_oneof![Just(EcaSplit::All), Just(EcaSplit::Train), Just(EcaSplit::Test)],
        start in prop_oneof![0u64..10, Just(u64::MAX)],
    ) {
        let cfg = EcaTaskConfig {
            rule, width, boundary: Boundary::Periodic, density, stride, seq_length,
            sample_width, horizon, trajectories, split, train_fraction,
        };
        if let Ok(b) = eca_batch(&cfg, StreamKey::new(3, 4), start, 2, Some(1)) {
            prop_assert_eq!(b.cells.len(), 2 * seq_length * sample_width);
        }
    }

    #[test]
    fn life_task_configs_never_panic(
        rule in "[BS/0-9]{0,10}",
        size in prop_oneof![0usize..40, Just(usize::MAX), Just(1usize << 21)],
        low in edge_f64(),
        high in edge_f64(),
        warmup in prop_oneof![0usize..5, Just(usize::MAX)],
        horizon in prop_oneof![0usize..5, Just(usize::MAX), Just(1usize << 20)],
        torus in any::<bool>(),
    ) {
        let Ok(rule) = LifeRule::parse(&rule) else { return Ok(()) };
        let boundary = if torus { LifeBoundary::Torus } else { LifeBoundary::Dead };
        let cfg = LifeTaskConfig {
            rule, size, boundary, density_low: low, density_high: high, warmup, horizon,
        };
        if let Ok(b) = life_batch(&cfg, StreamKey::new(3, 4), 0, 2, Some(1)) {
            prop_assert_eq!(b.input.len(), 2 * size * size);
        }
    }
}

/// Every input that once crashed, panicked or ran away (issue 18 and fuzzing), replayed.
#[test]
fn regression_corpus() {
    let deep = format!("{}a{}", "(".repeat(20000), ")".repeat(20000));
    check_regex(&deep);
    check_regex(&format!("a{}", "*".repeat(50000)));
    check_regex("(k+t*){3,}");
    // Issue 18: subset construction exploding; refused at the state cap, not after 5 GB.
    let exploding = compile_regex("(|a?(k+t*){999,}|)+[ata-k]{50,}", &['k', 't', 'a'], 64);
    assert!(exploding.unwrap_err().to_string().contains("max_states"));
    check_regex("((a{1000}){1000}){1000}");
    assert!(compile_regex("((a{1000}){1000}){1000}", &['a'], DEFAULT_REGEX_DFA_STATES).is_err());
    check_grammar_text("S -> ε");
    let g = text::parse("S -> ε", false).unwrap();
    assert_eq!(
        PrefixModel::new(&g)
            .unwrap()
            .prefix_probability(&[])
            .unwrap(),
        1.0
    );
    for n in [1usize << 63, usize::MAX, usize::MAX / 2 + 1] {
        for selective in [false, true] {
            let cfg = CopyingConfig {
                vocab_size: 16,
                length: 256,
                num_tokens_to_copy: n,
                selective,
            };
            assert!(cfg.validate().is_err());
        }
    }
}
