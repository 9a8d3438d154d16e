"""Inputs at scale: stdin, several files as one input, gzip, literal names."""

import gzip
import shutil

from conftest import HEADER, run_json, run_tool, write_csv

MONDAY = [
    ["u1", "1.1.1.1", "mon 1", "1", "Login", "a"],
    ["u2", "2.2.2.2", "mon 2", "2", "View", "b"],
]
# Tuesday's export has its columns in another order and repeats Monday's u1/a event.
TUESDAY_HEADER = ["Random String", "Count", "User ID", "Activity", "TimeStamp", "IP Address", "Extra"]
TUESDAY = [
    ["a", "5", "u1", "Login", "tue 1", "1.1.1.1", "x"],
    ["c", "7", "u3", "Logout", "tue 2", "3.3.3.3", "y"],
    ["d", "4", "u1", "View", "tue 3", "4.4.4.4", "z"],
]
TOGETHER = [
    {
        "User ID": "u1",
        "ip_addresses": ["1.1.1.1", "4.4.4.4"],
        "activities": ["Login", "View"],
        "timestamps": ["mon 1", "tue 3"],
        "total_count": 5,
    },
    {"User ID": "u2", "ip_addresses": ["2.2.2.2"], "activities": ["View"], "timestamps": ["mon 2"], "total_count": 2},
    {"User ID": "u3", "ip_addresses": ["3.3.3.3"], "activities": ["Logout"], "timestamps": ["tue 2"], "total_count": 7},
]


def daily_exports(tmp_path):
    return write_csv(tmp_path / "2024-05-01.csv", MONDAY), write_csv(
        tmp_path / "2024-05-02.csv", TUESDAY, TUESDAY_HEADER
    )


def test_several_files_aggregate_as_one_input_in_the_order_given(tmp_path):
    monday, tuesday = daily_exports(tmp_path)
    assert run_json(monday, tuesday) == TOGETHER
    assert [record["User ID"] for record in run_json(tuesday, monday)] == ["u1", "u3", "u2"]


def test_line_numbers_are_per_file(tmp_path):
    monday, _ = daily_exports(tmp_path)
    bad = write_csv(tmp_path / "bad.csv", [["u9", "ip", "t", "1", "A", "n"], ["u9", "ip", "t", "x", "A", "m"]])
    assert run_tool(monday, bad) == (1, b"", f'error: {bad}:3: Count "x" is not an integer\n')


def test_each_file_is_checked_for_the_required_columns(tmp_path):
    monday, _ = daily_exports(tmp_path)
    broken = write_csv(tmp_path / "broken.csv", [], header=HEADER[:-1])
    assert run_tool(monday, broken) == (1, b"", f'error: {broken}: missing required column "Random String"\n')


def test_stdin_is_read_with_a_dash(tmp_path):
    monday, tuesday = daily_exports(tmp_path)
    assert run_json("-", tuesday, stdin=monday.read_bytes()) == TOGETHER


def test_stdin_refusals_name_stdin(tmp_path):
    data = b"User ID,IP Address,TimeStamp,Count,Activity,Random String\nu1,ip,t,x,A,n\n"
    assert run_tool("-", stdin=data) == (1, b"", 'error: <stdin>:2: Count "x" is not an integer\n')
    assert run_tool("-", stdin=b"") == (
        1,
        b"",
        "error: <stdin>: the file is empty; expected a header line with " + ", ".join(HEADER) + "\n",
    )


def test_gzip_files_and_gzip_on_stdin(tmp_path):
    monday, tuesday = daily_exports(tmp_path)
    packed = tmp_path / "2024-05-01.csv.gz"
    packed.write_bytes(gzip.compress(monday.read_bytes()))
    assert run_json(packed, tuesday) == TOGETHER
    assert run_json("-", tuesday, stdin=packed.read_bytes()) == TOGETHER


def test_bad_record_in_a_gzip_file_names_its_line(tmp_path):
    packed = tmp_path / "bad.csv.gz"
    packed.write_bytes(gzip.compress(b",".join(h.encode() for h in HEADER) + b"\nu1,ip,t,1,A,n\nu1,ip,t\n"))
    assert run_tool(packed) == (1, b"", f"error: {packed}:3: 3 fields where the header has 6\n")


def test_paths_are_literal_not_globs(tmp_path):
    monday, _ = daily_exports(tmp_path)
    shutil.copy(monday, tmp_path / "lit[1].csv")
    assert run_json("lit[1].csv", cwd=tmp_path) == run_json(monday)
    assert run_json("lit[1].csv", cwd=tmp_path)[1]["User ID"] == "u2"
    assert run_tool("lit*.csv", cwd=tmp_path) == (1, b"", "error: lit*.csv: no such file\n")


def test_duplicates_are_dropped_across_files(tmp_path):
    monday, _ = daily_exports(tmp_path)
    records = run_json(monday, monday)
    assert records == run_json(monday)
    assert run_json(monday, monday, "--keep-duplicates")[0]["total_count"] == 2
