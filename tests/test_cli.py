"""The command line as its users drive it: exit status, stdout, exact stderr."""

import json
import os
import shutil

import pytest
from conftest import HEADER, ROOT, run_json, run_tool

ROWS = [
    ["u2", "1.1.1.1", "2024-01-01 1:00:00", "3", "Login", "n1"],
    ["007", "2.2.2.2", "2024-01-02 2:00:00", "-4", "View", "n2"],
    ["u2", "3.3.3.3", "2024-01-03 3:00:00", "0", "Logout", "n3"],
    ["u2", "9.9.9.9", "2024-01-04 4:00:00", "5", "Purchase", "n1"],  # repeats u2/n1
]
U2 = {
    "User ID": "u2",
    "ip_addresses": ["1.1.1.1", "3.3.3.3"],
    "activities": ["Login", "Logout"],
    "timestamps": ["2024-01-01 1:00:00", "2024-01-03 3:00:00"],
    "total_count": 3,
}
USER_007 = {
    "User ID": "007",
    "ip_addresses": ["2.2.2.2"],
    "activities": ["View"],
    "timestamps": ["2024-01-02 2:00:00"],
    "total_count": -4,
}


@pytest.fixture
def events(csv_file):
    return csv_file(ROWS)


def test_default_json_drops_repeated_events(events):
    assert run_json(events) == [U2, USER_007]


def test_keep_duplicates_keeps_every_row(events):
    records = run_json(events, "--keep-duplicates")
    assert records[0]["ip_addresses"] == ["1.1.1.1", "3.3.3.3", "9.9.9.9"]
    assert records[0]["total_count"] == 8


def test_bare_flag_does_not_swallow_the_path(events):
    assert run_json("--keep-duplicates", events)[0]["total_count"] == 8
    assert run_json("-k", events)[0]["total_count"] == 8
    assert run_json("--keep-duplicates=false", events)[0]["total_count"] == 3


def test_ndjson_is_one_record_a_line(events):
    status, stdout, stderr = run_tool(events, "--format", "ndjson")
    assert (status, stderr) == (0, "")
    assert [json.loads(line) for line in stdout.decode().splitlines()] == [U2, USER_007]
    assert stdout.endswith(b"}\n")


def test_object_is_keyed_by_user_in_first_appearance_order(events):
    status, stdout, _ = run_tool(events, "--format=object")
    assert status == 0
    parsed = json.loads(stdout)
    assert list(parsed) == ["u2", "007"]
    assert parsed["007"] == {key: value for key, value in USER_007.items() if key != "User ID"}


def test_indent_pretty_prints(events):
    status, stdout, _ = run_tool(events, "--indent", "4")
    assert status == 0
    assert stdout.decode() == json.dumps([U2, USER_007], indent=4) + "\n"


def test_compact_output_is_byte_identical_across_runs(events):
    first, second = run_tool(events), run_tool(events)
    assert first == second
    records = ",\n".join(json.dumps(record, separators=(",", ":")) for record in [U2, USER_007])
    assert first[1] == f"[\n{records}\n]\n".encode()  # one record a line


def test_header_only_file_gives_empty_results(csv_file):
    path = csv_file([])
    assert run_tool(path) == (0, b"[\n]\n", "")
    assert run_tool(path, "--format", "object") == (0, b"{\n}\n", "")
    assert run_tool(path, "--format", "ndjson") == (0, b"", "")


def test_bare_run_reads_the_bundled_sample():
    records = run_json(cwd=ROOT)
    assert len(records) == 100
    assert sum(len(record["activities"]) for record in records) == 1980


def test_path_keeps_its_exact_spelling(tmp_path, events):
    for name in ("1e5", "007", "True", "1_000", "None"):
        shutil.copy(events, tmp_path / name)
        assert run_json(name, cwd=tmp_path) == [U2, USER_007]


def test_option_values_keep_their_dashes(tmp_path, events):
    assert run_tool(events, "--output=out-file.json", cwd=tmp_path) == (0, b"", "")
    assert json.loads((tmp_path / "out-file.json").read_text()) == [U2, USER_007]


def test_output_file_is_written_and_stdout_stays_empty(tmp_path, events):
    target = tmp_path / "out.json"
    assert run_tool(events, "--output", target) == (0, b"", "")
    assert json.loads(target.read_text()) == [U2, USER_007]
    assert sorted(os.listdir(tmp_path)) == ["events.csv", "out.json"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "xml"], 'error: --format must be one of json, ndjson, object, not "xml"\n'),
        (["--indent", "four"], 'error: --indent takes a whole number of spaces, not "four"\n'),
        (["--indent=2", "--format=ndjson"], "error: --indent applies to the json and object formats, not ndjson\n"),
        (["--bogus"], "error: unknown option --bogus; see --help\n"),
        (["-z"], "error: unknown option -z; see --help\n"),
        (["--keep-duplicates=maybe"], 'error: --keep-duplicates takes no value or true/false, not "maybe"\n'),
        (["--output"], "error: option --output needs a value\n"),
    ],
)
def test_usage_errors_exit_2_before_any_work(tmp_path, events, arguments, message):
    target = tmp_path / "out.json"
    target.write_text("old")
    assert run_tool("events.csv", "--output=out.json", *arguments, cwd=tmp_path) == (2, b"", message)
    assert target.read_text() == "old"


def test_help_documents_every_option():
    status, stdout, stderr = run_tool("--help")  # fire shows help on stderr
    assert (status, stdout) == (0, b"")
    for option in ("PATHS", "--output", "--format", "--indent", "--keep_duplicates", "--skip_bad_rows", "--rejects"):
        assert option in stderr


def refusal(path, message, *arguments):
    """Run on `path` with an existing --output file; the refusal must leave it alone."""
    target = path.parent / "previous.json"
    target.write_text('["previous"]')
    before = sorted(os.listdir(path.parent))
    assert run_tool(path, *arguments) == (1, b"", message)
    assert run_tool(path, "--output", target, *arguments) == (1, b"", message)
    assert target.read_text() == '["previous"]'
    assert sorted(os.listdir(path.parent)) == before


def test_missing_file_is_refused(tmp_path):
    (tmp_path / "x").mkdir()
    refusal(tmp_path / "x" / "nope.csv", f"error: {tmp_path}/x/nope.csv: no such file\n")


def test_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "sub.csv").mkdir()
    refusal(tmp_path / "d" / "sub.csv", f"error: {tmp_path}/d/sub.csv: is a directory, not a CSV file\n")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    columns = ", ".join(HEADER)
    refusal(path, f"error: {path}: the file is empty; expected a header line with {columns}\n")


def test_missing_columns_are_named_with_near_matches(csv_file):
    path = csv_file([], header=["User ID", "IP Address", "Timestamp", "Count", "Random String"])
    refusal(
        path,
        f'error: {path}: missing required columns "TimeStamp" (found "Timestamp": names are case-sensitive), '
        '"Activity"\n',
    )


def test_non_integer_count_is_refused_with_its_line(csv_file):
    path = csv_file([*ROWS[:2], ["u3", "ip", "t", "three", "View", "n9"]])
    refusal(path, f'error: {path}:4: Count "three" is not an integer\n')


def test_total_that_overflows_64_bits_is_refused(csv_file):
    path = csv_file([["big", "ip", "t", str(2**63 - 1), "View", "a"], ["big", "ip", "t", "1", "View", "b"]])
    refusal(
        path,
        f'error: {path}: the total_count of User ID "big" is 9223372036854775808, outside the 64-bit integer range\n',
    )


def test_count_outside_64_bits_is_refused(csv_file):
    path = csv_file([["big", "ip", "t", str(-(2**63) - 1), "View", "a"]])
    refusal(path, f"error: {path}:2: Count -9223372036854775809 is outside the 64-bit integer range\n")


def test_invalid_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((",".join(HEADER) + "\nu1,ip,t,1,Caf\xe9,n1\n").encode("latin-1"))
    refusal(path, f'error: {path}:2: bytes that are not UTF-8: "u1,ip,t,1,Caf\\\\xe9,n1"\n')
