"""Benchmark aggregate_users.py against what a data engineer would write instead.

Usage: python bench/bench.py [--rows N] [--repeat K] [--only plain,duckdb,...]

Generates N rows (default 1,000,000) with bench/generate.py into bench/data/
(kept for the next run, never committed), runs aggregate_users.py and each
alternative on the same file, checks that every alternative's output equals
ours, and prints wall seconds and peak memory (RSS), with each one's ratio to
ours, all measured in this run. Needs `pip install -r bench/requirements.txt`
for duckdb and pandas.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from generate import generate

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOL = [sys.executable, str(ROOT / "aggregate_users.py")]
ALTERNATIVES = ("plain", "duckdb", "pandas", "floor")


def command(name, source, target):
    if name == "ours":
        return [*TOOL, str(source), "--output", str(target)]
    return [sys.executable, str(BENCH / "alternatives.py"), name, str(source), str(target)]


def measure(argv):
    """(wall seconds, peak RSS in MiB) of one run of argv, as its own process.

    GNU time reports the peak of the command alone; os.wait4 here would also
    count what the child inherited from this process before it exec'd.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", report.name, *argv], check=True)
        seconds, kilobytes = report.read().split()
    return float(seconds), int(kilobytes) / 1024


def same_output(ours, theirs):
    """Whether two JSON arrays of records agree: same users, order, lists and totals."""
    with open(ours, encoding="utf-8") as first, open(theirs, encoding="utf-8") as second:
        return json.load(first) == json.load(second)


def dataset(rows):
    path = BENCH / "data" / f"events-{rows}.csv"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        generate(rows).write_csv(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median is shown")
    parser.add_argument("--only", default=",".join(ALTERNATIVES), help="alternatives to run, comma-separated")
    arguments = parser.parse_args()
    source = dataset(arguments.rows)
    size = source.stat().st_size / 2**20
    print(f"{arguments.rows:,} rows, {size:,.0f} MiB CSV, median of {arguments.repeat} runs", flush=True)

    results = {}
    for name in ("ours", *arguments.only.split(",")):
        target = BENCH / "data" / f"out-{name}.json"
        runs = [measure(command(name, source, target)) for _ in range(arguments.repeat)]
        results[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        if name not in ("ours", "floor") and not same_output(BENCH / "data" / "out-ours.json", target):
            raise SystemExit(f"{name}'s output differs from ours")
        if name != "ours":
            target.unlink()
        print(f"  {name}: {results[name][0]:.2f} s", flush=True)
    (BENCH / "data" / "out-ours.json").unlink(missing_ok=True)

    sample_output = BENCH / "data" / "out-sample.json"
    sample = [measure([*TOOL, str(ROOT / "user_activities.csv"), "--output", sample_output])[0] for _ in range(5)]
    sample_output.unlink()
    ours_seconds, ours_memory = results["ours"]
    print()
    print("| tool | wall s | peak RSS MiB | time vs ours | memory vs ours |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (seconds, memory) in results.items():
        print(
            f"| {name} | {seconds:.2f} | {memory:,.0f} | {seconds / ours_seconds:.2f}x | {memory / ours_memory:.2f}x |"
        )
    print()
    print(f"peak RSS / CSV size: {ours_memory / size:.2f}x")
    print(f"bundled sample (2,000 rows), median of 5: {statistics.median(sample):.2f} s")


if __name__ == "__main__":
    main()
