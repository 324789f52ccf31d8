#!/usr/bin/env python3
"""Reference values for modelgate's two-sample KS test (src/stats/ks.rs):
scipy's ks_2samp on each make_delong.py case, comparing the candidate's
scores (the "reference" sample) with the production's (the "holdout"),
ties included in the cases on a 1/10 grid. `exact` is scipy's exact
p-value where it computes one; `asymp` its asymptotic one.

    .venv/bin/python tests/reference/make_ks.py > tests/reference/ks_reference.json
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy.stats import ks_2samp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_delong import CASES, generate  # noqa: E402


def main():
    cases = []
    for c in CASES:
        _, a, b = generate(c)
        # Unequal sizes too: the holdout is the first 60% of the rows.
        for n_b in (len(b), int(len(b) * 0.6)):
            asymp = ks_2samp(a, b[:n_b], method="asymp")
            exact = ks_2samp(a, b[:n_b], method="exact")
            cases.append({"params": c, "holdout_rows": n_b, "statistic": asymp.statistic,
                          "p_asymp": asymp.pvalue, "p_exact": exact.pvalue})
    json.dump({"versions": {"numpy": np.__version__, "scipy": scipy.__version__}, "cases": cases},
              sys.stdout, indent=1, default=float)
    print()


if __name__ == "__main__":
    main()
