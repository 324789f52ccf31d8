"""Amount-weighted (dollar) metrics on seeded data, computed by scikit-learn
as recall_score with the amounts as sample weights, the cost metrics by
trying every threshold, and the metrics at an alert budget (precision@k
per day, averaged) by a plain per-day top-k, and every metric with sample
weights (`holdout.weight`) by scikit-learn's `sample_weight`, for
tests/metrics_reference.rs. The rows come from the SplitMix64 stream of
make_reference.py, which the Rust test regenerates bit for bit.

    python tests/reference/make_dollars.py > tests/reference/dollars_reference.json

Versions: requirements.txt (scikit-learn, numpy).
"""

import json
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss, f1_score,
                             log_loss, precision_score, recall_score, roc_auc_score, roc_curve)

from make_reference import SplitMix64  # the stream the Rust tests mirror


def rows(seed, n):
    """label: 4% fraud; score: on a 0.01 grid (ties), fraud higher; amount:
    on a cent grid, fraud skewed higher. Mirrored in metrics_reference.rs."""
    rng = SplitMix64(seed)
    y, s, a = [], [], []
    for _ in range(n):
        fraud = rng.uniform() < 0.04
        # Integers over 100: both languages divide the same way.
        score = (int(rng.uniform() * 70) + (30 if fraud else 0)) / 100.0
        amount = int(rng.uniform() * (90000 if fraud else 30000)) / 100.0
        y.append(int(fraud))
        s.append(score)
        a.append(amount)
    return np.array(y), np.array(s), np.array(a)


def threshold_at_fpr(y, s, target, w=None):
    """modelgate's rule: the highest recall whose FPR <= target; among equal
    recalls the highest threshold. Infinity flags nothing."""
    fpr, tpr, thr = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    best_t, best_r = np.inf, 0.0
    for f, r, t in zip(fpr, tpr, thr):
        if f > target:
            break
        if r > best_r:
            best_t, best_r = t, r
    return best_t


def costs(y, s, a, threshold, c_fp, c_fn):
    """The cost metrics by brute force: every threshold tried."""
    miss = a if c_fn == "amount" else np.full(len(y), float(c_fn))
    fraud = y == 1

    def cost(t):
        return c_fp * np.sum(~fraud & (s >= t)) + miss[fraud & (s < t)].sum()

    total = miss[fraud].sum()
    expected = cost(threshold)
    best, best_t = total, None  # flagging nothing
    for t in np.unique(s)[::-1]:
        c = cost(t)
        if c < best:
            best, best_t = c, float(t)
    return {"expected_cost": float(expected), "savings": float(total - expected),
            "min_expected_cost": float(best), "cost_optimal_threshold": best_t}


def weight_of(i):
    """Row i's sample weight, by position: not whole, as inverse
    propensities are (the Rust test writes the same)."""
    return 0.5 + (i % 5) * 0.75


def weighted(y, s, a, threshold, targets):
    """Every metric with sample weights, by scikit-learn."""
    w = np.array([weight_of(i) for i in range(len(y))])
    flagged = (s >= threshold).astype(int)
    out = {
        "roc_auc": roc_auc_score(y, s, sample_weight=w),
        "average_precision": average_precision_score(y, s, sample_weight=w),
        "log_loss": log_loss(y, s, sample_weight=w),
        "brier": brier_score_loss(y, s, sample_weight=w),
        "precision": precision_score(y, flagged, sample_weight=w, zero_division=0),
        "recall": recall_score(y, flagged, sample_weight=w),
        "f1": f1_score(y, flagged, sample_weight=w),
        "accuracy": accuracy_score(y, flagged, sample_weight=w),
        "tp": float(w[(y == 1) & (flagged == 1)].sum()),
        "fp": float(w[(y == 0) & (flagged == 1)].sum()),
        "dollar_recall": recall_score(y, flagged, sample_weight=w * a),
    }
    for t in targets:
        thr = threshold_at_fpr(y, s, t, w)
        out[f"recall_at_fpr[{t}]"] = recall_score(y, (s >= thr).astype(int), sample_weight=w)
    return out


def day_of(i):
    """Row i's day: 0-12, by position (the Rust test writes the same)."""
    return i % 13


def at_budget(y, s, a, days, k_of):
    """Each day's top-k by score, k = k_of(rows that day). A tie at the k-th
    score is flagged in part (its expected share under a random order), so
    the result does not depend on row order. Precision per day, averaged;
    recall and dollar recall over all days."""
    precisions, alerts, caught, dollars = [], 0.0, 0.0, 0.0
    for d in np.unique(days):
        sel = days == d
        ys, ss, as_ = y[sel], s[sel], a[sel]
        k = k_of(len(ys))
        kth = np.sort(ss)[::-1][k - 1]
        above, tied = ss > kth, ss == kth
        share = (k - above.sum()) / tied.sum()
        flagged = above + share * tied
        c = float((flagged * ys).sum())
        precisions.append(c / k)
        alerts += k
        caught += c
        dollars += float((flagged * ys * as_).sum())
    return {"alerts_at_budget": alerts, "precision_at_budget": float(np.mean(precisions)),
            "recall_at_budget": caught / y.sum(), "dollar_recall_at_budget": dollars / a[y == 1].sum()}


def main():
    cases = []
    for seed, n, threshold, targets, c_fp, c_fn in [(1, 3000, 0.5, [0.01, 0.05], 2.5, "amount"),
                                                    (2, 20000, 0.62, [0.001, 0.02], 4.0, 150)]:
        y, s, a = rows(seed, n)
        flagged = (s >= threshold).astype(int)
        fraud_amount = a[y == 1].sum()
        dollar_recall = recall_score(y, flagged, sample_weight=a)
        expected = {
            "dollar_recall": dollar_recall,
            "dollars_caught": float(a[(y == 1) & (flagged == 1)].sum()),
            "dollars_missed": float(a[(y == 1) & (flagged == 0)].sum()),
        }
        for t in targets:
            thr = threshold_at_fpr(y, s, t)
            expected[f"dollar_recall_at_fpr[{t}]"] = recall_score(y, (s >= thr).astype(int), sample_weight=a)
        days = np.array([day_of(i) for i in range(n)])
        per_day, fraction = 40, 0.03
        budget = {
            "per_day": per_day,
            "fraction": fraction,
            "at_per_day": at_budget(y, s, a, days, lambda rows: min(per_day, rows)),
            "at_fraction": at_budget(y, s, a, np.zeros(n, dtype=int),
                                     lambda rows: max(1, int(np.floor(fraction * rows)))),
        }
        cases.append({"seed": seed, "rows": n, "threshold": threshold, "at_fpr": targets, "budget": budget,
                      "weighted": weighted(y, s, a, threshold, targets),
                      "fraud_amount": float(fraud_amount), "expected": expected,
                      "cost": {"false_positive": c_fp, "false_negative": c_fn},
                      "costs": costs(y, s, a, threshold, c_fp, c_fn)})
    json.dump({"generator": "SplitMix64 rows() of make_dollars.py",
               "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
               "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
