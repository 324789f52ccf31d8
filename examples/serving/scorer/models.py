"""Scores a verified artifact with the model's own library, so the service
computes what the team's training code would: onnxruntime for ONNX, xgboost
and lightgbm for their files, and for modelgate's linfa format its
documented formula (the logistic of the standardised dot product).

Every model takes a float64 matrix whose columns are the features in the
model's order, NaN for a missing value, and returns P(fraud) per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .release import Release, ReleaseError


class MissingValues(ValueError):
    """A model that cannot route a missing value was given one."""


@dataclass
class Model:
    features: list[str]
    takes_missing: bool
    _predict: Callable[[np.ndarray], np.ndarray]

    def predict(self, x: np.ndarray) -> np.ndarray:
        if not self.takes_missing:
            bad = np.isnan(x).any(axis=0)
            if bad.any():
                names = ", ".join(f for f, b in zip(self.features, bad) if b)
                raise MissingValues(f"missing values in {names}; this model cannot score them")
        return np.asarray(self._predict(x), dtype=np.float64).reshape(-1)


def load(release: Release) -> Model:
    loader = {"linfa": _linfa, "onnx": _onnx, "xgboost": _xgboost, "lightgbm": _lightgbm}[release.format]
    return loader(release.artifact, release.features)


def _checked(path: Path, own: list[str] | None, given: list[str] | None, width: int) -> list[str]:
    features = given or own
    if not features:
        raise ReleaseError(f"{path}: the model records no input names and the release names none")
    if len(features) != width:
        raise ReleaseError(f"{path}: {len(features)} feature names for a model of {width} inputs")
    return list(features)


def _linfa(path: Path, given: list[str] | None) -> Model:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema") != "modelgate.model.linfa/v1" or doc.get("kind") != "logistic_regression":
        raise ReleaseError(f"{path}: not a modelgate.model.linfa/v1 logistic regression")
    mean, scale, coef = (np.asarray(doc[k], dtype=np.float64) for k in ("mean", "scale", "coefficients"))
    intercept = float(doc["intercept"])
    features = _checked(path, doc["features"], given, len(coef))

    def predict(x: np.ndarray) -> np.ndarray:
        z = intercept + ((x - mean) / scale) @ coef
        # exp of -|z| never overflows; the two branches are modelgate's.
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    return Model(features, False, predict)


def _onnx(path: Path, given: list[str] | None) -> Model:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 2 or not isinstance(inputs[0].shape[1], int):
        raise ReleaseError(f"{path}: expected one input tensor of shape [N, features]")
    name = inputs[0].name
    features = _checked(path, None, given, inputs[0].shape[1])
    outputs = session.get_outputs()
    # A classifier's probabilities are its last output (after the label).
    probabilities = outputs[-1].name

    def predict(x: np.ndarray) -> np.ndarray:
        (p,) = session.run([probabilities], {name: x.astype(np.float32)})
        if isinstance(p, list):  # ZipMap: one {class: probability} per row
            return np.array([row[1] for row in p], dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        return p[:, 1] if p.ndim == 2 and p.shape[1] == 2 else p.reshape(-1)

    return Model(features, True, predict)


def _xgboost(path: Path, given: list[str] | None) -> Model:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))
    features = _checked(path, booster.feature_names, given, booster.num_features())
    types = booster.feature_types

    def predict(x: np.ndarray) -> np.ndarray:
        matrix = xgboost.DMatrix(
            x, missing=np.nan, feature_names=booster.feature_names, feature_types=types, enable_categorical=True
        )
        return booster.predict(matrix)

    return Model(features, True, predict)


def _lightgbm(path: Path, given: list[str] | None) -> Model:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    features = _checked(path, booster.feature_name(), given, booster.num_feature())
    return Model(features, True, booster.predict)
