"""The Python twin of gates/examples/column-stats: streams one numeric
column of the holdout in chunks and checks that its mean lies within
bounds. gates/README.md compares the two on size, compile time, start-up
and a 1M-row scan."""

import math

from modelgate_gate import Comparison, Dataset, Gate, GateError, check, export, info, numeric_chunks
from modelgate_gate import outcome_from_checks


class ColumnStats(Gate):
    name = "column-stats"
    description = "Streams a numeric column and bounds its mean; counts missing values."
    config_schema = {
        "type": "object",
        "required": ["column"],
        "properties": {"column": {"type": "string"}, "min_mean": {"type": "number"}, "max_mean": {"type": "number"}},
    }

    def evaluate(self, config):
        column = config["column"]
        total, count, missing = 0.0, 0, 0
        for chunk in numeric_chunks(Dataset.HOLDOUT, column):
            for v in chunk:
                if math.isnan(v):
                    missing += 1
                else:
                    total += v
                    count += 1
        if count == 0:
            raise GateError(f"`{column}` has no values")
        mean = total / count
        checks = [info(f"missing[{column}]", float(missing), f"{missing} of {count + missing} rows missing")]
        if "min_mean" in config:
            checks.append(check(f"mean[{column}]", mean, Comparison.GE, config["min_mean"]))
        if "max_mean" in config:
            checks.append(check(f"mean[{column}]", mean, Comparison.LE, config["max_mean"]))
        return outcome_from_checks(checks)


WitWorld = export(ColumnStats)
