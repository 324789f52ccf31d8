"""modelgate's gate SDK for Python.

A gate is a WebAssembly component built by componentize-py from this
package, the bindings it generates from ``gates/wit/gate.wit`` and your
module. The SDK mirrors the Rust one (``gates/sdk``): a ``Gate`` base
class, the run's data as the generated dataclasses, chunked column reads,
and the observation, verdict and statistics helpers::

    from modelgate_gate import Gate, ModelRole, Comparison, check, export, metrics, outcome_from_checks

    class MinAuc(Gate):
        name = "min-auc"
        description = "The candidate's ROC AUC must reach `min_auc`."
        config_schema = {"type": "object", "properties": {"min_auc": {"type": "number"}}}

        def evaluate(self, config):
            auc = metrics(ModelRole.CANDIDATE).require("roc_auc")
            return outcome_from_checks([check("roc_auc", auc, Comparison.GE, config.get("min_auc", 0.8))])

    WitWorld = export(MinAuc)

The host validates ``with:`` against ``config_schema`` before the gate
runs, so ``config`` is a dict that already has the shape the schema says.
Raise ``GateError`` when the gate cannot decide: the run reports a gate
error, which blocks promotion (fail closed), as does any other exception.
"""

from __future__ import annotations

import json
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import (  # noqa: F401  (re-exported for gates)
    CategoryCount,
    ColumnProfile,
    Comparison,
    Context,
    Dataset,
    DeltaTest,
    DistributionTest,
    IntegrityFacts,
    LogLevel,
    MarginTest,
    Metadata,
    Metric,
    ModelEvaluation,
    ModelRole,
    Observation,
    Outcome,
    Segment,
    SegmentStatus,
    Verdict,
    VerdictReason,
)

__all__ = [
    "CHUNK_ROWS", "Comparison", "Dataset", "Gate", "GateError", "LogLevel", "Metrics",
    "ModelRole", "Observation", "Outcome", "Verdict", "check", "confidence_level",
    "confidence_percent", "delta_tests", "distribution_test", "export", "holm_adjusted",
    "info", "insufficient_evidence", "integrity", "label_chunks", "log", "margin_test",
    "metrics", "nothing_to_compare", "numeric_chunks", "outcome", "outcome_from_checks",
    "pct", "profiles", "run_context", "score_chunks", "segment_margin_test", "segments",
    "text_chunks",
]

#: Rows per host call when streaming a column: large enough to amortise the
#: call, small enough to keep the interpreter's memory flat.
CHUNK_ROWS = 65_536


class GateError(Exception):
    """The gate cannot decide; reported as a gate error, which blocks promotion."""


class Gate:
    """Subclass it, set the class attributes and implement ``evaluate``."""

    name: str = ""
    version: str = "0.1.0"
    description: str = ""
    #: JSON Schema of ``with:``, as a dict; shown by ``modelgate gate inspect``.
    config_schema: dict = {"type": "object"}

    def evaluate(self, config: dict) -> Outcome:
        raise NotImplementedError


def export(gate: type) -> type:
    """The ``WitWorld`` class componentize-py exports for ``gate``.

    componentize-py looks the class up by that name in the app module, so
    write ``WitWorld = export(MyGate)`` there.
    """

    class World(wit_world.WitWorld):
        def metadata(self) -> Metadata:
            return Metadata(
                name=gate.name,
                version=gate.version,
                description=gate.description,
                config_schema=json.dumps(gate.config_schema),
            )

        def evaluate(self) -> Outcome:
            try:
                config = json.loads(host.config())
                result = gate().evaluate(config)
            except GateError as e:
                raise Err(str(e))
            except Err:
                raise
            except Exception as e:  # any bug in a gate fails closed, with its message
                raise Err(f"{gate.name}: {type(e).__name__}: {e}")
            if not isinstance(result, Outcome):
                raise Err(f"{gate.name}: evaluate returned {type(result).__name__}, not an Outcome")
            return result

    World.__name__ = "WitWorld"
    return World


def run_context() -> Context:
    """The model, the candidate and production ids, this gate's id, the label, id and score columns."""
    return host.run_context()


class Metrics:
    """A model's metrics by name, with the direction the host knows for each."""

    def __init__(self, evaluation: ModelEvaluation):
        self.values: Dict[str, Optional[float]] = {m.name: m.value for m in evaluation.metrics}
        self.directions: Dict[str, Optional[bool]] = {
            m.name: m.greater_is_better for m in evaluation.metrics
        }
        self.roc = evaluation.roc
        self.pr = evaluation.pr

    def require(self, name: str) -> float:
        """The metric's value, or a ``GateError`` naming the metrics that exist."""
        if name not in self.values:
            raise GateError(f"unknown metric `{name}`; available: {', '.join(sorted(self.values))}")
        value = self.values[name]
        if value is None:
            raise GateError(f"metric `{name}` does not apply to this model")
        return value

    def get(self, name: str) -> Optional[float]:
        return self.values.get(name)

    def greater_is_better(self, name: str) -> Optional[bool]:
        return self.directions.get(name)

    def too_few_for_a_test(self) -> Optional[str]:
        """Why no paired test is possible on this holdout, when none is."""
        positives, rows = self.get("positives"), self.get("rows")
        if positives is None or rows is None:
            return None
        negatives = rows - positives
        if positives < 2 or negatives < 2:
            return (
                f"insufficient evidence: {positives:.0f} positives and {negatives:.0f} negatives "
                "cannot support a paired test (each class needs at least 2); collect more labelled rows"
            )
        return None


def metrics(role: ModelRole) -> Optional[Metrics]:
    """A model's metrics, or ``None`` (production may be absent)."""
    e = host.evaluation(role)
    return None if e is None else Metrics(e)


def delta_tests() -> Dict[str, DeltaTest]:
    """Paired tests of candidate minus production by metric (empty without production)."""
    return {t.metric: t for t in host.delta_tests()}


def confidence_level() -> float:
    return host.confidence_level()


def confidence_percent() -> str:
    return f"{round(confidence_level() * 1000) / 10:g}%"


def margin_test(metric: str, bound: float, greater_is_better: bool, alpha: float) -> Optional[MarginTest]:
    """A one-sided test of the improvement in ``metric`` against ``bound``."""
    return host.test_margin(metric, bound, greater_is_better, alpha)


def distribution_test(column: str) -> Optional[DistributionTest]:
    """The exact two-sample KS test of a numeric column, reference against holdout."""
    return host.test_distribution(column)


def integrity() -> IntegrityFacts:
    return host.integrity()


def segments() -> List[Segment]:
    return host.segments()


def segment_margin_test(
    column: str, value: str, metric: str, bound: float, greater_is_better: bool, alpha: float
) -> Optional[MarginTest]:
    return host.test_segment_margin(column, value, metric, bound, greater_is_better, alpha)


def profiles(data: Dataset) -> Optional[List[ColumnProfile]]:
    """Column profiles of a dataset, or ``None`` when it is not configured."""
    return host.profiles(data)


def _chunks(read: Callable[[int, int], list]) -> Iterator[list]:
    offset = 0
    while True:
        try:
            chunk = read(offset, CHUNK_ROWS)
        except Err as e:
            raise GateError(str(e.value))
        if not chunk:
            return
        yield chunk
        offset += len(chunk)
        if len(chunk) < CHUNK_ROWS:
            return


def numeric_chunks(data: Dataset, column: str) -> Iterator[List[float]]:
    """A numeric column in lists of ``CHUNK_ROWS`` floats; missing values are NaN."""
    return _chunks(lambda o, n: host.read_numeric(data, column, o, n))


def text_chunks(data: Dataset, column: str) -> Iterator[List[Optional[str]]]:
    """A column as text in chunks; missing values are ``None``."""
    return _chunks(lambda o, n: host.read_text(data, column, o, n))


def score_chunks(role: ModelRole) -> Iterator[List[float]]:
    return _chunks(lambda o, n: host.read_scores(role, o, n))


def label_chunks() -> Iterator[List[bool]]:
    return _chunks(host.read_labels)


_PASSES = {
    Comparison.GT: lambda o, t: o > t,
    Comparison.GE: lambda o, t: o >= t,
    Comparison.LT: lambda o, t: o < t,
    Comparison.LE: lambda o, t: o <= t,
    Comparison.EQ: lambda o, t: o == t,
    Comparison.INFO: lambda o, t: True,
}


def check(
    name: str, observed: float, comparison: Comparison, threshold: float, detail: Optional[str] = None
) -> Observation:
    """An observation comparing ``observed`` with ``threshold``."""
    return Observation(
        name=name,
        observed=observed,
        threshold=threshold,
        comparison=comparison,
        passed=bool(_PASSES[comparison](observed, threshold)),
        detail=detail,
    )


def info(name: str, observed: Optional[float], detail: str) -> Observation:
    """An informative observation that never fails."""
    return Observation(
        name=name, observed=observed, threshold=None, comparison=Comparison.INFO, passed=True, detail=detail
    )


def outcome_from_checks(observations: Sequence[Observation]) -> Outcome:
    """``fail`` if any check failed, else ``pass``, with a generated summary."""
    observations = list(observations)
    failed = [o.name for o in observations if not o.passed]
    if failed:
        summary = f"{len(failed)} of {len(observations)} checks failed: {', '.join(failed)}"
        return Outcome(verdict=Verdict.FAIL, summary=summary, observations=observations)
    return Outcome(verdict=Verdict.PASS, summary=f"all {len(observations)} checks passed", observations=observations)


def outcome(verdict: Verdict, summary: str, observations: Sequence[Observation] = ()) -> Outcome:
    return Outcome(verdict=verdict, summary=summary, observations=list(observations))


def log(level: LogLevel, message: str) -> None:
    """A line in the gate's log (print() goes nowhere: the host grants no stdout)."""
    host.log(level, message)


def insufficient_evidence() -> None:
    """Marks the outcome about to be returned as decided by a lack of evidence."""
    host.set_verdict_reason(VerdictReason.INSUFFICIENT_EVIDENCE)


def nothing_to_compare() -> Optional[str]:
    """Why a comparing gate has no production to judge against, or ``None``."""
    if metrics(ModelRole.PRODUCTION) is None:
        return "no production model to compare with"
    ctx = host.run_context()
    if ctx.production == ctx.candidate:
        return f"candidate is production ({ctx.candidate}): nothing to compare"
    return None


def holm_adjusted(p: Sequence[float]) -> List[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    m = len(p)
    out = [0.0] * m
    running = 0.0
    for k, i in enumerate(sorted(range(m), key=lambda i: p[i])):
        running = max(running, min((m - k) * p[i], 1.0))
        out[i] = running
    return out


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"
