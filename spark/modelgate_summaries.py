"""Exact, mergeable summaries of a scored holdout for modelgate (modelgate.summary/v1).

A holdout of billions of rows does not fit one machine, and modelgate does
not become a distributed system of its own: this job computes, in Spark,
every fact modelgate's metrics, tests and data gates need, and modelgate
decides on them with `holdout: { summary: DIR }`.

Usage (any Spark 3.4+ cluster, or local mode):

    spark-submit spark/modelgate_summaries.py \\
        --holdout s3://bucket/holdout/ --label is_fraud --amount amount \\
        --scores score_candidate,score_production \\
        --reference s3://bucket/reference/ --out s3://bucket/summary/

`--out` must be a path modelgate can read (copy it down from object
storage first). It receives:

- `manifest.json`: the schema, the label and amount columns, the row and
  positive counts, each pair of models' DeLong components and per-row loss
  differences, and every column's profile (and the KS statistic of each
  numeric column against the reference);
- `scores/`: Parquet, one row per model and distinct score: the exact
  counts of positives and negatives at that score and their amount sums;
- `sample/`: Parquet, every positive and a seeded uniform share of the
  negatives, each with its weight (the inverse of its inclusion
  probability), for the paired bootstrap.

Everything but the sample is exact. Distinct values are counted with a
group-by, and the orders that exact quantiles, KS and DeLong's placements
need come from a global sort in two passes (`prefix_sums`): range-partition
and sum each partition, then add the earlier partitions' sums. No
partition holds more than its share of the data.

The statistics follow modelgate's definitions (src/data/profile.rs,
src/stats/mod.rs, src/metrics.rs): numpy's linear quantiles, population
standard deviation, NaN counted as missing, histogram edges at the
reference's deciles widened to both datasets' range, scikit-learn's
clipped log loss.
"""

import argparse
import json
import math
import sys
import time
from collections import defaultdict

from pyspark import StorageLevel
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

SCHEMA = "modelgate.summary/v1"
# modelgate's profile constants (src/data/profile.rs).
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
HISTOGRAM_BINS = 10
DECILES = [i / HISTOGRAM_BINS for i in range(1, HISTOGRAM_BINS)]
TOP_CATEGORIES = 20
# scikit-learn's log-loss clip: float64's machine epsilon.
EPS = sys.float_info.epsilon

NUMERIC = (
    T.ByteType, T.ShortType, T.IntegerType, T.LongType,
    T.FloatType, T.DoubleType, T.DecimalType,
)
# Spark's types by the names polars gives them, as modelgate's profiles do.
DTYPES = {
    T.ByteType: "i8", T.ShortType: "i16", T.IntegerType: "i32", T.LongType: "i64",
    T.FloatType: "f32", T.DoubleType: "f64", T.BooleanType: "bool",
    T.StringType: "str", T.DateType: "date",
    # Spark keeps timestamps in microseconds, whatever unit the file had.
    T.TimestampType: "datetime[μs, UTC]", T.TimestampNTZType: "datetime[μs]",
}


_T0 = time.monotonic()


def progress(what):
    """One line per step on stderr, with the seconds since the start."""
    print(f"modelgate-summaries: {time.monotonic() - _T0:7.1f} s  {what}", file=sys.stderr, flush=True)


class Refused(Exception):
    """Input this job cannot summarise faithfully; the message names it."""


def dtype_name(t):
    if isinstance(t, T.DecimalType):
        return f"decimal[{t.precision},{t.scale}]"
    for cls, name in DTYPES.items():
        if isinstance(t, cls):
            return name
    return t.simpleString()


def prefix_sums(spark, df, group, order, sums, partitions):
    """Adds `<s>_before` for each column in `sums`: its sum over the rows of
    the same `group` that come strictly before in `order`.

    The global sort in two passes: a range partitioning puts contiguous
    runs of (group, order) in each partition; the first pass sums each
    partition (a few rows per partition reach the driver), the second runs
    a window within each partition and adds the sums of the partitions
    before it. A plain window ordered over a whole group would pull that
    group into one task."""
    ranged = (
        df.repartitionByRange(partitions, group, order)
        .withColumn("_pid", F.spark_partition_id())
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    totals = ranged.groupBy("_pid", group).agg(*[F.sum(s).alias(s) for s in sums]).collect()
    running = defaultdict(lambda: [0] * len(sums))
    offsets = []
    for row in sorted(totals, key=lambda r: r["_pid"]):
        acc = running[row[group]]
        offsets.append((row["_pid"], row[group], *acc))
        running[row[group]] = [a + (row[s] or 0) for a, s in zip(acc, sums)]
    schema = T.StructType(
        [T.StructField("_pid", T.IntegerType()), df.schema[group]]
        + [T.StructField(f"_off_{s}", T.LongType()) for s in sums]
    )
    off = spark.createDataFrame(offsets, schema)
    w = (
        Window.partitionBy("_pid", group)
        .orderBy(order)
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    out = ranged.join(F.broadcast(off), ["_pid", group]).select(
        *[c for c in df.columns],
        *[
            (F.coalesce(F.sum(s).over(w), F.lit(0)) + F.col(f"_off_{s}")).alias(f"{s}_before")
            for s in sums
        ],
    )
    return out, ranged


def labels(df, label, positive):
    """The label as a boolean column, checked as modelgate checks it."""
    t = df.schema[label].dataType
    col = F.col(f"`{label}`")
    nulls = df.filter(col.isNull()).count()
    if nulls:
        raise Refused(f"label column `{label}` has {nulls} missing values; every holdout row needs a label")
    if positive is not None:
        if isinstance(t, T.BooleanType):
            return col == F.lit(positive.lower() == "true")
        if isinstance(t, NUMERIC):
            return col.cast("double") == F.lit(float(positive))
        return col.cast("string") == F.lit(positive)
    if isinstance(t, T.BooleanType):
        return col
    if isinstance(t, NUMERIC):
        bad = df.filter(~col.cast("double").isin(0.0, 1.0)).count()
        if bad:
            raise Refused(f"label column `{label}` holds {bad} values other than 0 and 1; pass --positive")
        return col.cast("double") == F.lit(1.0)
    raise Refused(f"label column `{label}` has type {dtype_name(t)}; pass --positive to name the positive class")


def check_scores(df, scores):
    for s in scores:
        if s not in df.columns:
            raise Refused(f"score column `{s}` is not in the holdout")
        if not isinstance(df.schema[s].dataType, NUMERIC):
            raise Refused(f"score column `{s}` has type {dtype_name(df.schema[s].dataType)}; expected numbers")
        c = F.col(f"`{s}`").cast("double")
        bad = df.filter(c.isNull() | F.isnan(c) | (F.abs(c) == float("inf"))).count()
        if bad:
            raise Refused(f"score column `{s}` has {bad} missing or infinite values; every row needs a finite score")


def score_counts(rows, scores, with_amount):
    """One row per model and distinct score: positives, negatives, amounts."""
    parts = []
    for s in scores:
        agg = [
            F.sum(F.when(F.col("_y"), 1).otherwise(0)).cast("long").alias("positives"),
            F.sum(F.when(F.col("_y"), 0).otherwise(1)).cast("long").alias("negatives"),
        ]
        if with_amount:
            agg += [
                F.sum(F.when(F.col("_y"), F.col("_amount")).otherwise(0.0)).alias("positive_amount"),
                F.sum(F.when(F.col("_y"), 0.0).otherwise(F.col("_amount"))).alias("negative_amount"),
            ]
        parts.append(
            rows.groupBy(F.col(f"`{s}`").alias("score")).agg(*agg).select(F.lit(s).alias("model"), "*")
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def placements(spark, counts, partitions):
    """Each model's DeLong placements at each distinct score: a positive's
    share of negatives below it and a negative's share of positives above
    it, ties counting half (Sun and Xu 2014; modelgate's `components`)."""
    c = counts.select("model", "score", "positives", "negatives")
    out, ranged = prefix_sums(spark, c, "model", "score", ["positives", "negatives"], partitions)
    totals = {r["model"]: (r["p"], r["n"]) for r in counts.groupBy("model").agg(
        F.sum("positives").alias("p"), F.sum("negatives").alias("n")).collect()}
    m = F.create_map(*[x for k, (p, n) in totals.items() for x in (F.lit(k), F.array(F.lit(p), F.lit(n)))])
    p_total, n_total = m[F.col("model")][0], m[F.col("model")][1]
    placed = out.select(
        "model",
        "score",
        ((F.col("negatives_before") + 0.5 * F.col("negatives")) / n_total).alias("v10"),
        (
            (p_total - F.col("positives_before") - F.col("positives") + 0.5 * F.col("positives"))
            / p_total
        ).alias("v01"),
    )
    return placed, ranged


def pair_stats(rows, placed, a, b, probabilities):
    """DeLong's components and the per-row loss differences of models `a`
    and `b` (a minus b), each as a count, means and a sample variance."""
    pa = placed.filter(F.col("model") == a).select(
        F.col("score").alias("_sa"), F.col("v10").alias("a10"), F.col("v01").alias("a01"))
    pb = placed.filter(F.col("model") == b).select(
        F.col("score").alias("_sb"), F.col("v10").alias("b10"), F.col("v01").alias("b01"))
    j = (
        rows.select(F.col(f"`{a}`").alias("_sa"), F.col(f"`{b}`").alias("_sb"), "_y")
        .join(pa, "_sa")
        .join(pb, "_sb")
        .select(
            "_y",
            F.when(F.col("_y"), F.col("a10")).otherwise(F.col("a01")).alias("va"),
            F.when(F.col("_y"), F.col("b10")).otherwise(F.col("b01")).alias("vb"),
        )
    )
    d = F.col("va") - F.col("vb")
    delong = {}
    for cls, part in [("positives", True), ("negatives", False)]:
        r = j.filter(F.col("_y") == part).agg(
            F.count("*").alias("n"), F.avg("va").alias("mean_a"), F.avg("vb").alias("mean_b"),
            F.var_samp(d).alias("var"),
        ).first()
        delong[cls] = {"n": r["n"], "mean_a": r["mean_a"], "mean_b": r["mean_b"],
                       "var_difference": r["var"] or 0.0}
    pair = {"a": a, "b": b, "delong": delong, "losses": None}
    if probabilities:
        def log_loss(s):
            q = F.when(F.col("_y"), F.col(f"`{s}`")).otherwise(1.0 - F.col(f"`{s}`"))
            return -F.log(F.least(F.greatest(q, F.lit(EPS)), F.lit(1.0 - EPS)))

        def brier(s):
            d = F.col(f"`{s}`") - F.col("_y").cast("double")
            return d * d

        losses = rows.select(
            (log_loss(a) - log_loss(b)).alias("ll"), (brier(a) - brier(b)).alias("br"))
        r = losses.agg(
            F.count("*").alias("n"),
            F.avg("ll").alias("ll_mean"), F.var_samp("ll").alias("ll_var"),
            F.avg("br").alias("br_mean"), F.var_samp("br").alias("br_var"),
        ).first()
        pair["losses"] = {
            "log_loss": {"n": r["n"], "mean": r["ll_mean"], "var": r["ll_var"] or 0.0},
            "brier": {"n": r["n"], "mean": r["br_mean"], "var": r["br_var"] or 0.0},
        }
    return pair


def long_numeric(df, side, names):
    """(column, value, side) for every non-missing numeric value."""
    stacked = F.explode(F.array(*[
        F.struct(F.lit(n).alias("column"), F.col(f"`{n}`").cast("double").alias("value"))
        for n in names
    ])).alias("kv")
    return (
        df.select(stacked)
        .select("kv.column", "kv.value")
        .filter(F.col("value").isNotNull() & ~F.isnan("value"))
        .withColumn("side", F.lit(side))
    )


def quantile(at, q, n):
    """numpy's linear quantile from the values at ranks floor(h), ceil(h)."""
    h = q * (n - 1)
    lo, hi = math.floor(h), min(math.ceil(h), n - 1)
    a, b = at[lo], at[hi]
    return a + (h - lo) * (b - a)


def edges(deciles, lo, hi):
    """modelgate's equal-frequency edges, widened to [lo, hi]."""
    e = [lo] + [d for d in deciles if lo < d < hi] + [hi]
    out = []
    for x in e:
        if not out or out[-1] != x:
            out.append(x)
    if len(out) == 1:
        out.append(hi)
    return out


def numeric_profiles(spark, datasets, rows_of, partitions):
    """Exact numeric profiles of every dataset (holdout, reference) and the
    KS statistic of each column both have, from one count per distinct
    value and its prefix sums."""
    names = {side: [f.name for f in df.schema.fields if isinstance(f.dataType, NUMERIC)]
             for side, df in datasets.items()}
    longs = [long_numeric(df, side, names[side]) for side, df in datasets.items() if names[side]]
    if not longs:
        return {}, {}
    values = longs[0]
    for x in longs[1:]:
        values = values.unionByName(x)
    sides = list(datasets)
    counts = values.groupBy("column", "value").agg(
        *[F.sum(F.when(F.col("side") == s, 1).otherwise(0)).cast("long").alias(f"n_{s}") for s in sides]
    )
    placed, ranged = prefix_sums(spark, counts, "column", "value", [f"n_{s}" for s in sides], partitions)
    placed = placed.persist(StorageLevel.MEMORY_AND_DISK)

    # Moments from the raw values: missing counts, min, max, sum and the
    # population variance, per side and column.
    moments = {}
    for side, df in datasets.items():
        for n in names[side]:
            c = F.col(f"`{n}`").cast("double")
            moments[(side, n)] = [
                F.sum(F.when(c.isNull() | F.isnan(c), 1).otherwise(0)).alias(f"{side}|{n}|missing"),
                F.min(F.when(~F.isnan(c), c)).alias(f"{side}|{n}|min"),
                F.max(F.when(~F.isnan(c), c)).alias(f"{side}|{n}|max"),
                F.avg(F.when(~F.isnan(c), c)).alias(f"{side}|{n}|mean"),
                F.var_pop(F.when(~F.isnan(c), c)).alias(f"{side}|{n}|var"),
            ]
    stats = {}
    for side, df in datasets.items():
        if not names[side]:
            continue
        r = df.agg(*[x for n in names[side] for x in moments[(side, n)]]).first().asDict()
        for n in names[side]:
            stats[(side, n)] = {k: r[f"{side}|{n}|{k}"] for k in ["missing", "min", "max", "mean", "var"]}
    totals = {(side, n): rows_of[side] - stats[(side, n)]["missing"]
              for side in datasets for n in names[side]}

    # The values at the ranks the quantiles and deciles need.
    wanted = []
    for (side, n), total in totals.items():
        if total == 0:
            continue
        for q in QUANTILES + DECILES:
            h = q * (total - 1)
            for r in {math.floor(h), min(math.ceil(h), total - 1)}:
                wanted.append((n, side, r))
    ranks = spark.createDataFrame(wanted, "column string, side string, rank long")
    at = defaultdict(dict)
    for s in sides:
        hits = (
            placed.join(F.broadcast(ranks.filter(F.col("side") == s)), "column")
            .filter((F.col(f"n_{s}_before") <= F.col("rank"))
                    & (F.col("rank") < F.col(f"n_{s}_before") + F.col(f"n_{s}")))
            .select("column", "rank", "value")
            .collect()
        )
        for h in hits:
            at[(s, h["column"])][h["rank"]] = h["value"]

    profiles = {}
    deciles = {}
    for (side, n), total in totals.items():
        st = stats[(side, n)]
        p = {"count": rows_of[side], "nulls": st["missing"], "min": None, "max": None,
             "mean": None, "std": None, "quantiles": [], "histogram": None}
        if total > 0:
            got = at[(side, n)]
            p.update(min=st["min"], max=st["max"], mean=st["mean"], std=math.sqrt(st["var"]),
                     quantiles=[[q, quantile(got, q, total)] for q in QUANTILES])
            deciles[(side, n)] = [quantile(got, q, total) for q in DECILES]
        profiles[(side, n)] = p

    # Histogram edges: the reference's deciles when it has the column, else
    # the holdout's, widened to both datasets' range.
    column_edges = {}
    for n in set(c for names_ in names.values() for c in names_):
        have = [(s, profiles[(s, n)]) for s in sides if (s, n) in profiles and profiles[(s, n)]["min"] is not None]
        if not have:
            continue
        lo = min(p["min"] for _, p in have)
        hi = max(p["max"] for _, p in have)
        source = "reference" if ("reference", n) in deciles else have[0][0]
        column_edges[n] = edges(deciles[(source, n)], lo, hi)
    if column_edges:
        bin_of = None
        for n, e in column_edges.items():
            bins = max(len(e) - 1, 1)
            inner = e[1:max(len(e) - 1, 1)]
            idx = sum((F.col("value") >= F.lit(x)).cast("int") for x in inner) if inner else F.lit(0)
            expr = F.least(idx, F.lit(bins - 1))
            bin_of = F.when(F.col("column") == n, expr) if bin_of is None else bin_of.when(F.col("column") == n, expr)
        binned = (
            placed.withColumn("bin", bin_of)
            .groupBy("column", "bin")
            .agg(*[F.sum(f"n_{s}").alias(f"n_{s}") for s in sides])
            .collect()
        )
        hist = defaultdict(dict)
        for r in binned:
            for s in sides:
                hist[(s, r["column"])][r["bin"]] = r[f"n_{s}"]
        for (side, n), p in profiles.items():
            if n in column_edges and p["min"] is not None:
                e = column_edges[n]
                bins = max(len(e) - 1, 1)
                p["histogram"] = {"edges": e, "counts": [hist[(side, n)].get(b, 0) for b in range(bins)]}

    # KS: the largest gap between the two CDFs, at each distinct value.
    ks = {}
    if "reference" in datasets and "holdout" in datasets:
        both = [n for n in names["holdout"] if n in names["reference"]]
        nh = {n: totals[("holdout", n)] for n in both}
        nr = {n: totals[("reference", n)] for n in both}
        m = F.create_map(*[x for n in both if nh[n] and nr[n]
                           for x in (F.lit(n), F.array(F.lit(float(nh[n])), F.lit(float(nr[n]))))])
        if any(nh[n] and nr[n] for n in both):
            nhc, nrc = m[F.col("column")][0], m[F.col("column")][1]
            gaps = (
                placed.filter(nhc.isNotNull())
                .select("column", F.abs(
                    (F.col("n_holdout_before") + F.col("n_holdout")) / nhc
                    - (F.col("n_reference_before") + F.col("n_reference")) / nrc
                ).alias("gap"))
                .groupBy("column").agg(F.max("gap").alias("statistic"))
                .collect()
            )
            for g in gaps:
                n = g["column"]
                ks[n] = {"statistic": g["statistic"], "holdout_rows": nh[n], "reference_rows": nr[n]}
    placed.unpersist()
    ranged.unpersist()
    return profiles, ks


def other_profiles(df, rows):
    """Text, boolean and time profiles: counts, nulls, the most frequent
    categories (ties by value) and the number of distinct ones, or a time
    column's range in microseconds."""
    out = {}
    for f in df.schema.fields:
        t = f.dataType
        if isinstance(t, NUMERIC):
            continue
        col = F.col(f"`{f.name}`")
        nulls = df.filter(col.isNull()).count()
        p = {"count": rows, "nulls": nulls, "min": None, "max": None, "mean": None,
             "std": None, "quantiles": [], "histogram": None}
        if isinstance(t, (T.StringType, T.BooleanType)):
            text = F.lower(col.cast("string")) if isinstance(t, T.BooleanType) else col
            counts = df.filter(col.isNotNull()).groupBy(text.alias("v")).count()
            p["distinct"] = counts.count()
            top = counts.orderBy(F.desc("count"), F.asc("v")).limit(TOP_CATEGORIES).collect()
            p["top_categories"] = [[r["v"], r["count"]] for r in top]
        elif isinstance(t, (T.TimestampType, T.TimestampNTZType)):
            r = df.agg(F.min(F.unix_micros(col.cast("timestamp"))).alias("lo"),
                       F.max(F.unix_micros(col.cast("timestamp"))).alias("hi")).first()
            p["min"], p["max"] = (float(r["lo"]), float(r["hi"])) if r["lo"] is not None else (None, None)
        elif isinstance(t, T.DateType):
            r = df.agg(F.min(F.unix_date(col)).alias("lo"), F.max(F.unix_date(col)).alias("hi")).first()
            p["min"], p["max"] = (float(r["lo"]), float(r["hi"])) if r["lo"] is not None else (None, None)
        out[f.name] = p
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--holdout", required=True, help="the scored holdout: Parquet file or directory")
    ap.add_argument("--label", required=True, help="the label column (holdout.label)")
    ap.add_argument("--positive", help="the positive class, for a text label (holdout.positive)")
    ap.add_argument("--amount", help="the transaction amount column (holdout.amount)")
    ap.add_argument("--scores", required=True, help="comma-separated score columns, one per model")
    ap.add_argument("--reference", help="reference data for drift: Parquet file or directory")
    ap.add_argument("--out", required=True, help="the summary directory to write")
    ap.add_argument("--sample-negatives", type=int, default=200_000,
                    help="negatives kept in the bootstrap sample, in expectation (every positive is kept)")
    ap.add_argument("--seed", type=int, default=7, help="the sample's seed")
    ap.add_argument("--partitions", type=int, default=0,
                    help="repartition the holdout into this many partitions first (0: as read)")
    ap.add_argument("--master", help="Spark master (spark-submit sets it)")
    args = ap.parse_args(argv)

    builder = SparkSession.builder.appName("modelgate-summaries")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        write_summary(spark, args)
    except Refused as e:
        print(f"error: {args.holdout}: {e}", file=sys.stderr)
        return 2
    return 0


def write_summary(spark, args):
    scores = [s for s in args.scores.split(",") if s]
    if not scores:
        raise Refused("--scores names no column")
    holdout = spark.read.parquet(args.holdout)
    if args.partitions:
        holdout = holdout.repartition(args.partitions)
    holdout = holdout.persist(StorageLevel.MEMORY_AND_DISK)
    partitions = max(holdout.rdd.getNumPartitions(), 1)
    for c in [args.label, args.amount]:
        if c and c not in holdout.columns:
            raise Refused(f"column `{c}` is not in the holdout")
    check_scores(holdout, scores)
    y = labels(holdout, args.label, args.positive)
    keep = [F.col(f"`{s}`").cast("double").alias(s) for s in scores] + [y.alias("_y")]
    if args.amount:
        a = F.col(f"`{args.amount}`").cast("double")
        bad = holdout.filter(a.isNull() | F.isnan(a)).count()
        if bad:
            raise Refused(f"amount column `{args.amount}` has {bad} missing values")
        keep.append(a.alias("_amount"))
    rows = holdout.select(*keep).persist(StorageLevel.MEMORY_AND_DISK)
    n_rows = rows.count()
    positives = rows.filter(F.col("_y")).count()
    if n_rows == 0:
        raise Refused("the holdout has no rows")

    counts = score_counts(rows, scores, bool(args.amount)).persist(StorageLevel.MEMORY_AND_DISK)
    counts.write.mode("overwrite").parquet(f"{args.out}/scores")
    progress(f"counted {n_rows} rows by score")

    probabilities = {
        s: rows.filter((F.col(f"`{s}`") < 0) | (F.col(f"`{s}`") > 1)).count() == 0 for s in scores
    }
    pairs = []
    if len(scores) > 1:
        placed, ranged = placements(spark, counts, partitions)
        placed = placed.persist(StorageLevel.MEMORY_AND_DISK)
        for i, a in enumerate(scores):
            for b in scores[i + 1:]:
                pairs.append(pair_stats(rows, placed, a, b, probabilities[a] and probabilities[b]))
        placed.unpersist()
        ranged.unpersist()
        progress("computed the DeLong components and loss differences")

    # The bootstrap sample: every positive, and each negative with the same
    # probability, weighted by its inverse.
    negatives = n_rows - positives
    share = min(1.0, args.sample_negatives / negatives) if negatives else 1.0
    sample = rows.filter(F.col("_y") | (F.rand(args.seed) < share)).select(
        *[F.col(f"`{s}`") for s in scores], F.col("_y").alias("label"),
        *([F.col("_amount").alias("amount")] if args.amount else []),
        F.when(F.col("_y"), 1.0).otherwise(1.0 / share).alias("weight"),
    )
    sample.coalesce(1).write.mode("overwrite").parquet(f"{args.out}/sample")
    progress("wrote the bootstrap sample")

    datasets = {"holdout": holdout}
    rows_of = {"holdout": n_rows}
    if args.reference:
        reference = spark.read.parquet(args.reference).persist(StorageLevel.MEMORY_AND_DISK)
        datasets["reference"] = reference
        rows_of["reference"] = reference.count()
    numeric, ks = numeric_profiles(spark, datasets, rows_of, partitions)
    progress("profiled the numeric columns")
    profiles = {}
    for side, df in datasets.items():
        other = other_profiles(df, rows_of[side])
        out = []
        for f in df.schema.fields:
            p = numeric.get((side, f.name)) or other[f.name]
            p.setdefault("top_categories", [])
            p.setdefault("distinct", None)
            out.append({"name": f.name, "dtype": dtype_name(f.dataType), **p})
        profiles[side] = out

    manifest = {
        "schema": SCHEMA,
        "holdout": args.holdout,
        "reference": args.reference,
        "reference_rows": rows_of.get("reference"),
        "label": args.label,
        "positive": args.positive,
        "amount": args.amount,
        "rows": n_rows,
        "positives": positives,
        "models": scores,
        "pairs": pairs,
        "sample": {"negative_share": share, "seed": args.seed},
        "profiles": profiles,
        "ks": ks,
        "spark": spark.version,
    }
    # The manifest goes last: a summary without one is incomplete.
    text = json.dumps(manifest, indent=1, allow_nan=False)
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(f"{args.out}/manifest.json")
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(path, True)
    stream.write(bytearray(text.encode("utf-8")))
    stream.close()


if __name__ == "__main__":
    sys.exit(main())
