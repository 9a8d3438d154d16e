"""Shared helpers: run the tool as a user does, and write small CSV files."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

HEADER = ["User ID", "IP Address", "TimeStamp", "Count", "Activity", "Random String"]


def run_tool(*arguments, cwd=ROOT, stdin=None):
    """Run aggregate_users.py in a subprocess; return (status, stdout bytes, stderr text)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "aggregate_users.py"), *map(str, arguments)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr.decode()


def run_json(*arguments, **options):
    status, stdout, stderr = run_tool(*arguments, **options)
    assert (status, stderr) == (0, "")
    return json.loads(stdout)


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def csv_file(tmp_path):
    """Write rows (under the standard header unless given one) to a CSV file."""

    def make(rows, header=HEADER, name="events.csv"):
        return write_csv(tmp_path / name, rows, header)

    return make
