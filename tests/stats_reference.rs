//! DeLong's test against a textbook implementation (full kernel matrices,
//! numpy covariances, scipy's normal distribution) in
//! `reference/make_delong.py`, and the bootstrap against numpy and
//! scikit-learn in `reference/make_bootstrap.py`; the data is regenerated
//! here.

use crate::splitmix::SplitMix64;
use modelgate::config::{MetricsSpec, StatsSpec, Threshold};
use modelgate::stats::{bootstrap, delong};
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
        let got = delong(&a, &b, &y, 0.95).expect("both classes present");
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
        let got = delong(&a, &b, &y, 0.95).expect("both classes present");
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
        let got = delong(&a, &b, &y, 0.95).unwrap();
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
        let tests = modelgate::metrics::loss_tests(&logistic(&a), &logistic(&b), &y, None, 0.95);
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

const BOOTSTRAP_REFERENCE: &str = include_str!("reference/bootstrap_reference.json");

fn bootstrap_spec(doc: &Value, case: &Value) -> (MetricsSpec, StatsSpec) {
    let threshold = &case["threshold"];
    let metrics = MetricsSpec {
        threshold: match threshold["fixed"].as_f64() {
            Some(t) => Threshold::Fixed(t),
            None => Threshold::AtFpr(threshold["at_fpr"].as_f64().unwrap()),
        },
        at_fpr: doc["at_fpr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect(),
        cost: None,
        alert_budget: None,
    };
    let stats = StatsSpec {
        resamples: doc["resamples"].as_u64().unwrap() as u32,
        seed: 7,
        confidence: doc["confidence"].as_f64().unwrap(),
    };
    (metrics, stats)
}

/// The bootstrap against numpy resampling rows and scikit-learn scoring
/// each resample (`reference/make_bootstrap.py`). The point estimates are
/// exact; the intervals, standard errors and p-values are each a Monte
/// Carlo estimate on both sides, so they agree within that error: about
/// 0.1 standard errors for a 2.5% quantile of 2000 resamples, a step of
/// 1/positives for the metrics that count rows, 2% for a standard error.
#[test]
fn bootstrap_matches_resampling_with_scikit_learn() {
    let doc: Value = serde_json::from_str(BOOTSTRAP_REFERENCE).unwrap();
    let resamples = doc["resamples"].as_f64().unwrap();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let (y, a, b) = generate(&case["params"]);
        let (metrics, stats) = bootstrap_spec(&doc, case);
        let got = bootstrap::run(
            &a,
            Some(&b),
            &y,
            &Default::default(),
            &metrics,
            &stats,
            None,
        )
        .expect("both classes");
        let positives = y.iter().filter(|l| **l).count() as f64;
        let seed = &case["params"]["seed"];
        for (metric, want) in case["expected"].as_object().unwrap() {
            let w = |k: &str| want[k].as_f64().unwrap();
            let step = if matches!(metric.as_str(), "average_precision" | "pr_auc" | "roc_auc") {
                0.0
            } else {
                1.0 / positives
            };
            let (_, cand) = got.candidate.iter().find(|(n, _)| n == metric).unwrap();
            let (_, prod) = got.production.iter().find(|(n, _)| n == metric).unwrap();
            for (g, key) in [(cand, "candidate_interval"), (prod, "production_interval")] {
                let interval = &want[key];
                let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
                let tol = 0.4 * (hi - lo) / 3.92 + step + 1e-12;
                assert!(
                    (g[0] - lo).abs() <= tol && (g[1] - hi).abs() <= tol,
                    "seed {seed} {metric} {key}: {g:?} vs [{lo}, {hi}]"
                );
            }
            if metric == "roc_auc" {
                // Its paired test is DeLong's, checked above.
                continue;
            }
            let (_, t) = got.tests.iter().find(|(n, _)| n == metric).unwrap();
            assert!(
                (t.delta - w("delta")).abs() < 1e-12,
                "seed {seed} {metric}: delta {} vs scikit-learn {}",
                t.delta,
                w("delta")
            );
            let se = w("std_error");
            assert!(
                (t.std_error - se).abs() <= 0.12 * se + step / 4.0,
                "seed {seed} {metric}: se {} vs {se}",
                t.std_error
            );
            let tol = 0.4 * se + step + 1e-12;
            assert!(
                (t.low - w("low")).abs() <= tol && (t.high - w("high")).abs() <= tol,
                "seed {seed} {metric}: [{}, {}] vs [{}, {}]",
                t.low,
                t.high,
                w("low"),
                w("high")
            );
            let p = w("p_value");
            let p_tol = 4.0 * (2.0 * p * (1.0 - p) / resamples).sqrt() + 0.02;
            assert!(
                (t.p_value - p).abs() <= p_tol,
                "seed {seed} {metric}: p {} vs {p}",
                t.p_value
            );
            checked += 1;
        }
    }
    // Four cases, nine metrics each.
    assert_eq!(checked, 36);
}

/// The coverage of the bootstrap's 95% interval of the delta, on 400
/// holdouts drawn from one population where both models are equally good
/// (exchangeable noise on the same signal, so every true delta is zero).
/// With 400 seeds the binomial standard error of a share is 1.1 points.
/// - The smooth metrics (average precision, PR AUC) cover 92.5% to 97.5%.
/// - The counted ones (recall, precision, recall at an FPR) and KS may be
///   conservative: their deltas move in steps of 1/positives, so the
///   percentile bounds land on a step that the interval includes, and KS
///   is a maximum over thresholds. None may cover less than 92.5%, the
///   direction that would let a gate pass on noise.
#[test]
fn bootstrap_intervals_cover_a_zero_difference_about_95_percent() {
    let metrics = MetricsSpec {
        threshold: Threshold::Fixed(0.9),
        at_fpr: vec![0.05],
        cost: None,
        alert_budget: None,
    };
    let stats = StatsSpec {
        resamples: 1000,
        seed: 11,
        confidence: 0.95,
    };
    let names = [
        "average_precision",
        "pr_auc",
        "ks",
        "recall_at_fpr[0.05]",
        "precision",
        "recall",
    ];
    let seeds = 400;
    let mut covered = vec![0u32; names.len()];
    for seed in 0..seeds {
        let mut rng = SplitMix64(1000 + seed);
        let (mut y, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..1500 {
            let label = rng.uniform() < 0.1;
            let base = rng.uniform() + if label { 0.4 } else { 0.0 };
            y.push(label);
            a.push(base + 0.4 * rng.uniform());
            b.push(base + 0.4 * rng.uniform());
        }
        let got = bootstrap::run(
            &a,
            Some(&b),
            &y,
            &Default::default(),
            &metrics,
            &stats,
            None,
        )
        .unwrap();
        for (k, name) in names.iter().enumerate() {
            let (_, t) = got.tests.iter().find(|(n, _)| n == name).unwrap();
            covered[k] += u32::from(t.low <= 0.0 && 0.0 <= t.high);
        }
    }
    let shares: Vec<f64> = covered
        .iter()
        .map(|c| f64::from(*c) / seeds as f64)
        .collect();
    for (name, share) in names.iter().zip(&shares) {
        eprintln!("coverage of the 95% interval, {name}: {share:.3}");
    }
    for (name, share) in names.iter().zip(&shares) {
        let smooth = matches!(*name, "average_precision" | "pr_auc");
        let high = if smooth { 0.975 } else { 1.0 };
        assert!((0.925..=high).contains(share), "{name}: {share}");
    }
}

const KS_REFERENCE: &str = include_str!("reference/ks_reference.json");

/// The exact two-sample KS statistic equals scipy's `ks_2samp`, ties
/// included; its asymptotic p-value is within 3% of scipy's exact one
/// where a decision could turn on it (p above 0.001), and within 25% in
/// the far tail, where every threshold is passed anyway.
#[test]
fn ks_matches_scipy() {
    let doc: Value = serde_json::from_str(KS_REFERENCE).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let (_, a, b) = generate(&case["params"]);
        let rows = case["holdout_rows"].as_u64().unwrap() as usize;
        let got = modelgate::stats::ks::two_sample(&a, &b[..rows]).unwrap();
        let want = case["statistic"].as_f64().unwrap();
        assert!(
            (got.statistic - want).abs() < 1e-12,
            "{} vs {want}",
            got.statistic
        );
        let p = case["p_exact"].as_f64().unwrap();
        let ratio = got.p_value / p;
        let band = if p > 1e-3 { 0.03 } else { 0.25 };
        assert!(
            (ratio - 1.0).abs() <= band,
            "p {} vs scipy {p}",
            got.p_value
        );
    }
}
