#!/usr/bin/env python3
"""Reference values for modelgate's DeLong test (src/stats.rs), computed the
slow, textbook way: the full m x n kernel matrix of each model, its
structural components, and scipy's normal distribution for the p-value;
the one-sided margin tests and detectable effect; and the paired z-test of
log loss and Brier on per-row differences (scores mapped to probabilities
by a logistic link), cross-checked against scikit-learn's metrics.
The data comes from the SplitMix64 stream of make_reference.py, mirrored in
tests/stats_reference.rs.

    .venv/bin/python tests/reference/make_delong.py > tests/reference/delong_reference.json
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, log_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import SplitMix64  # noqa: E402

CASES = [
    {"seed": 1, "n": 2000, "prevalence": 0.1, "shift": 0.5, "noise_c": 0.3, "noise_p": 0.5, "levels": 0},
    {"seed": 2, "n": 3000, "prevalence": 0.02, "shift": 0.6, "noise_c": 0.4, "noise_p": 0.4, "levels": 0},
    {"seed": 3, "n": 1500, "prevalence": 0.3, "shift": 0.3, "noise_c": 0.3, "noise_p": 0.35, "levels": 10},
    {"seed": 4, "n": 2500, "prevalence": 0.05, "shift": 0.4, "noise_c": 0.6, "noise_p": 0.2, "levels": 0},
]


def generate(c):
    rng = SplitMix64(c["seed"])
    y, a, b = [], [], []
    for _ in range(c["n"]):
        u1, u2, u3, u4 = rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform()
        label = u1 < c["prevalence"]
        base = u2 + (c["shift"] if label else 0.0)
        s1 = base + c["noise_c"] * u3
        s2 = base + c["noise_p"] * u4
        if c["levels"]:
            s1 = math.floor(s1 * c["levels"]) / c["levels"]
            s2 = math.floor(s2 * c["levels"]) / c["levels"]
        y.append(label)
        a.append(s1)
        b.append(s2)
    return np.array(y), np.array(a), np.array(b)


def kernel(pos, neg):
    return (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])


def delong(y, a, b):
    out = []
    comps = []
    for s in (a, b):
        k = kernel(s[y], s[~y])
        comps.append((k.mean(axis=1), k.mean(axis=0)))
        out.append(k.mean())
    m, n = y.sum(), (~y).sum()
    s10 = np.cov(np.vstack([comps[0][0], comps[1][0]]))
    s01 = np.cov(np.vstack([comps[0][1], comps[1][1]]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    delta = out[0] - out[1]
    se = math.sqrt(var)
    z = delta / se
    return {"auc_candidate": out[0], "auc_production": out[1], "delta": delta, "std_error": se, "z": z,
            "p_value": 2 * norm.sf(abs(z)), "low": delta - norm.ppf(0.975) * se, "high": delta + norm.ppf(0.975) * se}


def paired_losses(y, a, b):
    # The scores as probabilities (a logistic link), then the paired z-test
    # of the mean per-row difference in log loss and in squared error,
    # cross-checked against scikit-learn's metrics.
    pa, pb = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    eps = np.finfo(float).eps
    out = {}
    for name, loss in (
        ("log_loss", lambda p: -np.log(np.clip(np.where(y, p, 1 - p), eps, 1 - eps))),
        ("brier", lambda p: (p - y) ** 2),
    ):
        d = loss(pa) - loss(pb)
        reference = {"log_loss": log_loss, "brier": brier_score_loss}[name]
        assert abs(d.mean() - (reference(y, pa) - reference(y, pb))) < 1e-12
        se = d.std(ddof=1) / math.sqrt(len(d))
        z = d.mean() / se
        out[name] = {"delta": d.mean(), "std_error": se, "z": z, "p_value": 2 * norm.sf(abs(z)),
                     "low": d.mean() - norm.ppf(0.975) * se, "high": d.mean() + norm.ppf(0.975) * se}
    return out


def main():
    cases = []
    for c in CASES:
        y, a, b = generate(c)
        expected = delong(y, a, b)
        # One-sided tests of the improvement against a bound, for margins.
        margins = []
        for greater in (True, False):
            improvement = expected["delta"] if greater else -expected["delta"]
            for bound in (-0.02, 0.0, 0.01):
                z = (improvement - bound) / expected["std_error"]
                margins.append({"bound": bound, "greater_is_better": greater,
                                "p_value": norm.sf(z), "p_value_short": norm.cdf(z)})
        expected["margins"] = margins
        # The effect a one-sided test at alpha 0.05 detects with power 0.8.
        expected["detectable_05_80"] = (norm.ppf(0.95) + norm.ppf(0.8)) * expected["std_error"]
        expected["losses"] = paired_losses(y, a, b)
        cases.append({"params": c, "expected": expected})
    json.dump({"versions": {"numpy": np.__version__, "scipy": scipy.__version__}, "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
