#!/usr/bin/env python3
"""The Python job modelgate replaces, for the benchmark in bench/run.sh.

What a fraud team's hand-written quality gate does with the same data as
`modelgate run` with the six built-in gates: read the holdout and the
reference with polars, compute scikit-learn's metrics for the candidate and
production scores, profile every column (counts, missing values, moments,
quantiles, equal-frequency histograms on the reference's deciles, top
categories), test drift with scipy's two-sample KS and the PSI, and check
missing values, class balance and the schema.

Usage: python_job.py HOLDOUT.parquet REFERENCE.parquet OUT.json
"""
import json
import sys

import numpy as np
import polars as pl
from scipy.stats import ks_2samp
from sklearn.metrics import (average_precision_score, brier_score_loss, f1_score, log_loss,
                             precision_score, recall_score, roc_auc_score, roc_curve)

LABEL, SCORES = "is_fraud", ("score_candidate", "score_production")
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] + [i / 10 for i in range(1, 10)]


def metrics(y, s):
    fpr, tpr, _ = roc_curve(y, s)
    pred = s >= 0.5
    return {
        "roc_auc": roc_auc_score(y, s),
        "average_precision": average_precision_score(y, s),
        "log_loss": log_loss(y, s),
        "brier": brier_score_loss(y, s),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        **{f"recall_at_fpr[{f}]": float(np.max(tpr[fpr <= f])) for f in (0.001, 0.01)},
    }


def profile(s: pl.Series, edges=None):
    p = {"dtype": str(s.dtype), "count": s.len(), "nulls": s.null_count()}
    if s.dtype.is_numeric():
        v = s.cast(pl.Float64).to_numpy()
        v = v[~np.isnan(v)]
        p["nulls"] = s.len() - len(v)
        if len(v):
            q = np.quantile(v, QUANTILES)
            p.update(min=float(v.min()), max=float(v.max()), mean=float(v.mean()),
                     std=float(v.std()), quantiles=q[:7].tolist())
            e = edges if edges is not None else np.unique(
                np.concatenate([[v.min()], q[7:], [v.max()]]))
            p["histogram"] = np.histogram(np.clip(v, e[0], e[-1]), bins=e)[0].tolist()
            return p, v, e
        return p, v, None
    counts = s.drop_nulls().cast(pl.String).value_counts(sort=True)
    p["distinct"] = counts.height
    p["top"] = counts.head(20).rows()
    return p, None, None


def psi(h, r):
    h = np.maximum(np.asarray(h) / max(sum(h), 1), 1e-6)
    r = np.maximum(np.asarray(r) / max(sum(r), 1), 1e-6)
    return float(np.sum((h - r) * np.log(h / r)))


def main():
    holdout, reference, out = sys.argv[1:4]
    h, r = pl.read_parquet(holdout), pl.read_parquet(reference)
    y = h[LABEL].to_numpy()
    report = {"metrics": {s: metrics(y, h[s].to_numpy()) for s in SCORES}}
    profiles, drift, missing = {}, {}, {}
    for name in h.columns:
        rp, rv, edges = profile(r[name]) if name in r.columns else (None, None, None)
        hp, hv, _ = profile(h[name], edges)
        profiles[name] = {"holdout": hp, "reference": rp}
        missing[name] = hp["nulls"] / max(hp["count"], 1) <= 0.01
        if hv is not None and rv is not None and len(hv) and len(rv):
            ks = ks_2samp(hv, rv)
            drift[name] = {"ks": float(ks.statistic), "p": float(ks.pvalue),
                           "psi": psi(hp["histogram"], rp["histogram"])}
    rate = float(y.mean())
    report.update(
        profiles=profiles, drift=drift,
        checks={"missing": all(missing.values()), "balance": 0.001 <= rate <= 0.05,
                "schema": {c: str(h[c].dtype) == str(r[c].dtype) for c in h.columns if c in r.columns},
                "candidate_not_worse": report["metrics"][SCORES[0]]["average_precision"]
                >= report["metrics"][SCORES[1]]["average_precision"] - 0.005})
    with open(out, "w") as f:
        json.dump(report, f, default=str)


if __name__ == "__main__":
    main()
