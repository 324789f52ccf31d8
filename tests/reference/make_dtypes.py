#!/usr/bin/env python3
"""Parquet files as pandas and pyarrow write them, one per Arrow type, for
tests/dtypes.rs: each holds a seeded 400-row fraud holdout (int64 id, an
int8 label as `df["is_fraud"].astype("int8")` writes it, a float64 score)
and one column `x` of the type under test, with a few nulls. Types that can
also be a label or a score appear as `label` or `score` columns too. Each
file also comes as CSV (as pandas and as pyarrow write it) and as NDJSON (as
pandas writes it), of the first 100 rows; in those, `x` has 4 nulls.

    python3 -m venv .venv && .venv/bin/pip install pyarrow pandas
    .venv/bin/python tests/reference/make_dtypes.py tests/reference/dtypes

Versions used for the committed files: see dtypes/VERSIONS.
"""
import datetime as dt
import decimal
import os
import random
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

N = 400
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
label = [1 if rng.random() < 0.2 else 0 for _ in range(N)]
score = [min(1.0, max(0.0, 0.5 * y + rng.random() * 0.6)) for y in label]
raw = [rng.random() for _ in range(N)]
null_at = set(rng.sample(range(N), 12))


def base():
    return {
        "transaction_id": pa.array(range(N), pa.int64()),
        "is_fraud": pa.array(label, pa.int8()),
        "score": pa.array(score, pa.float64()),
    }


def with_nulls(values):
    return [None if i in null_at else v for i, v in enumerate(values)]


ints = [int(r * 100) for r in raw]
features = {
    "int8": pa.array(with_nulls(ints), pa.int8()),
    "int16": pa.array(with_nulls(ints), pa.int16()),
    "int32": pa.array(with_nulls(ints), pa.int32()),
    "int64": pa.array(with_nulls(ints), pa.int64()),
    "uint8": pa.array(with_nulls(ints), pa.uint8()),
    "uint16": pa.array(with_nulls(ints), pa.uint16()),
    "uint32": pa.array(with_nulls(ints), pa.uint32()),
    "uint64": pa.array(with_nulls(ints), pa.uint64()),
    "float32": pa.array(with_nulls(raw), pa.float32()),
    "float64": pa.array(with_nulls(raw), pa.float64()),
    "bool": pa.array(with_nulls([r > 0.5 for r in raw]), pa.bool_()),
    "decimal128": pa.array(
        with_nulls([decimal.Decimal(f"{r:.4f}") for r in raw]), pa.decimal128(9, 4)
    ),
    "string": pa.array(with_nulls([f"m{int(r * 5)}" for r in raw]), pa.string()),
    "large_string": pa.array(with_nulls([f"m{int(r * 5)}" for r in raw]), pa.large_string()),
    "dictionary": pa.array(with_nulls([f"m{int(r * 5)}" for r in raw])).dictionary_encode(),
    "date32": pa.array(
        with_nulls([dt.date(2026, 1, 1) + dt.timedelta(days=int(r * 300)) for r in raw]),
        pa.date32(),
    ),
    "timestamp_us": pa.array(
        with_nulls([dt.datetime(2026, 1, 1) + dt.timedelta(seconds=int(r * 1e6)) for r in raw]),
        pa.timestamp("us"),
    ),
    "timestamp_ns_utc": pa.array(
        with_nulls([dt.datetime(2026, 1, 1) + dt.timedelta(seconds=int(r * 1e6)) for r in raw]),
        pa.timestamp("ns", tz="UTC"),
    ),
    "duration_ms": pa.array(with_nulls([int(r * 1e6) for r in raw]), pa.duration("ms")),
    "time64_us": pa.array(
        with_nulls([dt.time(int(r * 23), int(r * 59)) for r in raw]), pa.time64("us")
    ),
}
# The text formats hold the first TEXT_ROWS rows (4 of them null in `x`).
TEXT_ROWS = 100


def write_text(table, stem):
    # CSV as pandas and as pyarrow write it; NDJSON as pandas writes it.
    frame = table.to_pandas()
    frame.to_csv(os.path.join(out, f"{stem}.pandas.csv"), index=False)
    frame.to_json(
        os.path.join(out, f"{stem}.pandas.ndjson"), orient="records", lines=True, date_format="iso"
    )
    pacsv.write_csv(table, os.path.join(out, f"{stem}.pyarrow.csv"))


for name, column in features.items():
    cols = base()
    cols["x"] = column
    pq.write_table(pa.table(cols), os.path.join(out, f"feature_{name}.parquet"))
    write_text(pa.table(cols).slice(0, TEXT_ROWS), f"feature_{name}")

# Labels and scores in other types, as a label or score column.
labels = {
    "int16": pa.array(label, pa.int16()),
    "uint8": pa.array(label, pa.uint8()),
    "bool": pa.array([y == 1 for y in label], pa.bool_()),
    "decimal128": pa.array([decimal.Decimal(y) for y in label], pa.decimal128(1, 0)),
}
for name, column in labels.items():
    cols = base()
    cols["label"] = column
    pq.write_table(pa.table(cols), os.path.join(out, f"label_{name}.parquet"))
    write_text(pa.table(cols), f"label_{name}")
scores = {
    "float32": pa.array(score, pa.float32()),
    "decimal128": pa.array([decimal.Decimal(f"{s:.6f}") for s in score], pa.decimal128(9, 6)),
    "int16": pa.array([int(s * 1000) for s in score], pa.int16()),
}
for name, column in scores.items():
    cols = base()
    cols["score2"] = column
    pq.write_table(pa.table(cols), os.path.join(out, f"score_{name}.parquet"))
    write_text(pa.table(cols), f"score_{name}")

# pandas' own writers: nullable Int8, category, datetime64[ns] via the pandas
# metadata path, and an object column of Python lists (not readable).
df = pd.DataFrame(
    {
        "transaction_id": range(N),
        "is_fraud": pd.Series(label).astype("int8"),
        "score": score,
        "x": pd.Series(with_nulls(ints)).astype("Int8"),
        "category": pd.Series([f"m{int(r * 5)}" for r in raw]).astype("category"),
        "when": pd.to_datetime("2026-01-01") + pd.to_timedelta([int(r * 1e6) for r in raw], unit="s"),
    }
)
df.to_parquet(os.path.join(out, "pandas_mixed.parquet"), index=False)
df_cat_label = df.assign(is_fraud=pd.Series(["fraud" if y else "legit" for y in label]).astype("category"))
df_cat_label.to_parquet(os.path.join(out, "pandas_category_label.parquet"), index=False)
bad = pd.DataFrame({"transaction_id": range(N), "is_fraud": pd.Series(label).astype("int8"),
                    "score": score, "embedding": [[r, r * 2] for r in raw]})
bad.to_parquet(os.path.join(out, "unreadable_list.parquet"), index=False)

with open(os.path.join(out, "VERSIONS"), "w") as f:
    f.write(f"pyarrow {pa.__version__}\npandas {pd.__version__}\n")
