"""The seed README's example record must come out exactly."""

import json

from conftest import run_json

SEED_RECORD = {
    "User ID": "user_0077",
    "ip_addresses": [
        "231.66.126.240",
        "16.240.110.220",
        "166.180.150.132",
        "14.29.10.141",
        "15.225.56.234",
        "48.76.26.131",
        "173.15.117.130",
        "47.76.50.160",
        "207.187.141.191",
        "179.72.96.25",
        "65.114.72.191",
    ],
    "activities": [
        "Purchase",
        "Login",
        "Purchase",
        "Logout",
        "Login",
        "Login",
        "Login",
        "View",
        "View",
        "Logout",
        "Login",
    ],
    "timestamps": [
        "2023-08-30 3:39:31",
        "2024-02-14 8:03:20",
        "2023-06-04 9:48:05",
        "2024-04-01 3:23:13",
        "2023-07-18 23:16:40",
        "2023-08-26 9:18:51",
        "2023-06-21 19:43:12",
        "2023-12-04 2:56:53",
        "2023-06-07 19:59:44",
        "2024-01-06 9:01:10",
        "2023-07-17 15:40:27",
    ],
    "total_count": 65,
}
COUNTS = [5, 7, 3, 9, 6, 4, 8, 2, 10, 1, 10]


def seed_rows():
    """user_0077's events interleaved with two other users' and one re-exported event."""
    rows = []
    events = zip(SEED_RECORD["ip_addresses"], SEED_RECORD["timestamps"], COUNTS, SEED_RECORD["activities"], strict=True)
    for index, (ip, timestamp, count, activity) in enumerate(events):
        rows.append(["user_0012", f"10.0.0.{index}", "2023-01-01 0:00:00", "1", "View", f"other{index:05d}"])
        rows.append(["user_0077", ip, timestamp, str(count), activity, f"nonce{index:05d}"])
        if index % 4 == 0:
            rows.append(["user_0003", "10.9.9.9", "2023-02-02 2:02:02", "2", "Login", f"third{index:05d}"])
    rows.insert(5, list(rows[3]))  # user_0077's second event, exported twice
    return rows


def test_seed_example_record_comes_out_exactly(csv_file):
    records = run_json(csv_file(seed_rows()))
    assert [record["User ID"] for record in records] == ["user_0012", "user_0077", "user_0003"]
    assert records[1] == SEED_RECORD
    assert list(records[1]) == list(SEED_RECORD)


def test_seed_example_with_indent_4_matches_the_readme_layout(csv_file):
    from conftest import run_tool

    status, stdout, _ = run_tool(csv_file(seed_rows()), "--format", "object", "--indent", "4")
    assert status == 0
    expected = {"user_0077": {key: value for key, value in SEED_RECORD.items() if key != "User ID"}}
    body = json.dumps(expected["user_0077"], indent=4)
    assert ('"user_0077": ' + body.replace("\n", "\n    ")) in stdout.decode()
