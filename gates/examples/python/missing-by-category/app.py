"""No merchant category may have more than 5% of its `amount` missing.

A missing amount in one category is invisible in the whole holdout's
missing ratio (a small category can lose every amount while the total
stays under 1%), and it breaks dollar recall exactly where the category's
fraud is. The gate streams both columns in chunks, so memory stays flat
whatever the holdout's size.
"""

import math

from modelgate_gate import Comparison, Dataset, Gate, GateError, check, export, numeric_chunks
from modelgate_gate import outcome_from_checks, pct, text_chunks


class MissingByCategory(Gate):
    name = "missing-by-category"
    version = "0.1.0"
    description = "No category may have more than `max_ratio` of `column` missing."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "category": {"type": "string", "default": "merchant_category"},
            "column": {"type": "string", "default": "amount"},
            "max_ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05},
        },
    }

    def evaluate(self, config):
        category = config.get("category", "merchant_category")
        column = config.get("column", "amount")
        max_ratio = config.get("max_ratio", 0.05)
        rows, missing = {}, {}
        chunks = zip(text_chunks(Dataset.HOLDOUT, category), numeric_chunks(Dataset.HOLDOUT, column))
        for names, values in chunks:
            if len(names) != len(values):
                raise GateError(f"`{category}` and `{column}` came back with different lengths")
            for name, value in zip(names, values):
                key = "(missing)" if name is None else name
                rows[key] = rows.get(key, 0) + 1
                if math.isnan(value):
                    missing[key] = missing.get(key, 0) + 1
        if not rows:
            raise GateError("the holdout has no rows")
        ratios = sorted(((missing.get(k, 0) / n, k) for k, n in rows.items()), reverse=True)
        checks = [
            check(
                f"missing_ratio[{column} | {category}={k}]",
                ratio,
                Comparison.LE,
                max_ratio,
                detail=f"{missing.get(k, 0)} of {rows[k]} rows missing ({pct(ratio)})",
            )
            for ratio, k in ratios
        ]
        return outcome_from_checks(checks)


WitWorld = export(MissingByCategory)
