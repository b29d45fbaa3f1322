"""Local files as rows: RawSplit (the rows of one split and where they came from) and the readers of tables (CSV,
TSV, JSON lines, a JSON array, parquet) and text files. Part of harness.tasks.sources (see its docstring)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError

TABLE_FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet",
                 ".txt": "tsv"}
"""File formats by extension. `.txt` is tab-separated (the SNLI distribution's files)."""
GENERIC_EXTENSIONS = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
_CSV_FIELD_LIMIT = 2**31 - 1


def expand_path(path: str) -> Path:
    """A `path:` parameter as a Path: ~ and $VARS expanded (suite paths arrive resolved; see SuitePath)."""
    return Path(os.path.expandvars(os.path.expanduser(path)))



@dataclass(frozen=True)
class RawSplit:
    """The rows of one split of a dataset, as dicts keyed by the hub's column names (or names that
    TaskSource.column_aliases maps onto them), and where they came from (for error messages)."""

    origin: str
    """E.g. "../data/sst2/train.tsv" or "nyu-mll/glue/sst2 train"."""
    rows: tuple[dict, ...]
    lines: Optional[tuple[int, ...]] = None
    """Line (or item) number of each row in `origin`, when it is a file."""
    unit: str = "line"
    parts: tuple["RawSplit", ...] = ()
    """The files this split was concatenated from (concat_splits), which locate its rows."""

    def where(self, index: int) -> str:
        for part in self.parts:
            if index < len(part.rows):
                return part.where(index)
            index -= len(part.rows)
        if self.lines is not None:
            return f"{self.origin} {self.unit} {self.lines[index]}"
        return f"{self.origin} row {index + 1}"



def require_split_files(task_name: str, path: Path, found: Mapping[str, Any], layout_help: str,
                        needed: Sequence[str] = ("train", "test")) -> None:
    """A HarnessError unless a local folder gave every `needed` split (`found`: task split -> what was read), naming
    the task, the folder, the layout expected and the files found."""
    missing = [split for split in needed if split not in found]
    if missing:
        listing = ", ".join(sorted(entry.name for entry in path.iterdir())[:20]) or "(nothing)"
        raise HarnessError(f"task {task_name!r}: {path} has no {' or '.join(missing)} file; expected "
                           f"{layout_help}; found: {listing}")


def read_text(path: Path, encodings: Sequence[str] = ("utf-8-sig",)) -> str:
    """A text file decoded with the first encoding that fits; the error names the file and the byte."""
    data = path.read_bytes()
    errors = []
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as error:
            errors.append(error)
    error = errors[0]
    raise HarnessError(f"{path}: not {' or '.join(encodings)} text (byte {error.start}: {error.reason})")


def read_table(path: Path, file_format: Optional[str] = None,
               column_names: Optional[Sequence[str]] = None) -> RawSplit:
    """One table file as rows: CSV/TSV (header line unless `column_names`), JSON lines, a JSON array of objects,
    or parquet. TSV fields are never quoted (GLUE's files hold unbalanced quotes); a TSV/CSV row shorter than the
    header lacks the missing columns, as with csv.DictReader."""
    file_format = file_format or TABLE_FORMATS.get(path.suffix.lower())
    if file_format in ("tsv", "csv"):
        return _read_delimited(path, file_format, column_names)
    if file_format in ("jsonl", "json"):
        return _read_json(path)
    if file_format == "parquet":
        try:
            import pyarrow.parquet
        except ImportError as error:  # pragma: no cover - pyarrow comes with datasets
            raise HarnessError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from error
        try:
            rows = pyarrow.parquet.read_table(path).to_pylist()
        except Exception as error:
            raise HarnessError(f"{path}: cannot be read as parquet: {error}") from error
        return RawSplit(str(path), tuple(rows))
    raise HarnessError(f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                       f"expected one of {', '.join(sorted(TABLE_FORMATS))}")


def _read_delimited(path: Path, file_format: str, column_names: Optional[Sequence[str]]) -> RawSplit:
    text = read_text(path)
    options: dict[str, Any] = {"delimiter": "\t" if file_format == "tsv" else ","}
    if file_format == "tsv":
        options["quoting"] = csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    header = list(column_names) if column_names else None
    rows, lines = [], []
    previous_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        end = 0
        for fields in reader:
            start, end = end + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if header is None:
                header = [name.strip() for name in fields]
                continue
            rows.append(dict(zip(header, fields)))
            lines.append(start)
    except csv.Error as error:
        raise HarnessError(f"{path} line {end + 1}: cannot be read as {file_format.upper()}: {error}") from error
    finally:
        csv.field_size_limit(previous_limit)
    return RawSplit(str(path), tuple(rows), tuple(lines))


# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or one of the latter not preceded by the former: JSON
# lets them through as lone surrogates, which no tokenizer, file or XML document can hold.
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                                    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def has_lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value (strings, keys, lists, objects) holds a lone surrogate."""
    if isinstance(value, str):
        return any("\ud800" <= character <= "\udfff" for character in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(key) or has_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    return False


def lone_surrogate_problem(text: str) -> tuple[int, int, str]:
    """Where the first lone surrogate escape of JSON `text` is: (lines after the first, 1-based column), and the
    message that explains it."""
    match = _LONE_SURROGATE_ESCAPE.search(text)
    lines = text.count("\n", 0, match.start()) if match else 0
    column = (match.start() - text.rfind("\n", 0, match.start())) if match else 1
    escape = f" ({match.group(0)})" if match else ""
    return lines, column, (f"invalid Unicode: a lone surrogate{escape}, which is half of a character; fix the text "
                           f"(a character outside the Basic Multilingual Plane is written as two escapes, a high and "
                           f"a low surrogate)")


def _refuse_lone_surrogates(path: Path, text: str, first_line: int = 1) -> None:
    lines, column, message = lone_surrogate_problem(text)
    raise HarnessError(f"{path} line {first_line + lines}, column {column}: {message}")


def _read_json(path: Path) -> RawSplit:
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as error:
            raise HarnessError(f"{path}: not valid JSON: {error}") from error
        if not all(isinstance(item, dict) for item in items):
            raise HarnessError(f"{path}: expected a JSON array of objects")
        if has_lone_surrogate(items):
            _refuse_lone_surrogates(path, text)
        return RawSplit(str(path), tuple(items), tuple(range(1, len(items) + 1)), unit="item")
    rows, lines = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise HarnessError(f"{path} line {number}: not valid JSON ({error}); each line must be one JSON "
                               f"object") from error
        if not isinstance(row, dict):
            raise HarnessError(f"{path} line {number}: expected a JSON object, got {type(row).__name__}")
        if has_lone_surrogate(row):
            _refuse_lone_surrogates(path, line, number)
        rows.append(row)
        lines.append(number)
    return RawSplit(str(path), tuple(rows), tuple(lines))
