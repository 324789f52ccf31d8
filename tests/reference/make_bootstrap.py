#!/usr/bin/env python3
"""Reference values for modelgate's paired, label-stratified bootstrap
(src/stats/bootstrap.rs), computed the straightforward way: each resample
materialises its rows with numpy (positives drawn with replacement from the
positives, negatives from the negatives, the same rows for both models) and
scores them with scikit-learn. Its random numbers are numpy's, not
modelgate's, so the Rust test compares within Monte Carlo error.
The data is make_delong.py's, from the SplitMix64 stream mirrored in
tests/stats_reference.rs.

    .venv/bin/python tests/reference/make_bootstrap.py > tests/reference/bootstrap_reference.json
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_delong import CASES, generate  # noqa: E402

RESAMPLES = 2000
CONFIDENCE = 0.95
AT_FPR = [0.01, 0.1]
# Each case's operating threshold: a fixed score, or the one at an FPR.
THRESHOLDS = [{"fixed": 1.0}, {"at_fpr": 0.05}, {"fixed": 1.0}, {"at_fpr": 0.05}]


def metrics(y, s, threshold):
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    precision, recall, _ = precision_recall_curve(y, s)
    out = {
        "roc_auc": auc(fpr, tpr),
        "average_precision": average_precision_score(y, s),
        "pr_auc": auc(recall, precision),
        "ks": float(np.max(np.abs(tpr - fpr))),
    }

    def best_at(target):
        # The highest recall with FPR <= target; among equal recalls the
        # lowest FPR (roc_curve runs from the highest threshold down).
        ok = np.flatnonzero(fpr <= target)
        k = ok[np.argmax(tpr[ok])]
        return tpr[k], thr[k]

    for t in AT_FPR:
        out[f"recall_at_fpr[{t}]"] = best_at(t)[0]
    cut = threshold["fixed"] if "fixed" in threshold else best_at(threshold["at_fpr"])[1]
    pred = s >= cut
    tp = int(np.sum(pred & y))
    fp = int(np.sum(pred & ~y))
    fn = int(np.sum(~pred & y))
    tn = len(y) - tp - fp - fn
    out["precision"] = tp / (tp + fp) if tp + fp else 0.0
    out["recall"] = tp / (tp + fn)
    out["f1"] = 2 * tp / (2 * tp + fp + fn)
    out["accuracy"] = (tp + tn) / len(y)
    return out


def main():
    rng = np.random.default_rng(20261130)
    tail = (1 - CONFIDENCE) / 2
    cases = []
    for c, threshold in zip(CASES, THRESHOLDS):
        y, a, b = generate(c)
        full_a, full_b = metrics(y, a, threshold), metrics(y, b, threshold)
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        reps_a, reps_b = {k: [] for k in full_a}, {k: [] for k in full_b}
        for _ in range(RESAMPLES):
            rows = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
            ma = metrics(y[rows], a[rows], threshold)
            mb = metrics(y[rows], b[rows], threshold)
            for k in ma:
                reps_a[k].append(ma[k])
                reps_b[k].append(mb[k])
        expected = {}
        for k in full_a:
            ra, rb = np.array(reps_a[k]), np.array(reps_b[k])
            d = np.sort(ra - rb)
            below = (1 + np.sum(d <= 0)) / (RESAMPLES + 1)
            above = (1 + np.sum(d >= 0)) / (RESAMPLES + 1)
            expected[k] = {
                "candidate": full_a[k],
                "candidate_interval": list(np.quantile(ra, [tail, 1 - tail])),
                "production_interval": list(np.quantile(rb, [tail, 1 - tail])),
                "delta": full_a[k] - full_b[k],
                "low": np.quantile(d, tail),
                "high": np.quantile(d, 1 - tail),
                "std_error": d.std(ddof=1),
                "p_value": min(1.0, 2 * min(below, above)),
            }
        cases.append({"params": c, "threshold": threshold, "expected": expected})
        print(f"case {c['seed']} done", file=sys.stderr)
    json.dump(
        {
            "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
            "resamples": RESAMPLES,
            "confidence": CONFIDENCE,
            "at_fpr": AT_FPR,
            "cases": cases,
        },
        sys.stdout,
        indent=1,
        default=float,
    )
    print()


if __name__ == "__main__":
    main()
