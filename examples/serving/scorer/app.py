"""The HTTP service: `POST /score`, `GET /health`, `GET /version`.

The model is loaded and verified when the app is created, before it takes
a request: a container whose artifact does not match the registry's record
never becomes ready, so a rollout that would serve the wrong bytes stalls
instead of going through.

Run it with `uvicorn --factory scorer.app:create_app`; the release directory
comes from `MODEL_DIR` (default `/model`, where the Dockerfile puts it).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from . import models, release
from .models import MissingValues

# One request's rows are held as a float64 matrix: 10,000 rows of 100
# features is 8 MB. Larger batches belong in `modelgate score` or a batch job.
MAX_ROWS = 10_000


class ScoreRequest(BaseModel):
    """Rows keyed by feature name. A missing or null feature is a missing
    value (trees route it; a linear model refuses it); other keys are
    ignored, so a row can carry its id and the rest of the transaction."""

    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ROWS)


class ScoreResponse(BaseModel):
    model: str
    version: str
    scores: list[float]


class VersionResponse(BaseModel):
    model: str
    version: str
    sha256: str
    format: str
    artifact: str
    features: list[str]


def create_app(source: str | os.PathLike | release.Release | None = None, expected_sha256: str | None = None) -> FastAPI:
    """The app for a release directory (default `MODEL_DIR`), verified
    against `expected_sha256` (default `MODEL_SHA256`) too when given; or for
    an already verified [`release.Release`]."""
    if isinstance(source, release.Release):
        served = source
    else:
        directory = source if source is not None else os.environ.get("MODEL_DIR", "/model")
        expected = expected_sha256 if expected_sha256 is not None else os.environ.get("MODEL_SHA256") or None
        served = release.load(directory, expected)
    model = models.load(served)
    index = {name: j for j, name in enumerate(model.features)}
    version = VersionResponse(
        model=served.model,
        version=served.version,
        sha256=served.sha256,
        format=served.format,
        artifact=served.artifact.name,
        features=model.features,
    )

    app = FastAPI(title=f"{served.model} scorer", version=served.version)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": served.model, "version": served.version}

    @app.get("/version", response_model=VersionResponse)
    def get_version() -> VersionResponse:
        return version

    @app.post("/score", response_model=ScoreResponse)
    def score(request: ScoreRequest) -> ScoreResponse:
        x = np.full((len(request.rows), len(model.features)), np.nan)
        for i, row in enumerate(request.rows):
            for name, value in row.items():
                j = index.get(name)
                if j is None or value is None:
                    continue
                # JSON has no NaN or infinity; a bool is not a feature value.
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise HTTPException(422, f"rows[{i}].{name}: {value!r} is not a finite number")
                x[i, j] = value
        try:
            scores = model.predict(x)
        except MissingValues as e:
            raise HTTPException(422, str(e)) from None
        return ScoreResponse(model=served.model, version=served.version, scores=scores.tolist())

    return app
