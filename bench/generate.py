"""Generate user activity CSV exports like the seed's example, deterministically.

Usage: python bench/generate.py ROWS [--users N] [--seed S] [--duplicate-rate R] > file.csv

The bundled sample is `python bench/generate.py 2000 --users 100 > user_activities.csv`.
About 20 events a user by default; about 1% of rows repeat an earlier event
(same User ID and Random String) a few rows later, as a re-exported event does.
"""

import argparse
import random
import string
import sys

import polars as pl

COLUMNS = ("User ID", "IP Address", "TimeStamp", "Count", "Activity", "Random String")
ACTIVITIES = ("Login", "Logout", "Purchase", "View")
NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 10
FIRST_SECOND, LAST_SECOND = 1_685_577_600, 1_717_199_999  # 2023-06-01 to 2024-05-31, UTC


def generate(rows, users=None, seed=42, duplicate_rate=0.01):
    """A frame of `rows` events (text columns, in the export's column order)."""
    rng = random.Random(seed)
    users = users or max(1, rows // 20)
    duplicates = round(rows * duplicate_rate)
    events = rows - duplicates
    digits = max(4, len(str(users - 1)))
    nonces = "".join(rng.choices(NONCE_ALPHABET, k=events * NONCE_LENGTH))
    frame = pl.DataFrame(
        {
            "user": rng.choices(range(users), k=events),
            **{f"octet{i}": rng.choices(range(1, 256), k=events) for i in range(4)},
            "second": rng.choices(range(FIRST_SECOND, LAST_SECOND), k=events),
            "Count": rng.choices(range(1, 11), k=events),
            "Activity": rng.choices(ACTIVITIES, k=events),
            "Random String": [nonces[i : i + NONCE_LENGTH] for i in range(0, len(nonces), NONCE_LENGTH)],
        },
    )
    frame = frame.select(
        pl.format("user_{}", pl.col("user").cast(pl.String).str.zfill(digits)).alias("User ID"),
        pl.concat_str([f"octet{i}" for i in range(4)], separator=".").alias("IP Address"),
        pl.from_epoch("second").dt.strftime("%Y-%m-%d %-H:%M:%S").alias("TimeStamp"),
        pl.col("Count").cast(pl.String),
        "Activity",
        "Random String",
        pl.int_range(events).cast(pl.Float64).alias("position"),
    )
    # A repeat lands a few rows after the event it repeats.
    originals = sorted(rng.sample(range(events), k=min(duplicates, events)))
    repeats = frame[originals].with_columns(pl.col("position") + pl.Series([rng.uniform(1, 5) for _ in originals]))
    return pl.concat([frame, repeats]).sort("position", maintain_order=True).drop("position")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, help="how many rows, duplicates included")
    parser.add_argument("--users", type=int, help="how many users (default: rows / 20)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duplicate-rate", type=float, default=0.01)
    arguments = parser.parse_args()
    frame = generate(arguments.rows, arguments.users, arguments.seed, arguments.duplicate_rate)
    frame.write_csv(sys.stdout.buffer)


if __name__ == "__main__":
    main()
