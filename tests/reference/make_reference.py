#!/usr/bin/env python3
"""Reference values for modelgate's metrics, computed with scikit-learn.

The test data is not stored: each case is produced by a tiny seeded generator
(SplitMix64 plus IEEE arithmetic only, no transcendental functions) that
tests/metrics_reference.rs reimplements bit for bit. This script records the
generator parameters and scikit-learn's answers in metrics_reference.json.

    python3 -m venv .venv && .venv/bin/pip install -r tests/reference/requirements.txt
    .venv/bin/python tests/reference/make_reference.py > tests/reference/metrics_reference.json
"""
import json
import math
import sys

import numpy as np
import scipy
import sklearn
from scipy.stats import ks_2samp
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def generate(p):
    """Labels and scores for one case; mirrored in tests/metrics_reference.rs."""
    rng = SplitMix64(p["seed"])
    n = p["n"]
    y = np.zeros(n, dtype=np.int64)
    s = np.zeros(n, dtype=np.float64)
    for i in range(n):
        u1, u2, u3 = rng.uniform(), rng.uniform(), rng.uniform()
        label = u1 < p["prevalence"]
        if p["single_positive"] is not None:
            label = i == p["single_positive"]
        score = (u2 + (p["shift"] if label else 0.0)) / (1.0 + p["shift"])
        if p["levels"] > 0:
            score = math.floor(score * p["levels"]) / p["levels"]
        if u3 < p["p_zero"]:
            score = 0.0
        elif u3 > 1.0 - p["p_one"]:
            score = 1.0
        score = score * p["scale"] + p["offset"]
        y[i] = 1 if label else 0
        s[i] = score
    return y, s


def at_fpr(y, s, target):
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    idx = np.where(fpr <= target)[0]
    best = idx[np.argmax(tpr[idx])]
    t = float(thr[best])
    return {
        "target_fpr": target,
        "fpr": float(fpr[best]),
        "recall": float(tpr[best]),
        "threshold": t if math.isfinite(t) else None,
    }


def expected(y, s, threshold, fprs):
    precision, recall, _ = precision_recall_curve(y, s)
    pred = (s >= threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    probabilities = bool(np.all((s >= 0.0) & (s <= 1.0)))
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, s)),
        "average_precision": float(average_precision_score(y, s)),
        "pr_auc": float(auc(recall, precision)),
        "log_loss": float(log_loss(y, s)) if probabilities else None,
        "brier": float(brier_score_loss(y, s)) if probabilities else None,
        "ks": float(ks_2samp(s[y == 1], s[y == 0]).statistic),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "tp": int(tp),
        "fp": int(fp),
        "tn": int(tn),
        "fn": int(fn),
        "at_fpr": [at_fpr(y, s, t) for t in fprs],
    }


def case(name, seed, n, prevalence, shift=0.3, levels=0, p_zero=0.0, p_one=0.0,
         scale=1.0, offset=0.0, single_positive=None, threshold=0.5,
         at=(0.001, 0.01, 0.1)):
    return {
        "name": name,
        "params": {
            "seed": seed, "n": n, "prevalence": prevalence, "shift": shift,
            "levels": levels, "p_zero": p_zero, "p_one": p_one, "scale": scale,
            "offset": offset, "single_positive": single_positive,
        },
        "threshold": threshold,
        "at_fpr": list(at),
    }


CASES = [
    case("continuous", seed=1, n=5_000, prevalence=0.1),
    case("heavy_ties", seed=2, n=20_000, prevalence=0.05, levels=10),
    case("two_levels", seed=3, n=3_000, prevalence=0.3, shift=0.5, levels=2, threshold=0.5),
    case("single_positive", seed=4, n=2_000, prevalence=0.0, single_positive=1234, threshold=0.9),
    case("zeros_and_ones", seed=5, n=10_000, prevalence=0.02, p_zero=0.1, p_one=0.05, levels=1000),
    case("rank_only_scores", seed=6, n=8_000, prevalence=0.07, scale=10.0, offset=-5.0, threshold=0.0),
    case("perfect_separation", seed=7, n=1_000, prevalence=0.2, shift=1.0, threshold=0.5),
    case("threshold_above_all", seed=8, n=1_000, prevalence=0.2, threshold=2.0),
    case("rare_fraud", seed=9, n=100_000, prevalence=0.005, shift=0.5, levels=100_000),
    case("one_million", seed=10, n=1_000_000, prevalence=0.005, shift=0.4),
]


def main():
    cases = []
    for c in CASES:
        y, s = generate(c["params"])
        c = dict(c)
        c["expected"] = expected(y, s, c["threshold"], c["at_fpr"])
        cases.append(c)
        print(f"{c['name']}: done", file=sys.stderr)
    doc = {
        "generator": "splitmix64; see tests/reference/make_reference.py",
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "cases": cases,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
