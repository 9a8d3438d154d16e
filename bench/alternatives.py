"""What a data engineer would write instead, each with the tool's semantics.

Usage: python bench/alternatives.py NAME INPUT.csv OUTPUT

NAME is plain (Polars, then json.dump), duckdb, pandas, or floor (Polars reads
the CSV and writes it as NDJSON with no work in between: the least any Polars
tool can take). Each runs in a process of its own so that its peak memory is
its own. duckdb and pandas come from bench/requirements.txt.
"""

import json
import sys

COLUMNS = ["User ID", "IP Address", "TimeStamp", "Count", "Activity", "Random String"]


def plain(source, target):
    """The usual way: Polars group_by, then Python's json.dump of to_dicts()."""
    import polars as pl

    frame = pl.read_csv(source, infer_schema=False).with_columns(pl.col("Count").cast(pl.Int64))
    frame = frame.unique(subset=["User ID", "Random String"], keep="first", maintain_order=True)
    users = frame.group_by("User ID", maintain_order=True).agg(
        ip_addresses=pl.col("IP Address"),
        activities=pl.col("Activity"),
        timestamps=pl.col("TimeStamp"),
        total_count=pl.col("Count").sum(),
    )
    with open(target, "w", encoding="utf-8") as file:
        json.dump(users.to_dicts(), file, ensure_ascii=False)


def duckdb(source, target):
    """One SQL query, order-preserving, COPY to a JSON array."""
    import duckdb as db

    db.sql(
        f"""
        COPY (
            WITH events AS (
                SELECT *, row_number() OVER () AS position
                FROM read_csv('{source}', header = true, all_varchar = true)
            ),
            kept AS (
                SELECT * FROM events
                QUALIFY row_number() OVER (PARTITION BY "User ID", "Random String" ORDER BY position) = 1
            )
            SELECT
                "User ID",
                list("IP Address" ORDER BY position) AS ip_addresses,
                list("Activity" ORDER BY position) AS activities,
                list("TimeStamp" ORDER BY position) AS timestamps,
                sum(CAST("Count" AS BIGINT)) AS total_count
            FROM kept
            GROUP BY "User ID"
            ORDER BY min(position)
        ) TO '{target}' (FORMAT JSON, ARRAY true)
        """
    )


def pandas(source, target):
    """groupby(sort=False).agg(list), then to_json(orient="records")."""
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    frame["Count"] = frame["Count"].astype("int64")
    frame = frame.drop_duplicates(subset=["User ID", "Random String"], keep="first")
    users = frame.groupby("User ID", sort=False).agg(
        ip_addresses=("IP Address", list),
        activities=("Activity", list),
        timestamps=("TimeStamp", list),
        total_count=("Count", "sum"),
    )
    users.reset_index().to_json(target, orient="records", force_ascii=False)


def floor(source, target):
    """Read the CSV and write it as NDJSON, with no work in between."""
    import polars as pl

    pl.scan_csv(source, infer_schema=False).sink_ndjson(target)


ALTERNATIVES = {"plain": plain, "duckdb": duckdb, "pandas": pandas, "floor": floor}

if __name__ == "__main__":
    name, source, target = sys.argv[1:]
    ALTERNATIVES[name](source, target)
