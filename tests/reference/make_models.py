#!/usr/bin/env python3
"""Small seeded models and their libraries' own predictions, for modelgate's
model-format tests (tests/models_reference.rs).

Each model is saved in the formats users deploy (ONNX from skl2onnx or
onnxmltools, default and `zipmap: False`; XGBoost JSON and UBJ; LightGBM
text), and each file's reference predictions come from the library that
owns the format: onnxruntime for ONNX, xgboost for XGBoost files, lightgbm
for LightGBM files. The test rows are not stored: they come from a SplitMix64
generator that the Rust test reimplements bit for bit, with values on a
1/512 grid so float32 and float64 see the same numbers.

    python3 -m venv .venv && .venv/bin/pip install -r tests/reference/requirements-models.txt
    .venv/bin/python tests/reference/make_models.py tests/reference/models
"""
import json
import os
import sys

import lightgbm
import numpy as np
import pandas  # noqa: F401  (xgboost's categorical input; pinned in requirements)
import onnxruntime
import skl2onnx
import sklearn
import xgboost
import onnxmltools
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
from skl2onnx import to_onnx
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import SplitMix64  # noqa: E402  (the same stream as the metric references)

FEATURES = [f"f{j}" for j in range(8)]
TEST_SEED = 20261126
TEST_ROWS = 600


def rows(seed, n, missing):
    """Features; mirrored in tests/models_reference.rs. f7 is a category 0-5.
    With `missing`, f1 and f3 are NaN in about 10% of rows."""
    rng = SplitMix64(seed)
    x = np.empty((n, 8))
    for i in range(n):
        for j in range(8):
            u, v = rng.uniform(), rng.uniform()
            if j == 7:
                value = float(int(u * 6))
            else:
                value = (int(u * 4096) - 2048) / 512.0
            if missing and j in (1, 3) and v < 0.1:
                value = float("nan")
            x[i, j] = value
    return x


def labels(seed, x):
    rng = SplitMix64(seed ^ 0xABCDEF)
    f = np.nan_to_num(x)
    logit = 1.5 * f[:, 0] - 1.0 * f[:, 1] + 0.6 * f[:, 2] * f[:, 3] + 0.8 * np.isin(f[:, 7], [1, 4]) - 1.0
    p = 1.0 / (1.0 + np.exp(-logit))
    return np.array([1 if rng.uniform() < pi else 0 for pi in p])


def ort_positive(path, x):
    sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = sess.run(None, {name: x.astype(np.float32)})
    probs = outs[1]
    if isinstance(probs, list):  # ZipMap: a list of {class: probability}
        return np.array([row[1] for row in probs], dtype=np.float64)
    return np.asarray(probs, dtype=np.float64)[:, 1]


def main(out):
    os.makedirs(out, exist_ok=True)
    x_clean, x_missing = rows(1, 4000, False), rows(2, 4000, True)
    y_clean, y_missing = labels(1, x_clean), labels(2, x_missing)
    t_clean, t_missing = rows(TEST_SEED, TEST_ROWS, False), rows(TEST_SEED, TEST_ROWS, True)
    cases = []

    def add(file, fmt, features, test_missing, expected, reference):
        cases.append({
            "file": file,
            "format": fmt,
            "features": features,
            "test_missing": test_missing,
            "reference": reference,
            "expected": [float(f"{v:.9g}") for v in expected],
        })

    ort = f"onnxruntime {onnxruntime.__version__}"
    seven = FEATURES[:7]

    lr = LogisticRegression(max_iter=1000).fit(x_clean[:, :7], y_clean)
    for zipmap, name in [(True, "lr.onnx"), (False, "lr_nozipmap.onnx")]:
        opts = {} if zipmap else {id(lr): {"zipmap": False}}
        onx = to_onnx(lr, x_clean[:1, :7].astype(np.float32), options=opts, target_opset=17)
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(onx.SerializeToString())
        add(name, "onnx", seven, False, ort_positive(path, t_clean[:, :7]), ort)

    rf = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(x_clean[:, :7], y_clean)
    for zipmap, name in [(True, "rf.onnx"), (False, "rf_nozipmap.onnx")]:
        opts = {} if zipmap else {id(rf): {"zipmap": False}}
        onx = to_onnx(rf, x_clean[:1, :7].astype(np.float32), options=opts, target_opset=17)
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(onx.SerializeToString())
        add(name, "onnx", seven, False, ort_positive(path, t_clean[:, :7]), ort)

    hgb = HistGradientBoostingClassifier(max_iter=20, max_depth=4, random_state=0).fit(x_missing[:, :7], y_missing)
    onx = to_onnx(hgb, x_missing[:1, :7].astype(np.float32), options={id(hgb): {"zipmap": False}}, target_opset=17)
    path = os.path.join(out, "hgb.onnx")
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    add("hgb.onnx", "onnx", seven, True, ort_positive(path, t_missing[:, :7]), ort)

    xgb = xgboost.XGBClassifier(n_estimators=20, max_depth=4, learning_rate=0.3, objective="binary:logistic",
                                random_state=0, tree_method="hist")
    xgb.fit(x_missing[:, :7], y_missing)
    booster = xgb.get_booster()
    booster.feature_names = seven
    native = booster.predict(xgboost.DMatrix(t_missing[:, :7], missing=np.nan, feature_names=seven))
    for name in ["xgb.json", "xgb.ubj"]:
        booster.save_model(os.path.join(out, name))
        add(name, "xgboost", seven, True, native, f"xgboost {xgboost.__version__}")
    # Categorical splits (pandas category dtype): categories listed in a node go right.
    import pandas as pd
    def frame(x):
        df = pd.DataFrame(x, columns=FEATURES)
        df["f7"] = pd.Categorical(df["f7"].astype("Int64"), categories=range(6))
        return df
    xgc = xgboost.XGBClassifier(n_estimators=20, max_depth=4, learning_rate=0.3, random_state=0,
                                tree_method="hist", enable_categorical=True, max_cat_to_onehot=1)
    xgc.fit(frame(x_missing), y_missing)
    xgc.get_booster().save_model(os.path.join(out, "xgb_cat.json"))
    native = xgc.get_booster().predict(xgboost.DMatrix(frame(t_missing), enable_categorical=True))
    add("xgb_cat.json", "xgboost", FEATURES, True, native, f"xgboost {xgboost.__version__}")

    booster.feature_names = None
    onx = onnxmltools.convert_xgboost(xgb, initial_types=[("input", MlFloat([None, 7]))], target_opset=15)
    path = os.path.join(out, "xgb.onnx")
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    add("xgb.onnx", "onnx", seven, True, ort_positive(path, t_missing[:, :7]), ort)

    params = {"objective": "binary", "num_leaves": 15, "learning_rate": 0.2, "verbose": -1, "seed": 0,
              "min_data_per_group": 5, "cat_smooth": 1.0, "deterministic": True, "num_threads": 1}
    data = lightgbm.Dataset(x_missing, y_missing, feature_name=FEATURES, categorical_feature=["f7"])
    lgb = lightgbm.train(params, data, num_boost_round=20)
    lgb.save_model(os.path.join(out, "lgbm.txt"))
    add("lgbm.txt", "lightgbm", FEATURES, True, lgb.predict(t_missing), f"lightgbm {lightgbm.__version__}")

    # onnxmltools cannot export categorical splits: a numeric-only twin.
    clf = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=15, learning_rate=0.2, verbose=-1, random_state=0)
    clf.fit(x_missing[:, :7], y_missing)
    onx = onnxmltools.convert_lightgbm(clf, initial_types=[("input", MlFloat([None, 7]))], target_opset=15,
                                       zipmap=False)
    path = os.path.join(out, "lgbm.onnx")
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    add("lgbm.onnx", "onnx", seven, True, ort_positive(path, t_missing[:, :7]), ort)

    doc = {
        "generator": {"test_seed": TEST_SEED, "rows": TEST_ROWS, "grid": 512, "missing_rate": 0.1,
                      "missing_columns": [1, 3], "categorical_column": 7, "categories": 6},
        "versions": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                     "onnxmltools": onnxmltools.__version__, "onnxruntime": onnxruntime.__version__,
                     "xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__,
                     "numpy": np.__version__},
        "cases": cases,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/reference/models")
