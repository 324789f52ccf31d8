"""Finds the deployable artifact in a modelgate release and proves it is the
one the gates passed.

A release (the GitHub Release assets, or a version directory of the local
registry) carries `lineage.json`, whose `artifacts` list each file with the
sha256 that modelgate recorded when it registered the version, and
`evaluation.json`, which names the input columns the candidate was scored
with. Everything the service needs to know comes from those two files, so
the image cannot serve a model under the wrong name, version or inputs.

Standard library only: the deploy workflow runs it on the bare runner, before
the image is built, as `python3 -m scorer.release DIR --sha256 HEX`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

FORMATS = ("linfa", "onnx", "xgboost", "lightgbm")
LINEAGE_SCHEMA = "modelgate.lineage/v1"


class ReleaseError(Exception):
    """The release cannot be served; the message names the file at fault."""


@dataclass(frozen=True)
class Release:
    model: str
    version: str
    format: str
    artifact: Path
    sha256: str
    # Input columns in the model's order; None when only the file knows them.
    features: list[str] | None

    def manifest(self) -> dict:
        d = asdict(self)
        d["artifact"] = self.artifact.name
        return d


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"{path}: not found; is this a modelgate release?") from None
    except (OSError, ValueError) as e:
        raise ReleaseError(f"{path}: cannot read it as JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ReleaseError(f"{path}: expected a JSON object")
    return doc


def _text(doc: dict, key: str, path: Path) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ReleaseError(f"{path}: `{key}` is missing or not text")
    return value


def load(directory: str | Path, expected_sha256: str | None = None) -> Release:
    """Reads and verifies a release directory.

    The artifact is the one file `lineage.json` records with a scoring
    format. Its bytes must hash to the recorded sha256 and, when given, to
    `expected_sha256` (the `repository_dispatch` payload's), or nothing is
    served.
    """
    root = Path(directory)
    lineage_path = root / "lineage.json"
    lineage = _json(lineage_path)
    if lineage.get("schema") != LINEAGE_SCHEMA:
        raise ReleaseError(f"{lineage_path}: schema is {lineage.get('schema')!r}, expected {LINEAGE_SCHEMA!r}")
    model = _text(lineage, "model", lineage_path)
    version = _text(lineage, "version", lineage_path)
    artifacts = lineage.get("artifacts")
    if not isinstance(artifacts, list):
        raise ReleaseError(f"{lineage_path}: `artifacts` is missing or not a list")
    scorable = [a for a in artifacts if isinstance(a, dict) and a.get("format") in FORMATS]
    if len(scorable) != 1:
        names = ", ".join(str(a.get("name")) for a in artifacts if isinstance(a, dict)) or "none"
        raise ReleaseError(
            f"{lineage_path}: expected exactly one artifact in {', '.join(FORMATS)}, found {len(scorable)} (artifacts: {names})"
        )
    record = scorable[0]
    name = _text(record, "name", lineage_path)
    recorded = _text(record, "sha256", lineage_path).lower()
    if Path(name).name != name:
        raise ReleaseError(f"{lineage_path}: artifact name {name!r} is not a plain file name")
    # A GitHub Release holds its assets side by side; the local registry keeps
    # them under artifacts/.
    candidates = [root / name, root / "artifacts" / name]
    artifact = next((p for p in candidates if p.is_file()), None)
    if artifact is None:
        raise ReleaseError(f"{root}: the artifact {name} that lineage.json records is not there")
    actual = sha256_of(artifact)
    if actual != recorded:
        raise ReleaseError(f"{artifact}: sha256 is {actual}, but the registry recorded {recorded}")
    if expected_sha256 is not None and actual != expected_sha256.strip().lower():
        raise ReleaseError(f"{artifact}: sha256 is {actual}, but the deploy event carries {expected_sha256.strip()}")
    return Release(
        model=model,
        version=version,
        format=record["format"],
        artifact=artifact,
        sha256=actual,
        features=_features(root / "evaluation.json", actual),
    )


def _features(path: Path, sha256: str) -> list[str] | None:
    """The columns the candidate was evaluated with, when the evaluation
    scored this very file (an ONNX file records no input names)."""
    if not path.is_file():
        return None
    evaluation = _json(path)
    source = ((evaluation.get("models") or {}).get("candidate") or {}).get("source") or {}
    if source.get("kind") != "artifact" or source.get("sha256") != sha256:
        return None
    features = source.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise ReleaseError(f"{path}: models.candidate.source.features is not a list of column names")
    return features


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m scorer.release",
        description="Verify a downloaded modelgate release and print what the service will serve, as JSON.",
    )
    parser.add_argument("directory")
    parser.add_argument("--sha256", help="the digest the deploy event carries; must match too")
    parser.add_argument("--version", help="the version the deploy event names; must match too")
    args = parser.parse_args(argv)
    try:
        release = load(args.directory, args.sha256)
        if args.version is not None and args.version != release.version:
            raise ReleaseError(f"{args.directory}: holds {release.version}, but the deploy event names {args.version}")
    except ReleaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(release.manifest(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
