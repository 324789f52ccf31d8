//! DeLong's test against a textbook implementation (full kernel matrices,
//! numpy covariances, scipy's normal distribution) in
//! `reference/make_delong.py`; the data is regenerated here.

use crate::splitmix::SplitMix64;
use modelgate::stats::delong;
use serde_json::Value;

const REFERENCE: &str = include_str!("reference/delong_reference.json");

fn generate(p: &Value) -> (Vec<bool>, Vec<f64>, Vec<f64>) {
    let f = |k: &str| p[k].as_f64().unwrap();
    let mut rng = SplitMix64(p["seed"].as_u64().unwrap());
    let levels = f("levels");
    let (mut y, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..p["n"].as_u64().unwrap() {
        let (u1, u2, u3, u4) = (rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform());
        let label = u1 < f("prevalence");
        let base = u2 + if label { f("shift") } else { 0.0 };
        let (mut s1, mut s2) = (base + f("noise_c") * u3, base + f("noise_p") * u4);
        if levels != 0.0 {
            s1 = (s1 * levels).floor() / levels;
            s2 = (s2 * levels).floor() / levels;
        }
        y.push(label);
        a.push(s1);
        b.push(s2);
    }
    (y, a, b)
}

/// The fields of a test that the references record, by their JSON names.
fn fields(t: &modelgate::stats::DeltaTest) -> [(&'static str, f64); 5] {
    [
        ("delta", t.delta),
        ("std_error", t.std_error),
        ("z", t.z),
        ("low", t.low),
        ("high", t.high),
    ]
}

#[test]
fn delong_matches_the_textbook_computation() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let (mut worst, mut worst_p) = (0.0f64, 0.0f64);
    for case in doc["cases"].as_array().unwrap() {
        let (y, a, b) = generate(&case["params"]);
        let got = delong(&a, &b, &y).expect("both classes present");
        let want = &case["expected"];
        for (name, g) in fields(&got) {
            let w = want[name].as_f64().unwrap();
            let diff = (g - w).abs() / w.abs().max(1.0);
            worst = worst.max(diff);
            assert!(
                diff < 1e-9,
                "seed {}: {name} {g} vs {w}",
                case["params"]["seed"]
            );
        }
        // libm's erfc is exact to an ulp or so: the p-value is as close
        // to scipy's as z is.
        let (g, w) = (got.p_value, want["p_value"].as_f64().unwrap());
        let diff = (g - w).abs() / w.max(1e-300);
        worst_p = worst_p.max(diff);
        assert!(diff <= 1e-12, "p {g} vs {w}");
    }
    eprintln!("DeLong: max relative difference {worst:.1e}, p-value {worst_p:.1e}");
}

/// The one-sided p-values behind `improve_by` and `no_worse_than` agree
/// with scipy's `norm.sf` and `norm.cdf` of the same z, in both directions
/// and on both sides of zero; the detectable effect with `norm.ppf`.
#[test]
fn margin_tests_match_scipy() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let mut worst = 0.0f64;
    for case in doc["cases"].as_array().unwrap() {
        let (y, a, b) = generate(&case["params"]);
        let got = delong(&a, &b, &y).expect("both classes present");
        let margins = case["expected"]["margins"].as_array().unwrap();
        assert_eq!(margins.len(), 6);
        for m in margins {
            let bound = m["bound"].as_f64().unwrap();
            let greater = m["greater_is_better"].as_bool().unwrap();
            let (p, short) = modelgate::stats::one_sided(&got, bound, greater);
            for (g, name) in [(p, "p_value"), (short, "p_value_short")] {
                let w = m[name].as_f64().unwrap();
                let diff = (g - w).abs() / w.max(1e-300);
                worst = worst.max(diff);
                assert!(diff <= 1e-9, "{name} at {bound} ({greater}): {g} vs {w}");
            }
        }
    }
    eprintln!("margin tests: max relative difference {worst:.1e}");
    for case in doc["cases"].as_array().unwrap() {
        let (y, a, b) = generate(&case["params"]);
        let got = delong(&a, &b, &y).unwrap();
        let d = modelgate::stats::detectable(&got, 0.05, 0.8);
        let want = case["expected"]["detectable_05_80"].as_f64().unwrap();
        assert!((d - want).abs() <= 1e-12 * want, "detectable {d} vs {want}");
    }
}

/// Log loss and Brier are means over rows: their paired test is the z-test
/// of the mean per-row difference, here against numpy and scipy on the
/// same cases with the scores made probabilities by a logistic link.
#[test]
fn paired_loss_tests_match_numpy() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let mut worst = 0.0f64;
    for case in doc["cases"].as_array().unwrap() {
        let (y, a, b) = generate(&case["params"]);
        let logistic =
            |s: &[f64]| -> Vec<f64> { s.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect() };
        let tests = modelgate::metrics::loss_tests(&logistic(&a), &logistic(&b), &y);
        assert_eq!(tests.len(), 2);
        for (metric, got) in tests {
            let want = &case["expected"]["losses"][metric];
            for (name, g) in fields(&got).into_iter().chain([("p_value", got.p_value)]) {
                let w = want[name].as_f64().unwrap();
                let diff = (g - w).abs() / w.abs().max(1e-300);
                worst = worst.max(diff);
                assert!(diff < 1e-10, "{metric} {name}: {g} vs {w}");
            }
        }
    }
    eprintln!("paired loss tests: max relative difference {worst:.1e}");
}
