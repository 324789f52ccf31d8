"""The candidate's recall at a 1% false-positive rate must not fall below
production's beyond the confidence interval of the paired test.

Recall at a fixed alert rate is what a fraud team feels: the same number
of analysts, more or fewer frauds caught. A point estimate lower by a
hair is noise on a few hundred frauds; the gate fails only when the whole
interval of candidate minus production (the paired, label-stratified
bootstrap on the same rows) lies below zero, and otherwise reports the
interval it passed with.
"""

from modelgate_gate import Comparison, Gate, GateError, ModelRole, Verdict, check, confidence_percent
from modelgate_gate import delta_tests, export, info, insufficient_evidence, metrics, nothing_to_compare
from modelgate_gate import outcome, pct


class RecallAtFpr(Gate):
    name = "recall-at-fpr"
    version = "0.1.0"
    description = "Recall at `fpr` must not fall below production's beyond the paired test's interval."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"fpr": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.01}},
    }

    def evaluate(self, config):
        fpr = config.get("fpr", 0.01)
        metric = f"recall_at_fpr[{fpr:g}]"
        candidate = metrics(ModelRole.CANDIDATE)
        if candidate is None:
            raise GateError("no evaluation of the candidate")
        recall = candidate.require(metric)
        why = nothing_to_compare()
        if why is not None:
            return outcome(Verdict.PASS, why, [info(metric, recall, "candidate")])
        test = delta_tests().get(metric)
        if test is None:
            too_few = candidate.too_few_for_a_test()
            if too_few is not None:
                insufficient_evidence()
                return outcome(Verdict.PASS, too_few, [info(metric, recall, "candidate")])
            raise GateError(f"no paired test of `{metric}`; is {fpr:g} in the config's `metrics.at_fpr`?")
        level = confidence_percent()
        interval = f"{test.delta:+.4f} [{test.low:+.4f}, {test.high:+.4f}] at {level}"
        observation = check(
            f"{metric} (candidate - production, upper bound)",
            test.high,
            Comparison.GE,
            0.0,
            detail=f"candidate {pct(recall)}, change {interval} ({test.method})",
        )
        if not observation.passed:
            return outcome(
                Verdict.FAIL,
                f"recall at {pct(fpr)} FPR is lower than production's beyond the interval: {interval}",
                [observation],
            )
        return outcome(Verdict.PASS, f"recall at {pct(fpr)} FPR: change {interval}", [observation])


WitWorld = export(RecallAtFpr)
