"""Writes the seed corpus in fuzz/corpus/: small, valid inputs for each
target, so mutation starts from files a run accepts. Model seeds are cut
down from tests/reference/models (made by tests/reference/make_models.py
with the libraries themselves). A seed named `bad-*` is one a run refuses; every other seed must be
accepted, which the integration tests check. `crash-*` files are inputs
that once crashed a target, kept as regression tests; this script leaves
them alone. Deterministic; needs only the
standard library. Run from the repository root: python3 fuzz/make_corpus.py
"""
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
MODELS = os.path.join(ROOT, "tests", "reference", "models")


def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(OUT, target, name), mode) as f:
        f.write(data)


def configs():
    write("config", "minimal.yaml", """model: fraud
holdout: { path: holdout.parquet, label: is_fraud }
candidate: { scores: { column: score } }
""")
    write("config", "full.yaml", """model: fraud-detector
holdout:
  path: data/holdout.csv
  label: is_fraud
  id: transaction_id
  amount: amount
  positive: 1
candidate:
  xgboost: { path: models/candidate.json }
  features: [f01, f02, f03]
production:
  scores: { path: prod.csv, column: score, join_on: transaction_id }
reference: { path: data/train.parquet }
metrics:
  threshold: 0.5
  at_fpr: [0.01, 0.05]
gates:
  - uses: builtin:missing-values
    with: { max_ratio: 0.01, columns: { amount: 0.2 }, ignore: [note] }
  - uses: builtin:drift
    id: drift-check
    severity: warn
    timeout: 2s
    memory: 64MiB
    with: { psi_fail: 0.25, top: 5 }
  - uses: ./gates/custom.wasm
registry:
  kind: github
  repository: acme/fraud
promote:
  dispatch: { event_type: deploy }
  webhooks:
    - url: https://example.com/hook
      secret_env: HOOK_SECRET
lineage:
  training_data: data/train.parquet
  params: { max_depth: 6, eta: 0.1 }
""")
    write("config", "anchors.yaml", """model: &m fraud
holdout: { path: "h.ndjson", label: 'y' }
candidate: { scores: { column: s } }
gates:
  - uses: builtin:metric-threshold
    with: { min: { roc_auc: 0.8 }, checks: ["recall_at_fpr_0.01 >= 0.5"] }
  - uses: builtin:champion-challenger
    with: { metrics: { roc_auc: { min_absolute_change: 0.0, max_p_value: 0.05 } } }
""")


def data():
    rows = [
        ("1", "12.50", "grocery", "0.91", "0.2"),
        ("0", "3.10", "travel", "0.05", ""),
        ("0", "", "grocery", "0.12", "1e-3"),
        ("1", "999.99", "", "0.77", "-4"),
        ("0", "7", "\"fuel, station\"", "0.33", "NaN"),
        ("0", "0.01", "travel", "0.02", "inf"),
    ]
    header = "is_fraud,amount,merchant,score,f01"
    write("csv", "holdout.csv", header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    write("csv", "dates.csv", "label,when,flag\ntrue,2024-01-31,yes\nfalse,2024-02-29T12:00:00,no\n")
    lines = []
    for r in rows:
        obj = {"is_fraud": int(r[0]), "amount": float(r[1]) if r[1] else None,
               "merchant": r[2].strip('"') or None, "score": float(r[3])}
        lines.append(json.dumps(obj))
    write("ndjson", "holdout.ndjson", "\n".join(lines) + "\n")
    write("ndjson", "bad-nested.ndjson", '{"y": 1, "tags": ["a", "b"], "m": {"k": 2}}\n{"y": 0, "tags": [], "m": null}\n')


def xgboost_trees(name, n):
    """The reference XGBoost JSON model cut to its first `n` trees."""
    with open(os.path.join(MODELS, name)) as f:
        doc = json.load(f)
    model = doc["learner"]["gradient_booster"]["model"]
    model["trees"] = model["trees"][:n]
    model["tree_info"] = model["tree_info"][:n]
    model["iteration_indptr"] = model["iteration_indptr"][: n + 1]
    model["gbtree_model_param"]["num_trees"] = str(n)
    return json.dumps(doc, separators=(",", ":"))


def models():
    write("xgboost", "two-trees.json", xgboost_trees("xgb.json", 2))
    write("xgboost", "categorical.json", xgboost_trees("xgb_cat.json", 1))
    shutil.copy(os.path.join(MODELS, "xgb.ubj"), os.path.join(OUT, "xgboost", "model.ubj"))

    with open(os.path.join(MODELS, "lgbm.txt")) as f:
        text = f.read()
    # The header, the first two trees and the footer.
    head, _, rest = text.partition("\nTree=0\n")
    trees = ("Tree=0\n" + rest).split("\n\n")
    kept = [t for t in trees if t.startswith(("Tree=0", "Tree=1\n"))]
    footer = rest[rest.index("end of trees"):]
    write("lightgbm", "two-trees.txt", head + "\n" + "\n\n".join(kept) + "\n\n" + footer)

    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    for name in ["lr.onnx", "lr_nozipmap.onnx", "rf_nozipmap.onnx"]:
        shutil.copy(os.path.join(MODELS, name), os.path.join(OUT, "onnx", name))


def outcomes():
    # Bytes the target reads as: verdict, summary, repeat, count, then
    # observations; a few shapes to start from.
    write("gate_outcome", "pass", bytes([0, 4]) + b"ok!!" + bytes([1, 0, 2]) + bytes(range(40)))
    write("gate_outcome", "many", bytes([2, 8]) + b"failing!" + bytes([3, 0, 200]) + bytes(range(256)) * 4)


if __name__ == "__main__":
    configs()
    data()
    models()
    outcomes()
