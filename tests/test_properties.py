"""Generated CSVs against a small plain-Python reference implementation."""

import io
import json

import polars as pl
import pytest
from conftest import HEADER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aggregate_users

TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=6)


def reference(header, rows, keep_duplicates):
    """What the tool must output, computed the obvious way."""
    position = {name: header.index(name) for name in HEADER}
    seen, users = set(), {}
    for row in rows:
        user, nonce = row[position["User ID"]], row[position["Random String"]]
        if not keep_duplicates and (user, nonce) in seen:
            continue
        seen.add((user, nonce))
        record = users.setdefault(
            user, {"User ID": user, "ip_addresses": [], "activities": [], "timestamps": [], "total_count": 0}
        )
        record["ip_addresses"].append(row[position["IP Address"]])
        record["activities"].append(row[position["Activity"]])
        record["timestamps"].append(row[position["TimeStamp"]])
        record["total_count"] += int(row[position["Count"]])
    return list(users.values())


def rendered(users):
    buffer = io.BytesIO()
    aggregate_users.render(users, "json", None)(buffer)
    return buffer.getvalue()


@st.composite
def exports(draw):
    """(header, rows, CSV bytes): random column order, extra columns, quoting, line endings, BOM."""
    extras = draw(st.lists(st.sampled_from(["extra", "Notes", "user id", "ts"]), unique=True, max_size=2))
    header = draw(st.permutations(HEADER + extras))
    users = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=4, unique=True))
    nonces = draw(st.lists(TEXT, min_size=1, max_size=6))
    row = st.fixed_dictionaries(
        {
            "User ID": st.sampled_from(users),
            "Random String": st.sampled_from(nonces),
            "Count": st.integers(-(2**40), 2**40).map(str) | st.sampled_from(["+7", "007", "-0"]),
        }
    )
    rows = [
        [fields.get(name) if name in fields else draw(TEXT) for name in header]
        for fields in draw(st.lists(row, max_size=25))
    ]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(quote(field, draw(st.booleans())) for field in record) for record in [header, *rows]]
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return header, rows, (bom + ending.join(lines) + ending).encode()


def quote(field, always):
    """RFC 4180: quote a field that needs it, and others at random."""
    if always or any(character in field for character in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=exports(), keep_duplicates=st.booleans())
def test_output_matches_the_reference(tmp_path, export, keep_duplicates):
    header, rows, data = export
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    users, _, rejects = aggregate_users.aggregate([str(path)], keep_duplicates, skip_bad_rows=False)
    assert rejects == []
    assert json.loads(rendered(users)) == reference(header, rows, keep_duplicates)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=exports())
def test_fast_and_careful_readers_each_match_the_reference(tmp_path, export):
    """Both readers, not just whichever one the run picked, agree with the reference."""
    header, rows, data = export
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    expected = reference(header, rows, keep_duplicates=False)

    events, rejects = aggregate_users.read_events_carefully(str(path), str(path), header)
    assert rejects == []
    careful = aggregate_users.aggregate_query(events, keep_duplicates=False).collect()
    assert json.loads(rendered(careful)) == expected

    try:
        fast, read, suspect = aggregate_users.collect_fast(
            aggregate_users.scan_events(str(path), header), keep_duplicates=False
        )
    except pl.exceptions.ComputeError:
        return  # the fast path gave up; the careful one is authoritative
    if not suspect:
        assert json.loads(rendered(fast)) == expected
        assert read == len(rows)


CORRUPTIONS = ("drop a field", "add a field", "blank the Count", "insert a bad byte", "break a quote")


@st.composite
def corrupted_exports(draw):
    """(header, good rows, CSV bytes, lines of the corrupted records): some records broken on purpose."""
    header, rows, _ = draw(exports())
    broken = draw(st.lists(st.sampled_from(range(len(rows))), unique=True)) if rows else []
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    records, bad_lines, line = [], [], 2
    for index, row in enumerate(rows):
        fields = list(row)
        corruption = draw(st.sampled_from(CORRUPTIONS)) if index in broken else None
        if corruption == "break a quote" and index != len(rows) - 1:
            corruption = "blank the Count"  # an unclosed quote swallows the rest: only the last record
        if corruption == "drop a field":
            fields.pop()
        elif corruption == "add a field":
            fields.append(draw(TEXT))
        elif corruption == "blank the Count":
            fields[header.index("Count")] = ""
        text = ",".join(quote(field, draw(st.booleans())) for field in fields)
        if corruption == "break a quote":
            text = '"' + text.replace('"', "")  # a field opened that never closes
        record = text.encode() + (b"\xff" if corruption == "insert a bad byte" else b"") + ending.encode()
        if corruption:
            bad_lines.append(line)
        records.append(record)
        line += record.count(b"\n")
    good = [row for index, row in enumerate(rows) if index not in broken]
    data = (",".join(header) + ending).encode() + b"".join(records)
    return header, good, data, bad_lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=corrupted_exports())
def test_corrupted_records_are_refused_or_skipped_exactly(tmp_path, export):
    header, good, data, bad_lines = export
    path = tmp_path / "export.csv"
    path.write_bytes(data)

    users, read, rejects = aggregate_users.aggregate([str(path)], keep_duplicates=False, skip_bad_rows=True)
    assert [reject["line"] for reject in rejects] == bad_lines
    assert json.loads(rendered(users)) == reference(header, good, keep_duplicates=False)
    assert read == len(good)

    if bad_lines:
        with pytest.raises(aggregate_users.InputError) as refusal:
            aggregate_users.aggregate([str(path)], keep_duplicates=False, skip_bad_rows=False)
        message = str(refusal.value)
        first = f"{path}:{bad_lines[0]}: "
        if len(bad_lines) == 1:
            assert message.startswith(first)
        else:
            assert message.startswith(f"{path}: {len(bad_lines)} bad records") and f"\n  {first}" in message


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=exports())
def test_every_format_carries_the_same_records(tmp_path, export):
    """Quotes, backslashes, control characters and non-ASCII text survive each format's JSON."""
    header, rows, data = export
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    users, _, _ = aggregate_users.aggregate([str(path)], keep_duplicates=False, skip_bad_rows=False)
    expected = reference(header, rows, keep_duplicates=False)
    outputs = {}
    for output_format in aggregate_users.FORMATS:
        buffer = io.BytesIO()
        aggregate_users.render(users, output_format, None)(buffer)
        outputs[output_format] = buffer.getvalue().decode()
    assert json.loads(outputs["json"]) == expected
    assert [json.loads(line) for line in outputs["ndjson"].split("\n")[:-1]] == expected  # not splitlines(): U+0085
    assert json.loads(outputs["object"]) == {
        record["User ID"]: {key: value for key, value in record.items() if key != "User ID"} for record in expected
    }
