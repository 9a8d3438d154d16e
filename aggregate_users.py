"""Aggregate a CSV export of user activity events into per-user nested JSON.

Usage: python aggregate_users.py [PATH ...] [--output FILE] [--format json|ndjson|object]
                                 [--indent N] [--keep-duplicates] [--skip-bad-rows]
                                 [--rejects FILE] [--verbose]

PATH defaults to ./user_activities.csv; `-` is stdin; several paths aggregate
as one input; gzip-compressed files are read as they are. The result goes to
stdout, or with --output to FILE, which is replaced atomically only when the
run succeeds.
"""

import contextlib
import csv
import difflib
import gzip
import io
import json
import os
import re
import signal
import sys
import tempfile
import time
import zlib

import fire
import polars as pl

USER_ID = "User ID"
IP_ADDRESS = "IP Address"
TIMESTAMP = "TimeStamp"
COUNT = "Count"
ACTIVITY = "Activity"
NONCE = "Random String"
REQUIRED_COLUMNS = (USER_ID, IP_ADDRESS, TIMESTAMP, COUNT, ACTIVITY, NONCE)
TEXT_COLUMNS = (USER_ID, IP_ADDRESS, TIMESTAMP, ACTIVITY, NONCE)

# Output record keys, in output order, and the input column each list is built from.
LIST_COLUMNS = {"ip_addresses": IP_ADDRESS, "activities": ACTIVITY, "timestamps": TIMESTAMP}
TOTAL = "total_count"

FORMATS = ("json", "ndjson", "object")
DOCUMENT_BRACKETS = {"json": (b"[\n", b"]\n"), "ndjson": (b"", b""), "object": (b"{\n", b"}\n")}
BOOLEAN_FLAGS = ("keep_duplicates", "skip_bad_rows", "verbose")
OPTIONS = ("output", "format", "indent", "rejects", *BOOLEAN_FLAGS)
DEFAULT_PATH = "user_activities.csv"
STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"

COUNT_PATTERN = re.compile(r"[+-]?[0-9]+")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SUSPECT = "__suspect__"  # set on rows the fast path cannot vouch for
LONE_CR = "\udc0d"  # stands in for a CR inside a line; no decoded text holds a lone surrogate
JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
JSON_ESCAPES |= {chr(code): f"\\u{code:04x}" for code in range(32) if chr(code) not in JSON_ESCAPES}
MAX_LISTED = 5  # bad records named in a refusal
MAX_WARNINGS = 10  # skipped records named one by one on stderr


class InputError(Exception):
    """A mistake in the user's input or arguments: reported as one `error:` line."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def load_input(path):
    """(name for messages, source for Polars: the path, or stdin's bytes); refuses unusable paths."""
    if path == STDIN:  # a pipe can be read only once, and both readers may need it
        source = sys.stdin.buffer.read()
        name, size = "<stdin>", len(source)
    elif not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    elif os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a CSV file")
    elif not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    else:
        name = source = path
        size = os.path.getsize(path)
    if size == 0:
        raise InputError(f"{name}: the file is empty; expected a header line with {_column_list()}")
    return name, source


@contextlib.contextmanager
def open_binary(name, source):
    """The source's bytes as a file, decompressed if gzip; a broken gzip stream is refused."""
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as file:
        compressed = file.read(2) == GZIP_MAGIC
        file.seek(0)
        try:
            yield gzip.GzipFile(fileobj=file) if compressed else file
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise InputError(f"{name}: not a valid gzip file ({error})") from error


def read_header(name, source):
    """The header's column names, read exactly as the careful reader reads them."""
    with open_binary(name, source) as file:
        head = file.read(8192)
        if b"\0" in head:
            raise InputError(f"{name}: not a CSV file (it contains binary data)")
        file.seek(0)
        for line, _raw, fields, problem in careful_records(file):
            if problem:
                raise InputError(f"{name}:{line}: the header is unreadable: {problem}")
            return fields
    raise InputError(f"{name}: the file has no header line; expected {_column_list()}")


def check_header(path, header):
    """Refuse duplicate names and missing required columns, suggesting near matches."""
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(f'{path}:1: the header names column "{name}" twice')
        seen.add(name)
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if not missing:
        return
    if len(missing) == len(REQUIRED_COLUMNS):
        found = ", ".join(f'"{name}"' for name in header[:6])
        raise InputError(
            f"{path}:1: the first line is not a header (found {found}); "
            f"the file must start with a header naming {_column_list()}"
        )
    lowered = {name.lower(): name for name in header if name not in REQUIRED_COLUMNS}
    described = []
    for name in missing:
        near = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.8)
        hint = f' (found "{lowered[near[0]]}": names are case-sensitive)' if near else ""
        described.append(f'"{name}"{hint}')
    raise InputError(f"{path}: missing required column{'s' * (len(missing) > 1)} {', '.join(described)}")


def careful_records(file):
    """Yield (line, raw text, fields, problem) per record of a binary file.

    The slow, exact reader: it knows the line where each record starts, which
    Polars does not. `problem` is None for a well-formed CSV record.
    """
    consumed = []  # (line number, text, valid UTF-8) of the current record's lines
    lines_read = 0
    cr_hidden = False  # whether the current record's lines had a CR replaced by LONE_CR

    def decoded_lines():
        nonlocal lines_read, cr_hidden
        for data in file:
            lines_read += 1
            if lines_read == 1:
                data = data.removeprefix(b"\xef\xbb\xbf")
            try:
                text, valid = data.decode("utf-8"), True
            except UnicodeDecodeError:
                text, valid = data.decode("utf-8", "backslashreplace"), False
            consumed.append((lines_read, text, valid))
            # Polars keeps a CR inside a line as data, where the csv module would end
            # the record (or refuse it): hide such CRs from the csv module.
            body = text.removesuffix("\n").removesuffix("\r")
            if "\r" in body:
                cr_hidden = True
                yield body.replace("\r", LONE_CR) + text[len(body) :]
            else:
                yield text

    reader = csv.reader(decoded_lines(), strict=True)
    while True:
        try:
            fields, problem = next(reader), None
        except StopIteration:
            return
        except csv.Error as error:
            fields, problem = None, _describe_csv_error(error)
        line = consumed[0][0]  # the csv module reads whole lines: every record has consumed one
        raw = "".join(text for _, text, _ in consumed)
        if not all(valid for _, _, valid in consumed):
            problem = f"bytes that are not UTF-8: {json.dumps(raw.rstrip(chr(10)), ensure_ascii=False)}"
        consumed.clear()
        restore_cr, cr_hidden = cr_hidden, False
        if fields == []:  # a blank line is no record
            continue
        if restore_cr and fields:
            fields = [field.replace(LONE_CR, "\r") for field in fields]
        yield line, raw, fields, problem


def _describe_csv_error(error):
    text = str(error)
    if "unexpected end of data" in text or "field larger than field limit" in text:
        return "a quoted field is never closed (its closing quote is missing)"
    return f"malformed quoting ({text})"


def check_record(fields, positions):
    """Why a parsed record is refused, or None if it is good."""
    if len(fields) != positions["__width__"]:
        return f"{len(fields)} fields where the header has {positions['__width__']}"
    if fields[positions[USER_ID]] == "":
        return f"{USER_ID} is empty"
    count = fields[positions[COUNT]]
    if not COUNT_PATTERN.fullmatch(count):
        return f"{COUNT} {json.dumps(count, ensure_ascii=False)} is not an integer"
    if not INT64_MIN <= int(count) <= INT64_MAX:
        return f"{COUNT} {count} is outside the 64-bit integer range"
    return None


def scan_events(source, header):
    """The fast path: Polars reads every column as text; suspect rows are flagged."""
    count = pl.col(COUNT).cast(pl.Int64, strict=False)
    # Polars reads an empty cell and a missing trailing field alike as null: a null in
    # the last column may be a short row, so the careful reader decides.
    return pl.scan_csv(source, infer_schema=False, glob=False).select(
        *(pl.col(name).fill_null("") for name in TEXT_COLUMNS),
        count,
        (count.is_null() | pl.col(USER_ID).is_null() | pl.col(header[-1]).is_null()).alias(SUSPECT),
    )


def read_events_carefully(name, source, header):
    """The exact path: good records as a frame, and a reject (a dict) per bad one."""
    positions = {name: header.index(name) for name in REQUIRED_COLUMNS}
    positions["__width__"] = len(header)
    columns = {column: [] for column in REQUIRED_COLUMNS}
    rejects = []
    with open_binary(name, source) as file:
        records = careful_records(file)
        next(records, None)  # the header
        for line, raw, fields, problem in records:
            problem = problem or check_record(fields, positions)
            if problem:
                rejects.append({"file": name, "line": line, "reason": problem, "record": raw})
                continue
            for column in REQUIRED_COLUMNS:
                columns[column].append(fields[positions[column]])
    events = pl.LazyFrame(columns, schema=dict.fromkeys(REQUIRED_COLUMNS, pl.String)).select(
        *TEXT_COLUMNS, pl.col(COUNT).cast(pl.Int64), pl.lit(False).alias(SUSPECT)
    )
    return events, rejects


def drop_duplicates(events):
    """Keep the first event of each (User ID, Random String)."""
    return events.unique(subset=[USER_ID, NONCE], keep="first", maintain_order=True)


def escape_for_json(events):
    """The output's text as JSON string contents, escaped only where a value needs it."""
    return events.with_columns(
        pl.when(pl.col(name).str.contains_any(list(JSON_ESCAPES)))
        .then(pl.col(name).str.replace_many(JSON_ESCAPES))
        .otherwise(pl.col(name))
        for name in (USER_ID, *LIST_COLUMNS.values())
    )


def group_by_user(events):
    """One row per user, in first-appearance order, lists in input order; exact totals."""
    return events.group_by(USER_ID, maintain_order=True).agg(
        *(pl.col(column).alias(key) for key, column in LIST_COLUMNS.items()),
        pl.col(COUNT).cast(pl.Int128).sum().alias(TOTAL),
    )


def aggregate_query(events, keep_duplicates):
    return group_by_user(escape_for_json(events if keep_duplicates else drop_duplicates(events)))


def collect_fast(events, keep_duplicates):
    """Run the query once: (per-user frame, events read, whether any row is suspect)."""
    users, totals = pl.collect_all(
        [aggregate_query(events, keep_duplicates), events.select(pl.len(), pl.col(SUSPECT).any())],
        engine="streaming",  # on 10M rows: faster, and a third less memory than in-memory
        # Without projection pushdown Polars parses every field and so refuses long rows.
        optimizations=pl.QueryOptFlags(projection_pushdown=False),
    )
    return users, *totals.row(0)


def aggregate(paths, keep_duplicates, skip_bad_rows):
    """(per-user frame, events read, rejects) for CSV files taken as one input; InputError if refused."""
    inputs = [load_input(path) for path in paths]
    headers = [read_header(name, source) for name, source in inputs]
    for (name, _), header in zip(inputs, headers, strict=True):
        check_header(name, header)
    try:
        events = pl.concat([scan_events(source, header) for (_, source), header in zip(inputs, headers, strict=True)])
        users, read, suspect = collect_fast(events, keep_duplicates)
    except pl.exceptions.ComputeError:
        suspect = True
    rejects = []
    if suspect:
        frames = []
        for (name, source), header in zip(inputs, headers, strict=True):
            frame, file_rejects = read_events_carefully(name, source, header)
            frames.append(frame)
            rejects += file_rejects
        if rejects and not skip_bad_rows:
            raise InputError(describe_rejects(rejects))
        users, read, _ = collect_fast(pl.concat(frames), keep_duplicates)
    return check_totals(", ".join(name for name, _ in inputs), users), read, rejects


def describe_rejects(rejects):
    """One refusal for all bad records: how many, and where the first few are."""
    places = [f"{reject['file']}:{reject['line']}: {reject['reason']}" for reject in rejects[:MAX_LISTED]]
    if len(rejects) == 1:
        return places[0]
    more = f"\n  ... and {len(rejects) - MAX_LISTED} more" if len(rejects) > MAX_LISTED else ""
    skip = "(--skip-bad-rows skips them)"
    return (
        f"{rejects[0]['file']}: {len(rejects)} bad records {skip}:" + "".join(f"\n  {place}" for place in places) + more
    )


def warn_skipped(rejects):
    """A warning line per skipped record, up to a limit, then the total."""
    for reject in rejects[:MAX_WARNINGS]:
        print(f"warning: {reject['file']}:{reject['line']}: skipped: {reject['reason']}", file=sys.stderr)
    if rejects:
        shown = f" ({MAX_WARNINGS} shown)" if len(rejects) > MAX_WARNINGS else ""
        print(f"warning: skipped {len(rejects)} bad record{'s' * (len(rejects) > 1)}{shown}", file=sys.stderr)


def check_totals(path, users):
    """Refuse a total that does not fit the 64-bit integer that downstream tools expect."""
    over = users.filter(~pl.col(TOTAL).is_between(INT64_MIN, INT64_MAX))
    if len(over):
        first = over.row(0, named=True)
        user, total = first[USER_ID], first[TOTAL]
        raise InputError(f'{path}: the {TOTAL} of {USER_ID} "{user}" is {total}, outside the 64-bit integer range')
    return users.with_columns(pl.col(TOTAL).cast(pl.Int64))


class ErrorKeepingFile:
    """A binary file for Polars to write into that keeps the file's own OSError,
    which Polars re-raises flattened, without its errno."""

    def __init__(self, file):
        self.file, self.error = file, None

    def write(self, chunk):
        try:
            self.file.write(chunk)
        except OSError as error:
            self.error = error
            raise
        return len(chunk)


def json_object(members):
    """The text of a JSON object, from {key: expression for the value's JSON text}."""
    parts = []
    for key, value in members.items():
        parts += [pl.lit(("," if parts else "{") + json.dumps(key) + ":"), value]
    return pl.concat_str(*parts, pl.lit("}"))


def record_lines(users, output_format):  # users: a LazyFrame
    """One line of JSON text per user, a comma after each but the last where the format is one document.

    Built from strings, as Polars writes text at several times the speed of
    nested JSON; the text values are already escaped (escape_for_json).
    """
    user = pl.concat_str(pl.lit('"'), pl.col(USER_ID), pl.lit('"'))
    members = {key: pl.concat_str(pl.lit('["'), pl.col(key).list.join('","'), pl.lit('"]')) for key in LIST_COLUMNS}
    members[TOTAL] = pl.col(TOTAL).cast(pl.String)
    if output_format == "object":
        line = [user, pl.lit(":"), json_object(members)]
    else:
        line = [json_object({USER_ID: user, **members})]
    if output_format != "ndjson":
        line.append(pl.when(pl.int_range(pl.len()) < pl.len() - 1).then(pl.lit(",")).otherwise(pl.lit("")))
    return users.select(pl.concat_str(*line))


def render(users, output_format, indent):
    """A function that writes the output document to a binary file."""
    lines = record_lines(users.lazy(), output_format)  # built while written: faster, less memory
    opening, closing = DOCUMENT_BRACKETS[output_format]

    def write(file):
        sink = ErrorKeepingFile(file)
        sink.write(opening)
        try:
            lines.sink_csv(sink, include_header=False, quote_style="never")
        except OSError as error:
            raise (sink.error or error) from None
        sink.write(closing)

    if indent is None:
        return write
    document = io.BytesIO()
    write(document)
    text = json.dumps(json.loads(document.getvalue()), indent=indent, ensure_ascii=False) + "\n"
    return lambda file: file.write(text.encode())


def write_atomically(path, write):
    """Replace `path` with what `write(file)` writes, all at once; on any failure `path` is left as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _file_mode(path):
    """Keep an existing file's mode; a new file gets the usual mode under the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _column_list():
    return ", ".join(REQUIRED_COLUMNS)


def parse_format(value):
    if value not in FORMATS:
        raise InputError(f'--format must be one of {", ".join(FORMATS)}, not "{value}"', status=2)
    return value


def parse_indent(value):
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]+", value):
        raise InputError(f'--indent takes a whole number of spaces, not "{value}"', status=2)
    return int(value)


def parse_flag(name, value):
    if value in (False, True):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InputError(f'--{name.replace("_", "-")} takes no value or true/false, not "{value}"', status=2)


def check_output_target(option, target):
    """Refuse, before any work, a target that cannot be replaced by a new regular file."""
    if os.path.isdir(target):
        raise InputError(f"{option} {target}: is a directory")
    if os.path.exists(target) and not os.path.isfile(target):
        raise InputError(f"{option} {target}: not a regular file; to write to a device or pipe, use stdout")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise InputError(f"{option} {target}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{option} {target}: the directory {directory} is not writable")


def emit(write, output):
    """Write the result to stdout, or atomically to `output`."""
    try:
        if output is None:
            write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            write_atomically(output, write)
    except BrokenPipeError:
        raise
    except OSError as error:
        if output is None:
            _discard_stdout()
        raise InputError(f"{output or 'stdout'}: could not write the output: {error.strerror}") from error


def _discard_stdout():
    """Point stdout at /dev/null, so that the flush at exit cannot fail a second time."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(
    *paths,
    output=None,
    format="json",  # noqa: A002
    indent=None,
    keep_duplicates=False,
    skip_bad_rows=False,
    rejects=None,
    verbose=False,
):
    """Aggregate user activity events (CSV) into one JSON record per user.

    Args:
      paths: The CSV exports to read, aggregated as one input in the order given
        (default: ./user_activities.csv); - reads stdin; .gz files are decompressed.
        Each needs the columns User ID, IP Address, TimeStamp, Count, Activity and
        Random String, in any order.
      output: Write the result to this file instead of stdout. The file is replaced
        atomically, and only when the run succeeds.
      format: json (an array of records, the default), ndjson (one record a line) or
        object (one object keyed by User ID).
      indent: Pretty-print json or object output with this many spaces.
      keep_duplicates: Keep rows that repeat an earlier row's User ID and Random
        String (by default such repeats are dropped as the same event exported twice).
      skip_bad_rows: Skip bad records instead of refusing the file: aggregate the
        rest and warn on stderr about each skipped record (header problems still refuse).
      rejects: With --skip-bad-rows, write every skipped record to this file as
        NDJSON (file, line, reason, record), to fix and replay.
      verbose: Print a summary line on stderr at the end.
    """
    started = time.perf_counter()
    output_format = parse_format(format)
    indent = parse_indent(indent)
    keep_duplicates = parse_flag("keep_duplicates", keep_duplicates)
    skip_bad_rows = parse_flag("skip_bad_rows", skip_bad_rows)
    verbose = parse_flag("verbose", verbose)
    if indent is not None and output_format == "ndjson":
        raise InputError("--indent applies to the json and object formats, not ndjson", status=2)
    if rejects is not None and not skip_bad_rows:
        raise InputError("--rejects goes with --skip-bad-rows", status=2)
    for option, target in (("--output", output), ("--rejects", rejects)):
        if target is not None:
            check_output_target(option, target)

    users, read, skipped = aggregate(paths or (DEFAULT_PATH,), keep_duplicates, skip_bad_rows)
    warn_skipped(skipped)
    emit(render(users, output_format, indent), output)
    if rejects is not None:
        lines = "".join(json.dumps(reject, ensure_ascii=False) + "\n" for reject in skipped).encode()
        emit(lambda file: file.write(lines), rejects)
    if verbose:
        kept = users.select(pl.col("ip_addresses").list.len().sum()).item() or 0
        print(
            f"summary: {read} events read, {read - kept} duplicates dropped, {len(skipped)} records skipped, "
            f"{len(users)} users written, {time.perf_counter() - started:.2f} s",
            file=sys.stderr,
        )


def fire_command(argv):
    """Spell the arguments so that fire passes each value on exactly as typed.

    fire reads values as Python literals (`1e5` becomes a float, `007` stays
    text), takes the word after a bare boolean flag as the flag's value, and
    reports an unknown option only after the work is done. Quoting every value
    as a Python string literal and checking every option here settles all three
    before anything runs. `--` ends the options: what follows are paths.
    """
    command = []
    arguments = iter(argv)
    for argument in arguments:
        if argument in ("--help", "-h"):
            return ["--help"]
        if argument == "--":
            return command + [repr(path) for path in arguments]
        if not re.match(r"--?[a-zA-Z]", argument):
            command.append(repr(argument))
            continue
        name, has_value, value = argument.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if not argument.startswith("--"):
            name = next((option for option in OPTIONS if option[0] == name), name)
        if name not in OPTIONS:
            raise InputError(f"unknown option {argument.partition('=')[0]}; see --help", status=2)
        if not has_value and name in BOOLEAN_FLAGS:
            value = "true"
        elif not has_value:
            value = next(arguments, None)
            if value is None:
                raise InputError(f"option {argument} needs a value", status=2)
        command.append(f"--{name}={value!r}")
    return command


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds, so a half-written --output is removed


def run(argv):
    """The command-line entry: returns the exit status."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        fire.Fire(main, command=fire_command(argv), name="aggregate_users.py")
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status
    except BrokenPipeError:
        _discard_stdout()  # the reader went away (`| head`): stop quietly, as a killed `cat` would
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
