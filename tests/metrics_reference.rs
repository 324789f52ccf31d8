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
        ("rows", m.rows),
        ("positives", m.positives),
        ("tp", m.tp),
        ("fp", m.fp),
        ("tn", m.tn),
        ("fn", m.fn_),
    ] {
        assert_eq!(got, e[name].as_u64().unwrap(), "{case}: {name}");
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
    };
    let m = metrics::evaluate(&scores, &labels, &spec).unwrap();
    assert_eq!(m.threshold, at["threshold"].as_f64().unwrap());
    assert_eq!(m.recall, at["recall"].as_f64().unwrap());
    assert!(m.fp as f64 / (m.fp + m.tn) as f64 <= 0.1);
}
