#!/usr/bin/env python3
"""scikit-learn's time for modelgate's metric set, for comparison with
`cargo bench --bench evaluate`. Usage: bench_sklearn.py [ROWS] (default 10M).
Reports wall and CPU seconds for two score columns."""
import sys
import time

import numpy as np
from scipy.stats import ks_2samp
from sklearn.metrics import (accuracy_score, auc, average_precision_score, brier_score_loss,
                             confusion_matrix, f1_score, log_loss, precision_recall_curve,
                             precision_score, recall_score, roc_auc_score, roc_curve)


def metrics(y, s):
    roc_auc_score(y, s)
    average_precision_score(y, s)
    p, r, _ = precision_recall_curve(y, s)
    auc(r, p)
    log_loss(y, s)
    brier_score_loss(y, s)
    ks_2samp(s[y == 1], s[y == 0])
    pred = s >= 0.5
    precision_score(y, pred, zero_division=0)
    recall_score(y, pred, zero_division=0)
    f1_score(y, pred, zero_division=0)
    accuracy_score(y, pred)
    confusion_matrix(y, pred)
    roc_curve(y, s, drop_intermediate=False)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    rng = np.random.default_rng(7)
    y = (rng.random(n) < 0.005).astype(np.int64)
    cols = [1 / (1 + np.exp(-(rng.normal(size=n) + 2.0 * y - 5))) for _ in range(2)]
    wall, cpu = time.perf_counter(), time.process_time()
    for s in cols:
        metrics(y, s)
    print(f"scikit-learn, {n} rows, 2 models: wall {time.perf_counter() - wall:.1f} s, "
          f"CPU {time.process_time() - cpu:.1f} s")


if __name__ == "__main__":
    main()
