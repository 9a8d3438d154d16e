"""The benchmark's generator and output check, at a small size, for correctness only."""

import json
import subprocess
import sys

from alternatives import plain
from conftest import HEADER, ROOT
from generate import generate

from bench import same_output


def test_generator_is_deterministic_and_shaped_like_the_seed():
    frame = generate(20_000, seed=7)
    assert frame.equals(generate(20_000, seed=7))
    assert frame.columns == HEADER
    assert frame.height == 20_000
    assert frame["User ID"].n_unique() == 1_000
    assert frame["User ID"][0].startswith("user_") and len(frame["User ID"][0]) == 9
    assert frame.select(frame["Activity"].is_in(["Login", "Logout", "Purchase", "View"]).all()).item()
    assert frame["Random String"].str.len_chars().unique().to_list() == [10]
    repeats = frame.height - frame.select(["User ID", "Random String"]).unique().height
    assert repeats == 200  # 1% of the rows repeat an earlier event


def test_the_bundled_sample_is_what_the_generator_makes():
    made = subprocess.run(
        [sys.executable, ROOT / "bench" / "generate.py", "2000", "--users", "100"], capture_output=True, check=True
    ).stdout
    assert made == (ROOT / "user_activities.csv").read_bytes()


def test_plain_alternative_agrees_with_the_tool_and_the_check_sees_a_difference(tmp_path):
    source = tmp_path / "events.csv"
    generate(20_000).write_csv(source)
    ours, theirs = tmp_path / "ours.json", tmp_path / "plain.json"
    subprocess.run([sys.executable, ROOT / "aggregate_users.py", source, "--output", ours], check=True)
    plain(source, theirs)
    assert same_output(ours, theirs)

    records = json.loads(theirs.read_text())
    records[5]["total_count"] += 1
    theirs.write_text(json.dumps(records))
    assert not same_output(ours, theirs)
