"""Checks that modelgate decides the same on a holdout file and on its
Spark summary (modelgate.summary/v1): the decision and every gate's
verdict; each model's metrics (ROC AUC, average precision, PR AUC, the
at-FPR points and the curves exactly, the others to 1e-12 relative);
DeLong's test and the paired loss tests to 1e-9; and the numbers every
gate observed (profiles, drift, thresholds) to 1e-9.

Bootstrap intervals and the bootstrap's tests are not compared: the
summary's come from its weighted sample, by design.

    python spark/compare.py FILE_DECISION.json SUMMARY_DECISION.json
"""

import json
import math
import sys

EXACT = {"roc_auc", "average_precision", "pr_auc", "tp", "fp", "tn", "fn", "threshold",
         "precision", "recall", "f1", "accuracy", "ks", "rows", "positives"}
EXACT_TESTS = {"DeLong", "paired z of per-row losses"}

failures = []


def close(a, b, tol):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
    return a == b


def check(what, a, b, tol):
    if not close(a, b, tol):
        failures.append(f"{what}: file {a!r}, summary {b!r}")


def main(file_path, summary_path):
    a = json.load(open(file_path))
    b = json.load(open(summary_path))
    check("decision", a["decision"], b["decision"], 0)
    check("blocking", a["blocking"], b["blocking"], 0)
    gb = {g["id"]: g for g in b["gates"]}
    observed = 0
    for g in a["gates"]:
        h = gb.get(g["id"])
        if h is None:
            failures.append(f"gate {g['id']}: missing from the summary's run")
            continue
        check(f"gate {g['id']} verdict", g["verdict"], h["verdict"], 0)
        mine, theirs = g.get("observations", []), h.get("observations", [])
        if [o["name"] for o in mine] != [o["name"] for o in theirs]:
            failures.append(f"gate {g['id']}: observations {[o['name'] for o in mine]}, "
                            f"summary {[o['name'] for o in theirs]}")
            continue
        for o, p in zip(mine, theirs):
            check(f"gate {g['id']} {o['name']} passed", o.get("passed"), p.get("passed"), 0)
            for field in ("observed", "threshold"):
                check(f"gate {g['id']} {o['name']} {field}", o.get(field), p.get(field), 1e-9)
            observed += 1
    ea, eb = a["evaluation"], b["evaluation"]
    check("rows", ea["rows"], eb["rows"], 0)
    check("positives", ea["positives"], eb["positives"], 0)
    metrics = 0
    for role in ["candidate", "production"]:
        ma, mb = ea["models"].get(role), eb["models"].get(role)
        if ma is None:
            continue
        for k, v in ma["metrics"].items():
            check(f"{role} {k}", v, mb["metrics"].get(k), 0 if k in EXACT else 1e-12)
            metrics += 1
        check(f"{role} at_fpr", ma["at_fpr"], mb["at_fpr"], 0)
        for curve, points in ma["curves"].items():
            other = mb["curves"].get(curve, [])
            if len(points) != len(other):
                failures.append(f"{role} curve {curve}: {len(points)} points, summary {len(other)}")
                continue
            tol = 0 if curve in ("roc", "pr") else 1e-12
            for i, (p, q) in enumerate(zip(points, other)):
                for axis in ("x", "y", "threshold"):
                    check(f"{role} curve {curve}[{i}].{axis}", p.get(axis), q.get(axis), tol)
    tests = 0
    for k, t in ea["delta_tests"].items():
        if t["method"] not in EXACT_TESTS:
            continue
        u = eb["delta_tests"].get(k)
        if u is None or u["method"] != t["method"]:
            failures.append(f"test {k}: {t['method']} in the file's run, {u and u['method']} in the summary's")
            continue
        for field in ("delta", "std_error", "low", "high", "z", "p_value"):
            check(f"test {k} {field}", t[field], u[field], 1e-9)
        tests += 1
    if failures:
        print(f"{len(failures)} differences between {file_path} and {summary_path}:")
        for f in failures[:40]:
            print("  " + f)
        return 1
    print(f"same decision ({a['decision']}, {len(a['gates'])} gates, {observed} observations), "
          f"{metrics} metrics and {tests} exact tests")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
