"""Writes cases.yaml: seeded columns where production separates the classes
and the candidate is noise (the gate fails), and where the candidate is
production (it passes). Run: python3 make_cases.py"""

import random
from pathlib import Path

r = random.Random(11)
n, pos = 400, 40
labels = [1] * pos + [0] * (n - pos)
prod = [round(0.6 + 0.4 * r.random(), 3) if y else round(0.7 * r.random(), 3) for y in labels]
noise = [round(r.random(), 3) for _ in labels]


def fmt(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


Path(__file__).with_name("cases.yaml").write_text(f"""\
# modelgate gate test recall-at-fpr.wasm --cases cases.yaml
# Written by make_cases.py (seeded); edit that, not this.
cases:
  - name: the same model as production passes with its interval
    production: score_production
    holdout:
      columns:
        is_fraud: {fmt(labels)}
        score_candidate: {fmt(prod)}
        score_production: {fmt(prod)}
    expect: pass
    expect_summary: "change +0.0000"
  - name: a candidate that is noise fails beyond the interval
    production: score_production
    holdout:
      columns:
        is_fraud: {fmt(labels)}
        score_candidate: {fmt(noise)}
        score_production: {fmt(prod)}
    expect: fail
    expect_summary: "lower than production's beyond the interval"
  - name: without production there is nothing to compare
    holdout:
      columns:
        is_fraud: {fmt(labels)}
        score_candidate: {fmt(noise)}
    expect: pass
    expect_summary: "no production model"
  - name: an FPR the config does not evaluate is an error
    with: {{ fpr: 0.05 }}
    production: score_production
    holdout:
      columns:
        is_fraud: {fmt(labels[30:50])}
        score_candidate: {fmt(prod[30:50])}
        score_production: {fmt(prod[30:50])}
    expect: error
""")
