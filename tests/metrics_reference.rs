//! Every metric against scikit-learn. The cases' data is regenerated here
//! from the parameters in `reference/metrics_reference.json`, with the same
//! SplitMix64 generator as `reference/make_reference.py`; scikit-learn's
//! answers are in the JSON. No Python is needed to run this test.

use modelgate::config::{MetricsSpec, Threshold};
use modelgate::metrics::{self, ModelMetrics};
use serde_json::Value;

const REFERENCE: &str = include_str!("reference/metrics_reference.json");
/// Absolute tolerance, relative for values above 1 (log loss).
const TOLERANCE: f64 = 1e-9;

use crate::splitmix::SplitMix64;

/// Mirrors `generate` in make_reference.py.
pub fn generate(p: &Value) -> (Vec<f64>, Vec<bool>) {
    let f = |k: &str| p[k].as_f64().unwrap();
    let n = p["n"].as_u64().unwrap() as usize;
    let single = p["single_positive"].as_u64().map(|v| v as usize);
    let (prevalence, shift, levels) = (f("prevalence"), f("shift"), f("levels"));
    let (p_zero, p_one, scale, offset) = (f("p_zero"), f("p_one"), f("scale"), f("offset"));
    let mut rng = SplitMix64(p["seed"].as_u64().unwrap());
    let (mut scores, mut labels) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let (u1, u2, u3) = (rng.uniform(), rng.uniform(), rng.uniform());
        let label = match single {
            Some(k) => i == k,
            None => u1 < prevalence,
        };
        let mut s = (u2 + if label { shift } else { 0.0 }) / (1.0 + shift);
        if levels > 0.0 {
            s = (s * levels).floor() / levels;
        }
        if u3 < p_zero {
            s = 0.0;
        } else if u3 > 1.0 - p_one {
            s = 1.0;
        }
        scores.push(s * scale + offset);
        labels.push(label);
    }
    (scores, labels)
}

fn close(name: &str, case: &str, got: f64, want: f64, worst: &mut f64) {
    let diff = (got - want).abs();
    let scaled = diff / want.abs().max(1.0);
    *worst = worst.max(scaled);
    assert!(
        scaled <= TOLERANCE,
        "{case}: {name} = {got:.17} but scikit-learn gives {want:.17} (diff {diff:e})"
    );
}

fn check(case: &str, m: &ModelMetrics, e: &Value, worst: &mut f64) {
    for name in [
        "roc_auc",
        "average_precision",
        "pr_auc",
        "ks",
        "precision",
        "recall",
        "f1",
        "accuracy",
    ] {
        let got = match name {
            "roc_auc" => m.roc_auc,
            "average_precision" => m.average_precision,
            "pr_auc" => m.pr_auc,
            "ks" => m.ks,
            "precision" => m.precision,
            "recall" => m.recall,
            "f1" => m.f1,
            _ => m.accuracy,
        };
        close(name, case, got, e[name].as_f64().unwrap(), worst);
    }
    for (name, got) in [("log_loss", m.log_loss), ("brier", m.brier)] {
        match (got, e[name].as_f64()) {
            (Some(g), Some(w)) => close(name, case, g, w, worst),
            (None, None) => {}
            (g, w) => {
                panic!("{case}: {name} applicability differs: ours {g:?}, scikit-learn {w:?}")
            }
        }
    }
    for (name, got) in [
        ("rows", m.rows as f64),
        ("positives", m.positives as f64),
        ("tp", m.tp),
        ("fp", m.fp),
        ("tn", m.tn),
        ("fn", m.fn_),
    ] {
        assert_eq!(got, e[name].as_u64().unwrap() as f64, "{case}: {name}");
    }
    let at = e["at_fpr"].as_array().unwrap();
    assert_eq!(m.at_fpr.len(), at.len());
    for (ours, want) in m.at_fpr.iter().zip(at) {
        let t = ours.target_fpr;
        close(
            &format!("fpr@{t}"),
            case,
            ours.fpr,
            want["fpr"].as_f64().unwrap(),
            worst,
        );
        close(
            &format!("recall@{t}"),
            case,
            ours.recall,
            want["recall"].as_f64().unwrap(),
            worst,
        );
        match want["threshold"].as_f64() {
            Some(w) => assert_eq!(ours.threshold, w, "{case}: threshold@{t}"),
            None => assert!(
                ours.threshold.is_infinite(),
                "{case}: threshold@{t} should flag nothing"
            ),
        }
    }
}

fn spec(case: &Value) -> MetricsSpec {
    MetricsSpec {
        threshold: Threshold::Fixed(case["threshold"].as_f64().unwrap()),
        at_fpr: case["at_fpr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect(),
        cost: None,
        alert_budget: None,
    }
}

#[test]
fn metrics_match_scikit_learn() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "reference cases went missing");
    let mut worst = 0.0f64;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (scores, labels) = generate(&case["params"]);
        let m = metrics::evaluate(&scores, &labels, &spec(case)).unwrap();
        check(name, &m, &case["expected"], &mut worst);
    }
    // Printed so the figure can be quoted (cargo test -- --nocapture).
    eprintln!("max scaled difference against scikit-learn: {worst:e}");
}

#[test]
fn threshold_at_fpr_uses_each_models_own_cut() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let case = &doc["cases"][0];
    let (scores, labels) = generate(&case["params"]);
    let at = &case["expected"]["at_fpr"][2];
    let spec = MetricsSpec {
        threshold: Threshold::AtFpr(at["target_fpr"].as_f64().unwrap()),
        at_fpr: vec![],
        cost: None,
        alert_budget: None,
    };
    let m = metrics::evaluate(&scores, &labels, &spec).unwrap();
    assert_eq!(m.threshold, at["threshold"].as_f64().unwrap());
    assert_eq!(m.recall, at["recall"].as_f64().unwrap());
    assert!(m.fp / (m.fp + m.tn) <= 0.1);
}

/// Mirrors `rows` in make_dollars.py: (label, score, amount).
fn dollar_rows(seed: u64, n: usize) -> Vec<(bool, f64, f64)> {
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|_| {
            let fraud = rng.uniform() < 0.04;
            let score = ((rng.uniform() * 70.0) as u64 + if fraud { 30 } else { 0 }) as f64 / 100.0;
            let amount =
                (rng.uniform() * if fraud { 90000.0 } else { 30000.0 }) as u64 as f64 / 100.0;
            (fraud, score, amount)
        })
        .collect()
}

/// Dollar recall, dollars caught and missed, and dollar recall at each FPR
/// target, through `modelgate evaluate` on a CSV with an amount column,
/// against scikit-learn's `recall_score` weighted by the amounts
/// (`reference/make_dollars.py`); and each gets a bootstrap interval and a
/// paired test like every rate metric.
#[test]
fn dollar_metrics_match_scikit_learn_weighted_recall() {
    let doc: Value =
        serde_json::from_str(include_str!("reference/dollars_reference.json")).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let n = case["rows"].as_u64().unwrap() as usize;
        let rows = dollar_rows(case["seed"].as_u64().unwrap(), n);
        let t = tempfile::TempDir::new().unwrap();
        let mut csv = String::from("is_fraud,score,other,amount\n");
        for (i, (y, s, a)) in rows.iter().enumerate() {
            // A production model that ranks a little differently.
            let other = (s + (i % 7) as f64 / 100.0).min(1.0);
            csv.push_str(&format!("{},{s},{other},{a}\n", u8::from(*y)));
        }
        crate::util::write(&t.path().join("h.csv"), csv);
        let targets: Vec<String> = case["at_fpr"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        let cost = &case["cost"];
        let miss = match cost["false_negative"].as_str() {
            Some(column) => column.to_string(),
            None => cost["false_negative"].to_string(),
        };
        crate::util::write(
            &t.path().join("modelgate.yaml"),
            format!(
                "model: m\nholdout: {{ path: h.csv, label: is_fraud, amount: amount }}\n\
                 candidate: {{ scores: {{ column: score }} }}\nproduction: {{ scores: {{ column: other }} }}\n\
                 metrics: {{ threshold: {}, at_fpr: [{}] }}\nstats: {{ bootstrap: 200 }}\n\
                 cost: {{ false_positive: {}, false_negative: {miss} }}\n",
                case["threshold"],
                targets.join(", "),
                cost["false_positive"]
            ),
        );
        let out = crate::util::modelgate(t.path())
            .args(["evaluate", "--format", "json"])
            .run()
            .json();
        let got = &out["models"]["candidate"]["metrics"];
        // The dollar-recall curve runs from nothing flagged to everything,
        // never falling.
        let curve = out["models"]["candidate"]["curves"]["dollar_recall"]
            .as_array()
            .unwrap();
        let xy: Vec<(f64, f64)> = curve
            .iter()
            .map(|p| (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap()))
            .collect();
        assert_eq!((xy[0], xy[xy.len() - 1]), ((0.0, 0.0), (1.0, 1.0)));
        assert!(xy.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        // The cost metrics against trying every threshold in numpy.
        let costs = case["costs"].as_object().unwrap();
        assert_eq!(
            got["cost_optimal_threshold"].as_f64(),
            costs["cost_optimal_threshold"].as_f64()
        );
        for name in ["expected_cost", "savings", "min_expected_cost"] {
            let (g, w) = (got[name].as_f64().unwrap(), costs[name].as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{name} {g} vs {w}"
            );
            assert_eq!(
                out["delta_tests"][name]["method"], "paired bootstrap",
                "{name}"
            );
        }
        let expected = case["expected"].as_object().unwrap();
        assert_eq!(expected.len(), 3 + targets.len());
        for (name, want) in expected {
            let (g, w) = (got[name].as_f64().unwrap(), want.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "seed {}: {name} {g} vs scikit-learn {w}",
                case["seed"]
            );
            assert!(
                out["models"]["candidate"]["intervals"][name].is_array(),
                "{name} has an interval"
            );
            let test = &out["delta_tests"][name];
            assert_eq!(test["method"], "paired bootstrap", "{name}: {test}");
            assert!(test["low"].as_f64().unwrap() <= test["high"].as_f64().unwrap());
        }
        at_budget(case, &rows);
        weighted(case, &rows, &targets);
    }
}

/// Every metric with `holdout.weight` against scikit-learn's
/// `sample_weight` (weights that are not whole, as inverse propensities
/// are not), and ROC AUC's paired test by the bootstrap, since DeLong's
/// takes no weights.
fn weighted(case: &Value, rows: &[(bool, f64, f64)], targets: &[String]) {
    let t = tempfile::TempDir::new().unwrap();
    let mut csv = String::from("is_fraud,score,other,amount,w\n");
    for (i, (y, s, a)) in rows.iter().enumerate() {
        let other = (s + (i % 7) as f64 / 100.0).min(1.0);
        // weight_of(i) in make_dollars.py.
        let w = 0.5 + (i % 5) as f64 * 0.75;
        csv.push_str(&format!("{},{s},{other},{a},{w}\n", u8::from(*y)));
    }
    crate::util::write(&t.path().join("h.csv"), csv);
    crate::util::write(
        &t.path().join("modelgate.yaml"),
        format!(
            "model: m\nholdout: {{ path: h.csv, label: is_fraud, amount: amount, weight: w }}\n\
             candidate: {{ scores: {{ column: score }} }}\nproduction: {{ scores: {{ column: other }} }}\n\
             metrics: {{ threshold: {}, at_fpr: [{}] }}\nstats: {{ bootstrap: 200 }}\n",
            case["threshold"],
            targets.join(", ")
        ),
    );
    let out = crate::util::modelgate(t.path())
        .args(["evaluate", "--format", "json"])
        .run()
        .json();
    let got = &out["models"]["candidate"]["metrics"];
    let want = case["weighted"].as_object().unwrap();
    assert_eq!(want.len(), 11 + targets.len());
    for (name, w) in want {
        let (g, w) = (got[name].as_f64().unwrap(), w.as_f64().unwrap());
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "seed {} weighted: {name} {g} vs scikit-learn {w}",
            case["seed"]
        );
    }
    assert_eq!(out["delta_tests"]["roc_auc"]["method"], "paired bootstrap");
    assert_eq!(out["holdout"]["weight"], "w");
}

/// The metrics at an alert budget, per day (dated by text) and as a share
/// of rows, against make_dollars.py's plain per-day top-k.
fn at_budget(case: &Value, rows: &[(bool, f64, f64)]) {
    let t = tempfile::TempDir::new().unwrap();
    let mut csv = String::from(
        "is_fraud,score,other,amount,day
",
    );
    for (i, (y, s, a)) in rows.iter().enumerate() {
        let other = (s + (i % 7) as f64 / 100.0).min(1.0);
        // day_of(i) in make_dollars.py, as ISO 8601 text.
        let day = format!("2026-11-{:02}T12:30:00Z", i % 13 + 1);
        csv.push_str(&format!(
            "{},{s},{other},{a},{day}
",
            u8::from(*y)
        ));
    }
    crate::util::write(&t.path().join("h.csv"), csv);
    let b = &case["budget"];
    for (budget, key, method) in [
        (
            format!("{{ per_day: {}, timestamp: day }}", b["per_day"]),
            "at_per_day",
            "paired bootstrap of days",
        ),
        (
            format!("{{ fraction: {} }}", b["fraction"]),
            "at_fraction",
            "paired bootstrap",
        ),
    ] {
        crate::util::write(
            &t.path().join("modelgate.yaml"),
            format!(
                "model: m\nholdout: {{ path: h.csv, label: is_fraud, amount: amount }}\n\
                 candidate: {{ scores: {{ column: score }} }}\nproduction: {{ scores: {{ column: other }} }}\n\
                 metrics: {{ alert_budget: {budget} }}\nstats: {{ bootstrap: 200 }}\n"
            ),
        );
        let out = crate::util::modelgate(t.path())
            .args(["evaluate", "--format", "json"])
            .run()
            .json();
        let got = &out["models"]["candidate"]["metrics"];
        let want = b[key].as_object().unwrap();
        assert_eq!(want.len(), 4);
        for (name, w) in want {
            let (g, w) = (got[name].as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "seed {} {key}: {name} {g} vs {w}",
                case["seed"]
            );
            if name != "alerts_at_budget" {
                let test = &out["delta_tests"][name];
                assert_eq!(test["method"], method, "{name}: {test}");
                let [lo, hi] = [0, 1].map(|k| {
                    out["models"]["candidate"]["intervals"][name][k]
                        .as_f64()
                        .unwrap()
                });
                assert!(lo <= g && g <= hi, "{key} {name}: {g} outside [{lo}, {hi}]");
            }
        }
    }
}
