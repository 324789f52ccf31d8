#!/usr/bin/env python3
"""Trains the benchmark models and times their own libraries on 200k rows,
single-threaded, for `cargo bench --bench models` to compare against.

    .venv/bin/python tests/reference/bench_models.py target/bench-models
    MODELGATE_BENCH_MODELS=target/bench-models cargo bench --bench models

Models (not committed; a few MB): a 100-tree depth-8 random forest (ONNX),
300-tree XGBoost (JSON) and LightGBM (text) models, each also as ONNX. The
rows come from make_models.py's generator, so the Rust side regenerates them.
"""
import json
import os
import sys
import time

import lightgbm
import numpy as np
import onnxruntime
import onnxmltools
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
from skl2onnx import to_onnx
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, os.path.dirname(__file__))
from make_models import labels, rows  # noqa: E402

ROWS = 200_000
SEED = 4242
REPEAT = 5


def best(f):
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def ort_session(path):
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def main(out):
    os.makedirs(out, exist_ok=True)
    x_train = rows(1, 20_000, True)
    y_train = labels(1, x_train)
    x7 = x_train[:, :7]
    test = rows(SEED, ROWS, True)[:, :7]
    test32 = test.astype(np.float32)
    timings = {"rows": ROWS, "seed": SEED, "threads": 1, "versions": {
        "onnxruntime": onnxruntime.__version__, "xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__}}

    rf = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=2)
    rf.fit(np.nan_to_num(x7), y_train)
    onx = to_onnx(rf, x7[:1].astype(np.float32), options={id(rf): {"zipmap": False}}, target_opset=17)
    with open(os.path.join(out, "rf.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    sess = ort_session(os.path.join(out, "rf.onnx"))
    name = sess.get_inputs()[0].name
    timings["rf.onnx"] = {"onnxruntime": best(lambda: sess.run(None, {name: test32}))}

    xgb = xgboost.XGBClassifier(n_estimators=300, max_depth=6, learning_rate=0.1, random_state=0,
                                tree_method="hist", n_jobs=2)
    xgb.fit(x7, y_train)
    booster = xgb.get_booster()
    booster.save_model(os.path.join(out, "xgb.json"))
    booster.set_param({"nthread": 1})
    onx = onnxmltools.convert_xgboost(xgb, initial_types=[("input", MlFloat([None, 7]))], target_opset=15)
    with open(os.path.join(out, "xgb.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    sess_x = ort_session(os.path.join(out, "xgb.onnx"))
    timings["xgb.json"] = {"xgboost": best(lambda: booster.inplace_predict(test)),
                           "onnxruntime": best(lambda: sess_x.run(None, {"input": test32}))}

    lgb = lightgbm.LGBMClassifier(n_estimators=300, num_leaves=63, learning_rate=0.1, random_state=0,
                                  verbose=-1, n_jobs=2)
    lgb.fit(x7, y_train)
    lgb.booster_.save_model(os.path.join(out, "lgbm.txt"))
    onx = onnxmltools.convert_lightgbm(lgb, initial_types=[("input", MlFloat([None, 7]))], target_opset=15,
                                       zipmap=False)
    with open(os.path.join(out, "lgbm.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    sess_l = ort_session(os.path.join(out, "lgbm.onnx"))
    timings["lgbm.txt"] = {"lightgbm": best(lambda: lgb.booster_.predict(test, num_threads=1)),
                           "onnxruntime": best(lambda: sess_l.run(None, {"input": test32}))}

    with open(os.path.join(out, "timings.json"), "w") as f:
        json.dump(timings, f, indent=1)
    print(json.dumps(timings, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench-models")
