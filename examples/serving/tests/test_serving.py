"""The serving example against modelgate itself.

Scores: the service (FastAPI's TestClient, no network) must give the scores
that `modelgate score` gives for the same rows, for the demo's promoted model
and for every model file in tests/reference/models. /version must report the
sha256 that the registry recorded. The Lambda handler, the Dockerfile's build
steps that can run without a Docker daemon, the Kubernetes manifest and the
deploy workflow are checked here too.

Needs MODELGATE (the binary under test); .ci/run sets it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

SERVING = Path(__file__).resolve().parents[1]
REPO = SERVING.parents[1]
FIXTURES = REPO / "tests" / "reference" / "models"
WORKFLOW = REPO / "examples" / "workflows" / "deploy-on-dispatch.yml"
TOLERANCE = 1e-6

sys.path.insert(0, str(SERVING))
from scorer import release  # noqa: E402
from scorer.app import create_app  # noqa: E402


def modelgate(*args: str, cwd: Path | None = None) -> str:
    binary = os.environ.get("MODELGATE")
    if not binary:
        pytest.fail("set MODELGATE to the modelgate binary under test")
    done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"modelgate {' '.join(args)}: {done.stderr}"
    return done.stdout


def modelgate_scores(model: Path, data: Path, *extra: str) -> np.ndarray:
    lines = modelgate("score", str(model), "--data", str(data), *extra).splitlines()
    assert lines[0] == "score"
    return np.array([float(v) for v in lines[1:]])


def read_csv(path: Path) -> list[dict]:
    """CSV rows as a caller sends them: numbers as numbers, a blank cell as
    null (a missing value), text as text (the service ignores what is not a
    feature)."""

    def value(v: str):
        if v == "":
            return None
        try:
            return float(v)
        except ValueError:
            return v

    with open(path, newline="") as f:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(f)]


def service_scores(client: TestClient, rows: list[dict]) -> np.ndarray:
    out = []
    for start in range(0, len(rows), 500):  # batches, as a caller would send them
        r = client.post("/score", json={"rows": rows[start : start + 500]})
        assert r.status_code == 200, r.text
        out.extend(r.json()["scores"])
    return np.array(out)


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> float:
    assert got.shape == want.shape, what
    worst = float(np.max(np.abs(got - want)))
    assert worst <= TOLERANCE, f"{what}: max |service - modelgate| = {worst:.3e}"
    return worst


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """The demo's registry, with its promotions, and fresh rows to score."""
    root = tmp_path_factory.mktemp("demo")
    modelgate("-q", "demo", "--rows", "50000", "--dir", "d", cwd=root)
    modelgate("-q", "demo", "data", "--rows", "3000", "--seed", "11", "--format", "csv", "--out", "rows", cwd=root)
    return root


def production(root: Path) -> tuple[Path, dict]:
    """The version directory production points at, by the registry's files."""
    promotions = sorted((root / "d/registry/fraud-detector/production").glob("*.json"))
    assert promotions, "the demo promoted nothing"
    current = json.loads(promotions[-1].read_text())
    version_dir = root / "d/registry/fraud-detector/versions" / current["version"]
    return version_dir, json.loads((version_dir / "version.json").read_text())


def test_demo_promotion_is_served_with_modelgates_scores_and_the_registrys_sha256(demo):
    version_dir, record = production(demo)
    client = TestClient(create_app(version_dir))
    v = client.get("/version").json()
    (artifact,) = record["artifacts"]
    assert (v["model"], v["version"], v["sha256"], v["artifact"]) == (
        record["model"],
        record["version"],
        artifact["sha256"],
        artifact["name"],
    )
    assert client.get("/health").json()["status"] == "ok"
    rows_csv = demo / "rows" / "holdout.csv"
    want = modelgate_scores(version_dir / "artifacts" / artifact["name"], rows_csv)
    got = service_scores(client, read_csv(rows_csv))
    worst = assert_close(got, want, "demo production model")
    print(f"demo {record['version']} ({artifact['format']}): {len(got)} rows, max |diff| {worst:.2e}")


CASES = json.loads((FIXTURES / "expected.json").read_text())["cases"]


def fixture_rows(path: Path, features: list[str], missing: bool) -> None:
    """Seeded rows like the fixtures' own: values on a 1/512 grid, f7 a
    category 0-5, and with `missing` about 10% blanks in f1 and f3."""
    rng = np.random.default_rng(20261130)
    n = 1000
    x = (rng.integers(0, 4096, size=(n, 8)) - 2048) / 512.0
    x[:, 7] = rng.integers(0, 6, size=n)
    if missing:
        for j in (1, 3):
            x[rng.random(n) < 0.1, j] = np.nan
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features)
        for row in x[:, : len(features)]:
            w.writerow(["" if math.isnan(v) else repr(float(v)) for v in row])


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_reference_model_file_scores_as_modelgate_does(case, tmp_path):
    path = FIXTURES / case["file"]
    rows_csv = tmp_path / "rows.csv"
    fixture_rows(rows_csv, case["features"], case["test_missing"])
    # ONNX files record no input names: both sides are given the columns.
    named = case["format"] == "onnx"
    extra = ("--features", ",".join(case["features"])) if named else ()
    want = modelgate_scores(path, rows_csv, "--format", case["format"], *extra)
    served = release.Release(
        model="fixture",
        version="v0.0.0",
        format=case["format"],
        artifact=path,
        sha256=release.sha256_of(path),
        features=case["features"] if named else None,
    )
    client = TestClient(create_app(served))
    assert client.get("/version").json()["features"] == case["features"]
    worst = assert_close(service_scores(client, read_csv(rows_csv)), want, case["file"])
    print(f"{case['file']}: max |diff| {worst:.2e}")


def test_a_linear_model_refuses_missing_values_and_bad_rows_are_422(demo):
    version_dir, _ = production(demo)
    client = TestClient(create_app(version_dir))
    features = client.get("/version").json()["features"]
    full = {f: 0.5 for f in features}
    r = client.post("/score", json={"rows": [full, {**full, features[2]: None}]})
    assert r.status_code == 422 and features[2] in r.json()["detail"]
    assert client.post("/score", json={"rows": [{**full, features[0]: "x"}]}).status_code == 422
    assert client.post("/score", json={"rows": []}).status_code == 422
    # Extra keys (an id) are ignored; order is kept.
    r = client.post("/score", json={"rows": [{**full, "id": 2}, {**full, features[0]: 3.0}, full]})
    s = r.json()["scores"]
    assert r.status_code == 200 and len(s) == 3 and s[0] == s[2] != s[1]


def tampered_copy(version_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "release"
    shutil.copytree(version_dir, copy)
    (artifact,) = (copy / "artifacts").iterdir()
    artifact.write_bytes(artifact.read_bytes().replace(b"0", b"1", 1))
    return copy


def test_a_tampered_or_unexpected_artifact_is_refused(demo, tmp_path):
    version_dir, record = production(demo)
    recorded = record["artifacts"][0]["sha256"]
    with pytest.raises(release.ReleaseError, match="but the registry recorded " + recorded):
        create_app(tampered_copy(version_dir, tmp_path))
    with pytest.raises(release.ReleaseError, match="but the deploy event carries"):
        create_app(version_dir, expected_sha256="0" * 64)
    # The command the workflow and the Dockerfile run: exit 2, one line.
    cli = [sys.executable, "-m", "scorer.release"]
    done = subprocess.run([*cli, str(tmp_path / "release")], cwd=SERVING, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    done = subprocess.run(
        [*cli, str(version_dir), "--sha256", recorded, "--version", record["version"]],
        cwd=SERVING,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sha256"] == recorded
    done = subprocess.run([*cli, str(version_dir), "--version", "v9.9.9"], cwd=SERVING, capture_output=True, text=True)
    assert done.returncode == 2 and "v9.9.9" in done.stderr
    with pytest.raises(release.ReleaseError, match="lineage.json: not found"):
        release.load(tmp_path)


def test_the_lambda_handler_answers_the_workflows_version_check(demo, monkeypatch):
    version_dir, record = production(demo)
    monkeypatch.setenv("MODEL_DIR", str(version_dir))
    monkeypatch.syspath_prepend(str(SERVING))
    sys.modules.pop("lambda_handler", None)
    import lambda_handler

    event = json.loads((SERVING / "lambda-version-event.json").read_text())

    class Context:
        function_name = "fraud-scorer"

    response = lambda_handler.handler(event, Context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["sha256"] == record["artifacts"][0]["sha256"]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (SERVING / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_dockerfile_builds_from_what_is_tested(demo, tmp_path):
    """Without a Docker daemon (CI has none), run what the build runs: copy
    the context as COPY does, install nothing new beyond the tested pins,
    and run the build's verification step on a real release."""
    steps = dockerfile()
    ignored = (SERVING / ".dockerignore").read_text().split()
    for word, args in steps:
        if word == "COPY":
            *sources, _dest = shlex.split(args)
            for s in sources:
                if s.rstrip("/") == "model":
                    continue  # the release, downloaded by the workflow
                assert (SERVING / s).exists(), f"COPY {s}: not in examples/serving"
                assert s.rstrip("/") not in ignored, f"COPY {s}: excluded by .dockerignore"
    (install,) = [a for w, a in steps if w == "RUN" and "pip install" in a]
    assert "-r requirements.txt" in install, "the image installs the tested pins"
    labels = " ".join(a for w, a in steps if w == "LABEL")
    for key in ("org.opencontainers.image.version", "dev.modelgate.sha256"):
        assert key in labels
    assert "${MODEL_SHA256}" in labels and "${MODEL_VERSION}" in labels
    (entry,) = [a for w, a in steps if w == "ENTRYPOINT"]
    script = SERVING / json.loads(entry)[0].removeprefix("/app/")
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    assert "scorer.app:create_app" in script.read_text() and "lambda_handler.handler" in script.read_text()
    # The build's own check, run as the image runs it (WORKDIR /app, the
    # release at /model), with the build arguments the workflow passes.
    version_dir, record = production(demo)
    (check,) = [a for w, a in steps if w == "RUN" and "scorer.release" in a]
    build_args = {"MODEL_SHA256": record["artifacts"][0]["sha256"], "MODEL_VERSION": record["version"]}
    command = check.replace("/model", shlex.quote(str(version_dir)))
    for k, v in build_args.items():
        command = command.replace("${" + k + "}", v)
    command = command.replace("python ", shlex.quote(sys.executable) + " ", 1)
    assert subprocess.run(["sh", "-c", command], cwd=SERVING).returncode == 0
    bad = check.replace("/model", shlex.quote(str(tampered_copy(version_dir, tmp_path))))
    for k, v in build_args.items():
        bad = bad.replace("${" + k + "}", v)
    bad = bad.replace("python ", shlex.quote(sys.executable) + " ", 1)
    assert subprocess.run(["sh", "-c", bad], cwd=SERVING, capture_output=True).returncode != 0


def test_the_manifest_validates_and_matches_the_workflow():
    manifest = SERVING / "k8s" / "fraud-scorer.yaml"
    done = subprocess.run(
        [Path(sys.executable).parent / "kubernetes-validate", "--strict", "--quiet", str(manifest)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    docs = list(yaml.safe_load_all(manifest.read_text()))
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["ports"][0]["containerPort"] == 8080
    workflow = WORKFLOW.read_text()
    assert f"K8S_DEPLOYMENT || '{deployment['metadata']['name']}'" in workflow
    assert f"set image \"deployment/$DEPLOYMENT\" {container['name']}=" in workflow
    # The workflow verifies the release with the example's own script and
    # builds the image from the example's directory.
    assert "python3 -m scorer.release model" in workflow
    assert "SERVING_DIR || 'examples/serving'" in workflow
    assert "lambda-version-event.json" in workflow
