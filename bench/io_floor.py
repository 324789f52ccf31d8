#!/usr/bin/env python3
"""The I/O floor of bench/run.sh: one streaming pass of polars over every
column of both Parquet files, decoded and written nowhere.
Usage: io_floor.py HOLDOUT.parquet REFERENCE.parquet"""
import sys

import polars as pl

for path in sys.argv[1:]:
    pl.scan_parquet(path).select(pl.all()).sink_ipc("/dev/null")
