"""Messy exports and faults: each refusal names its line; --skip-bad-rows loses nothing."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from conftest import HEADER, ROOT, run_tool

GOOD = "u1,1.1.1.1,2024-01-01 1:00:00,3,Login,n1\n"
HEADER_LINE = ",".join(HEADER) + "\n"


def export(tmp_path, body, header=HEADER_LINE, name="export.csv"):
    path = tmp_path / name
    path.write_bytes((header + body).encode() if isinstance(body, str) else header.encode() + body)
    return path


def refused(path, message, *arguments):
    """Refused with exactly `message`; stdout empty; an existing --output untouched, no stray file."""
    target = path.parent / "previous.json"
    target.write_text('["previous"]')
    before = sorted(os.listdir(path.parent))
    assert run_tool(path.name, *arguments, cwd=path.parent) == (1, b"", message)
    assert run_tool(path.name, "--output", target.name, *arguments, cwd=path.parent) == (1, b"", message)
    assert target.read_text() == '["previous"]'
    assert sorted(os.listdir(path.parent)) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD + "u2,ip,t,4,View\n", "error: export.csv:3: 5 fields where the header has 6\n"),
        (GOOD + "u2,ip,t,4,View,n2,extra\n", "error: export.csv:3: 7 fields where the header has 6\n"),
        (
            GOOD + 'u2,ip,"t\n\n,4,View,n2\n',
            "error: export.csv:3: a quoted field is never closed (its closing quote is missing)\n",
        ),
        (GOOD + "u2,ip,t,,View,n2\n", 'error: export.csv:3: Count "" is not an integer\n'),
        (GOOD + "u2,ip,t,three,View,n2\n", 'error: export.csv:3: Count "three" is not an integer\n'),
        (GOOD + "u2,ip,t,3.5,View,n2\n", 'error: export.csv:3: Count "3.5" is not an integer\n'),
        (GOOD + "u2,ip,t, 7,View,n2\n", 'error: export.csv:3: Count " 7" is not an integer\n'),
        (
            GOOD + "u2,ip,t,9223372036854775808,View,n2\n",
            "error: export.csv:3: Count 9223372036854775808 is outside the 64-bit integer range\n",
        ),
        (GOOD + ",ip,t,1,View,n2\n", "error: export.csv:3: User ID is empty\n"),
        (GOOD + 'u2,"a\nb",t,x,View,n2\n', 'error: export.csv:3: Count "x" is not an integer\n'),
        ('u2,"a\nb",t,1,View,n2\n' + "u3,ip,t,y,View,n3\n", 'error: export.csv:4: Count "y" is not an integer\n'),
        (GOOD + 'u2,ip,"t"x,1,View,n2\n', "error: export.csv:3: malformed quoting (',' expected after '\"')\n"),
    ],
)
def test_bad_record_is_refused_with_its_line(tmp_path, body, message):
    refused(export(tmp_path, body), message)


def test_carriage_return_inside_a_line_is_data_on_both_readers(tmp_path):
    body = GOOD + "u2,ip,t\r1,1,View,n2\r\n"
    expected_u2 = {
        "User ID": "u2",
        "ip_addresses": ["ip"],
        "activities": ["View"],
        "timestamps": ["t\r1"],
        "total_count": 1,
    }
    status, stdout, _ = run_tool(export(tmp_path, body))
    assert (status, json.loads(stdout)[1]) == (0, expected_u2)
    # A later bad record sends the file to the careful reader, which must read the CR alike.
    export(tmp_path, body + "u3,ip,t,x,A,n3\n", name="b.csv")
    status, stdout, stderr = run_tool("b.csv", "--skip-bad-rows", cwd=tmp_path)
    assert (status, json.loads(stdout)[1]) == (0, expected_u2)
    assert stderr == 'warning: b.csv:4: skipped: Count "x" is not an integer\nwarning: skipped 1 bad record\n'


def test_bytes_that_are_not_utf8_name_their_line(tmp_path):
    path = export(tmp_path, GOOD.encode() + b"u2,ip,t,1,Caf\xe9,n2\n")
    refused(path, 'error: export.csv:3: bytes that are not UTF-8: "u2,ip,t,1,Caf\\\\xe9,n2"\n')


def test_per_user_total_overflow_is_refused(tmp_path):
    path = export(tmp_path, f"u1,ip,t,{2**62},A,a\nu2,ip,t,1,A,b\nu1,ip,t,{2**62},A,c\n")
    message = (
        'error: export.csv: the total_count of User ID "u1" is 9223372036854775808, outside the 64-bit integer range\n'
    )
    refused(path, message)
    refused(path, message, "--skip-bad-rows")


def test_several_bad_records_are_counted_and_the_first_five_listed(tmp_path):
    body = GOOD + "".join(f"u{n},ip,t,bad{n},A,n{n}\n" for n in range(7))
    lines = "".join(f'  export.csv:{n + 3}: Count "bad{n}" is not an integer\n' for n in range(5))
    refused(
        export(tmp_path, body),
        f"error: export.csv: 7 bad records (--skip-bad-rows skips them):\n{lines}  ... and 2 more\n",
    )


def test_duplicate_header_name_is_refused(tmp_path):
    refused(
        export(tmp_path, GOOD, header=HEADER_LINE.strip() + ",Count\n"),
        'error: export.csv:1: the header names column "Count" twice\n',
    )


def test_missing_header_row_is_refused(tmp_path):
    path = export(tmp_path, GOOD, header="")
    refused(
        path,
        'error: export.csv:1: the first line is not a header (found "u1", "1.1.1.1", "2024-01-01 1:00:00", "3", '
        '"Login", "n1"); the file must start with a header naming ' + ", ".join(HEADER) + "\n",
    )


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    refused(path, "error: export.csv: not a CSV file (it contains binary data)\n")


def test_broken_gzip_file_is_refused(tmp_path):
    path = tmp_path / "export.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")
    message = (
        "error: export.csv.gz: not a valid gzip file "
        "(Compressed file ended before the end-of-stream marker was reached)\n"
    )
    refused(path, message)


def test_blank_lines_are_skipped_and_counted_in_line_numbers(tmp_path):
    path = export(tmp_path, GOOD + "\n\nu2,ip,t,z,A,n2\n")
    refused(path, 'error: export.csv:5: Count "z" is not an integer\n')
    fine = export(tmp_path, GOOD + "\n\n", name="fine.csv")
    status, stdout, _ = run_tool(fine)
    assert (status, json.loads(stdout)[0]["total_count"]) == (0, 3)


def test_empty_cell_in_the_last_column_is_data_not_a_short_row(tmp_path):
    path = export(tmp_path, GOOD + "u2,ip,t,4,View,\n")
    status, stdout, stderr = run_tool(path)
    assert (status, stderr) == (0, "")
    assert [record["User ID"] for record in json.loads(stdout)] == ["u1", "u2"]


BAD_BODY = GOOD + "u2,ip,t,x,A,n2\nu3,ip,t,5,View\nu1,2.2.2.2,t2,4,Logout,n3\n"


def test_skip_bad_rows_aggregates_the_rest_and_warns(tmp_path):
    path = export(tmp_path, BAD_BODY)
    status, stdout, stderr = run_tool(path.name, "--skip-bad-rows", cwd=tmp_path)
    assert status == 0
    assert json.loads(stdout) == [
        {
            "User ID": "u1",
            "ip_addresses": ["1.1.1.1", "2.2.2.2"],
            "activities": ["Login", "Logout"],
            "timestamps": ["2024-01-01 1:00:00", "t2"],
            "total_count": 7,
        }
    ]
    assert stderr == (
        'warning: export.csv:3: skipped: Count "x" is not an integer\n'
        "warning: export.csv:4: skipped: 5 fields where the header has 6\n"
        "warning: skipped 2 bad records\n"
    )


def test_rejects_file_keeps_every_skipped_record(tmp_path):
    path = export(tmp_path, BAD_BODY)
    status, _, _ = run_tool(path.name, "--skip-bad-rows", "--rejects", "rejects.ndjson", cwd=tmp_path)
    assert status == 0
    rejects = [json.loads(line) for line in (tmp_path / "rejects.ndjson").read_text().splitlines()]
    assert rejects == [
        {"file": "export.csv", "line": 3, "reason": 'Count "x" is not an integer', "record": "u2,ip,t,x,A,n2\n"},
        {"file": "export.csv", "line": 4, "reason": "5 fields where the header has 6", "record": "u3,ip,t,5,View\n"},
    ]


def test_warnings_stop_at_ten_then_give_the_total(tmp_path):
    path = export(tmp_path, GOOD + "".join(f"u{n},ip,t,bad,A,n{n}\n" for n in range(12)))
    status, _, stderr = run_tool(path.name, "--skip-bad-rows", cwd=tmp_path)
    lines = stderr.splitlines()
    assert (status, len(lines)) == (0, 11)
    assert lines[9] == 'warning: export.csv:12: skipped: Count "bad" is not an integer'
    assert lines[10] == "warning: skipped 12 bad records (10 shown)"


def test_skip_bad_rows_still_refuses_header_problems(tmp_path):
    path = export(tmp_path, GOOD, header="User ID,IP Address,TimeStamp,Count,Activity\n")
    refused(path, 'error: export.csv: missing required column "Random String"\n', "--skip-bad-rows")


def test_rejects_needs_skip_bad_rows(tmp_path):
    path = export(tmp_path, GOOD)
    assert run_tool(path, "--rejects", tmp_path / "r.ndjson") == (
        2,
        b"",
        "error: --rejects goes with --skip-bad-rows\n",
    )


def test_verbose_prints_one_summary_line(tmp_path):
    path = export(tmp_path, BAD_BODY + "u1,ip,t,1,A,n1\n")
    status, _, stderr = run_tool(path, "--skip-bad-rows", "--verbose")
    summary = stderr.splitlines()[-1]
    assert status == 0
    assert summary.startswith("summary: 3 events read, 1 duplicates dropped, 2 records skipped, 1 users written, ")
    assert summary.endswith(" s")


def test_quiet_by_default(tmp_path):
    assert run_tool(export(tmp_path, GOOD))[2] == ""


def test_output_directory_problems_are_refused_before_any_work(tmp_path):
    path = export(tmp_path, GOOD + "u2,ip,t,x,A,n2\n")
    missing = tmp_path / "nowhere" / "out.json"
    assert run_tool(path, "--output", missing) == (
        1,
        b"",
        f"error: --output {missing}: the directory {tmp_path}/nowhere does not exist\n",
    )
    assert run_tool(path, "--output", tmp_path) == (1, b"", f"error: --output {tmp_path}: is a directory\n")
    assert run_tool(path, "--output", "/dev/null") == (
        1,
        b"",
        "error: --output /dev/null: not a regular file; to write to a device or pipe, use stdout\n",
    )
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_stdout_on_a_full_disk_fails_clearly(tmp_path):
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, ROOT / "aggregate_users.py", export(tmp_path, GOOD)],
            stdout=full,
            capture_output=False,
            stderr=subprocess.PIPE,
        )
    assert (result.returncode, result.stderr) == (
        1,
        b"error: stdout: could not write the output: No space left on device\n",
    )


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


def test_output_write_failure_leaves_the_old_file(tmp_path):
    path = export(tmp_path, "".join(f"u{n},ip,t,1,A,n{n}\n" for n in range(100)))
    target = tmp_path / "out.json"
    target.write_text("old")
    result = subprocess.run(
        [sys.executable, ROOT / "aggregate_users.py", path, "--output", target],
        capture_output=True,
        preexec_fn=_limit_file_size,
    )
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == f"error: {target}: could not write the output: File too large\n"
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["export.csv", "out.json"]


def test_reader_going_away_is_quiet(tmp_path):
    path = export(tmp_path, "".join(f"u{n},ip,t,1,A,n{n}\n" for n in range(20_000)))
    tool = subprocess.Popen(
        [sys.executable, ROOT / "aggregate_users.py", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    tool.stdout.close()  # gone before the tool writes, as `| head -c 100` is once it has its bytes
    assert (tool.wait(), tool.stderr.read()) == (128 + signal.SIGPIPE, b"")


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2])
def test_killed_during_output_leaves_old_or_new_file_and_no_temporary(tmp_path, delay):
    path = export(tmp_path, "".join(f"u{n % 5000},ip{n},t,1,A,n{n}\n" for n in range(300_000)))
    target = tmp_path / "out.json"
    target.write_text("old")
    tool = subprocess.Popen(
        [sys.executable, ROOT / "aggregate_users.py", path, "--output", target], stderr=subprocess.PIPE
    )
    time.sleep(delay)
    tool.send_signal(signal.SIGTERM)
    status = tool.wait()
    assert status in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
    content = target.read_text()  # a signal after the rename finds the new file in place: also whole
    assert content == "old" or len(json.loads(content)) == 5000
    assert status != 0 or content != "old"  # a run that succeeded has replaced it
    assert sorted(os.listdir(tmp_path)) == ["export.csv", "out.json"]
