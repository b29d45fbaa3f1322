"""Task `local`: labelled text from local CSV, TSV or JSON-lines files.

The files are read with the standard library (csv, json), not pandas: every problem in them is then reported
with the file, the line and the column, and the same checks run when a suite is validated (`harness validate`)
as when it runs, so a run never starts on data it would stumble over.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

from harness import (
    Example,
    HarnessError,
    StageEnvironment,
    SuitePath,
    TaskData,
    has_lone_surrogate,
    hookimpl,
    lone_surrogate_problem,
)

TEXT_COLUMN_GUESSES = ("text", "sentence", "content", "review", "document")
LABEL_COLUMN_GUESSES = ("label", "labels", "class", "target")
FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
SPLITS = ("train", "validation", "test")
MISSING_VALUE_SPELLINGS = ("nan", "na", "n/a", "null", "none", "nil", "-", "?")
"""Label cells that are almost certainly a missing value written by a spreadsheet or pandas, not a class."""
_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")
_INTEGER_START = frozenset("+-0123456789")
_DIGITS = re.compile(r"^[+-]?[0-9]+$")
_CSV_FIELD_LIMIT = 2**31 - 1
"""csv's default limit (128 KiB per field) would refuse long texts, which are allowed (they are truncated)."""


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


class DataFileError(ValueError):
    """A data file or a parameter breaks a rule of the `local` task.

    The message starts with the parameter it concerns (`train file ...`, `label_names ...`): suite validation
    points at that parameter's line. A ValueError, so that a config's __post_init__ check is a suite error.
    """


@dataclass(frozen=True)
class LocalTaskConfig:
    """Files with one labelled text per row. The files are checked when the suite is validated (and again when
    the task loads); each problem is one error naming the file, the line (or item of a JSON array) and the column:

    - The file must be UTF-8 (a byte-order mark is allowed); otherwise the error gives the line, column and byte
      offset of the first byte that is not.
    - An empty file, or one with a header and no rows, is an error, for every split given.
    - CSV/TSV: a header line names the columns (or `column_names` does); every row has as many fields as the
      header. Blank lines are skipped. TSV fields are never quoted (corpora such as SST-2 contain unbalanced
      quotes); CSV fields follow the usual quoting, and a malformed quote is an error.
    - JSON lines: one JSON object per line (a `.json` file holding one JSON array of objects is read too).
    - Texts: an empty or whitespace-only text is an error naming the row. Long texts are fine, however long: the
      model truncates them at the suite's `model.max_length` tokens.
    - Labels: integers (class indices 0..n-1, named by `label_names`) or names (strings). A cell that reads as an
      integer is one, in every format. An empty or null label, one that mixes kinds with the other labels (such as
      "NaN" among integers), a negative index, and a number with a fraction are errors.
    - The training split must hold at least two classes, and every label of the validation and test splits must
      occur in the training split (a model cannot learn a class it never sees).
    - Rationales are checked when the task loads, at the start of a run.
    """

    train: SuitePath
    """Training file (a relative path is relative to the suite file, or to the current directory when given with
    `--set`; $VARS and ~ are expanded)."""
    test: SuitePath
    validation: Optional[SuitePath] = None
    """Optional; without it the harness holds out 10% of train."""
    format: Optional[Literal["csv", "tsv", "jsonl", "parquet"]] = None
    """Default: from the file extension."""
    text_column: Optional[str] = None
    """Default: the first of text, sentence, content, review, document present."""
    label_column: Optional[str] = None
    """Default: the first of label, labels, class, target present."""
    text_pair_column: Optional[str] = None
    """Sentence-pair tasks (NLI, paraphrase): the column of the second segment (hypothesis, second question); the
    text column is then the first. Every row needs a non-empty one. Default: single texts."""
    text_fields: Optional[tuple[str, str]] = None
    """What the two segments are called in reports, e.g. [premise, hypothesis]; default: the two column names."""
    column_names: Optional[tuple[str, ...]] = None
    """For CSV/TSV files without a header line."""
    label_names: Optional[tuple[str, ...]] = None
    """Names of integer labels 0..n-1, or the order of string labels (every label must be one of them);
    default: 0..max for integer labels, the sorted distinct labels for names. At least two, no repeats."""
    rationale_column: Optional[str] = None
    """Human rationales for plausibility metrics: per row, the evidence phrases (a list of strings in JSON lines,
    or one string with phrases separated by " | "), or [[start, end], ...] character spans. Empty: none."""
    name: str = "local"

    def __post_init__(self):
        self._check_parameters()
        _read_task(self)  # the data itself: `harness validate` reports a bad file before anything runs

    def _check_parameters(self) -> None:
        for split in SPLITS:
            path = getattr(self, split)
            if path is None:
                continue
            if not path.strip():
                raise DataFileError(f"{split} file must be a path, got an empty string")
            resolved = _expand(path)
            try:
                is_directory, is_file = resolved.is_dir(), resolved.is_file()
            except OSError as error:  # e.g. a name longer than the file system allows
                raise DataFileError(f"{split} file {path!r} cannot be opened: {error.strerror or error}") from error
            if is_directory:
                raise DataFileError(f"{split} file {path!r} is a directory, not a file")
            if not is_file:
                raise DataFileError(f"{split} file {str(resolved.absolute())!r} does not exist")
            if self.format is None and resolved.suffix.lower() not in FORMAT_BY_SUFFIX:
                raise DataFileError(f"{split} file {path!r}: cannot tell its format from its extension; "
                                    f"set format: csv, tsv, jsonl or parquet")
        if not self.name.strip():
            raise DataFileError("name must not be empty")
        for field_name in ("text_column", "label_column", "rationale_column", "text_pair_column"):
            value = getattr(self, field_name)
            if value is not None and not value.strip():
                raise DataFileError(f"{field_name} must name a column, got an empty string")
        named = [(field_name, getattr(self, field_name)) for field_name in ("text_column", "label_column",
                                                                            "rationale_column", "text_pair_column")]
        for position, (field_name, value) in enumerate(named):
            for other_name, other in named[:position]:
                if value is not None and value == other:
                    raise DataFileError(f"{field_name} {value!r} is also the {other_name}; they must differ")
        if self.column_names is not None:
            formats = {self.format or FORMAT_BY_SUFFIX.get(_expand(getattr(self, split)).suffix.lower())
                       for split in SPLITS if getattr(self, split) is not None}
            if formats & {"jsonl", "parquet"}:
                raise DataFileError("column_names is for CSV/TSV files without a header line, not JSON lines")
            _check_names("column_names", self.column_names, minimum=2)
        if self.label_names is not None:
            _check_names("label_names", self.label_names, minimum=2)
        if self.text_fields is not None:
            if self.text_pair_column is None:
                raise DataFileError("text_fields names the two segments of a pair task; set text_pair_column too")
            _check_names("text_fields", self.text_fields, minimum=2)


def _check_names(field_name: str, names: tuple[str, ...], minimum: int) -> None:
    if len(names) < minimum:
        raise DataFileError(f"{field_name} must list at least {minimum} names, got {len(names)}")
    seen = set()
    for name in names:
        if not name.strip():
            raise DataFileError(f"{field_name} contains an empty name")
        if name in seen:
            raise DataFileError(f"{field_name} lists {name!r} twice")
        seen.add(name)


# -------------------------------------------------------------------------------------------- reading


@dataclass(slots=True)
class _Row:
    index: int
    """0-based position among the file's data rows (what example ids use)."""
    where: str
    """Where the row starts: `line N` of the file, or `item N` of a JSON array."""
    text: str
    label: int | str
    rationale: Any
    text_pair: Optional[str] = None


@dataclass(frozen=True)
class _Split:
    name: str
    path: Path
    text_column: str
    label_column: str
    rows: tuple[_Row, ...]
    text_pair_column: Optional[str] = None

    def at(self, row: _Row) -> str:
        return f"{self.name} file {self.path} {row.where}"


@dataclass(frozen=True)
class _Task:
    splits: dict[str, _Split]
    label_names: tuple[str, ...]
    index: dict[int | str, int]


def _read_task(config: LocalTaskConfig) -> _Task:
    """Read and check every split; raise DataFileError naming the file, row and column of the first problem."""
    splits = {split: _read_split(config, split) for split in SPLITS if getattr(config, split) is not None}
    label_names, index = _label_mapping(config, splits)
    train = splits["train"]
    train_classes = {index[row.label] for row in train.rows}
    if len(train_classes) < 2:
        raise DataFileError(f"train file {train.path} has only one class ({label_names[next(iter(train_classes))]!r}"
                            f" in column {train.label_column!r}); a classifier needs examples of at least two")
    for split in splits.values():
        if split.name == "train":
            continue
        for row in split.rows:
            if index[row.label] not in train_classes:
                raise DataFileError(f"{split.at(row)}: label {row.label!r} (column {split.label_column!r}) never "
                                    f"occurs in the train file {train.path}; a model cannot learn a class it never "
                                    f"sees in training")
    return _Task(splits, label_names, index)


def _read_split(config: LocalTaskConfig, split: str) -> _Split:
    path = _expand(getattr(config, split))
    subject = f"{split} file {path}"
    file_format = config.format or FORMAT_BY_SUFFIX[path.suffix.lower()]
    if file_format == "parquet":
        records, columns = _parse_parquet(path, subject)
        if not records:
            raise DataFileError(f"{subject} has no rows")
        return _split_from_records(config, split, path, subject, records, columns)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFileError(f"{subject} cannot be read: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)
        raise DataFileError(f"{subject} is not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, column "
                            f"{column} (byte offset {error.start}) cannot be decoded; save the file as UTF-8"
                            ) from error
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataFileError(f"{subject} is empty")
    if file_format == "jsonl":
        records, columns = _parse_json(text, subject, array_expected=path.suffix.lower() == ".json")
        empty = f"{subject} has no rows"
    else:
        records, columns = _parse_delimited(text, file_format, config.column_names, subject)
        empty = f"{subject} has no rows" + ("" if config.column_names else " (only a header line)")
    if not records:
        raise DataFileError(empty)
    return _split_from_records(config, split, path, subject, records, columns)


def _split_from_records(config: LocalTaskConfig, split: str, path: Path, subject: str,
                        records: list[tuple[str, dict]], columns: list[str]) -> _Split:
    text_column = _column(columns, config.text_column, TEXT_COLUMN_GUESSES, "text", subject)
    label_column = _column(columns, config.label_column, LABEL_COLUMN_GUESSES, "label", subject)
    if text_column == label_column:
        raise DataFileError(f"{subject}: column {text_column!r} would be both the text and the label; set "
                            f"text_column and label_column to two different columns")
    rationale_column = None
    if config.rationale_column and (config.rationale_column in columns or split == "test"):
        # Rationales are scored on the test split; the other files need not carry them.
        rationale_column = _column(columns, config.rationale_column, (), "rationale", subject)
    text_pair_column = None
    if config.text_pair_column is not None:
        text_pair_column = _column(columns, config.text_pair_column, (), "text pair", subject)
        if text_pair_column in (text_column, label_column):
            raise DataFileError(f"{subject}: column {text_pair_column!r} cannot be both the text pair and the "
                                f"{'text' if text_pair_column == text_column else 'label'}")
    rows = []
    for index, (where, record) in enumerate(records):
        at = f"{subject} {where}"
        rows.append(_Row(index, where, _text(record, text_column, at), _label(record, label_column, at),
                         record.get(rationale_column) if rationale_column else None,
                         _text(record, text_pair_column, at) if text_pair_column else None))
    return _Split(split, path, text_column, label_column, tuple(rows), text_pair_column)


def _parse_delimited(text: str, file_format: str, column_names: Optional[tuple[str, ...]],
                     subject: str) -> tuple[list[tuple[str, dict]], list[str]]:
    options: dict[str, Any] = {"delimiter": "\t" if file_format == "tsv" else ","}
    if file_format == "tsv":
        options["quoting"] = csv.QUOTE_NONE  # TSV corpora (SST-2) contain unbalanced quotes
    else:
        options["strict"] = True  # a stray quote is an error, not a text that swallows the rest of the file
    header = list(column_names) if column_names else None
    records: list[tuple[str, dict]] = []
    reader = csv.reader(io.StringIO(text, newline=""), **options)
    end = 0
    previous_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            if header is None:
                header = [name.strip() for name in fields]
                repeated = next((name for position, name in enumerate(header) if name in header[:position]), None)
                if repeated is not None:
                    raise DataFileError(f"{subject} line {start}: the header names column {repeated!r} twice")
                continue
            if len(fields) != len(header):
                hint = ("is there a tab inside a text, or a missing tab?" if file_format == "tsv"
                        else 'quote texts that contain commas: "like, this"')
                raise DataFileError(f"{subject} line {start}: {len(fields)} field(s), but the header "
                                    f"({', '.join(header)}) has {len(header)}; {hint}")
            records.append((f"line {start}", dict(zip(header, fields))))
    except csv.Error as error:
        # The line where the broken record starts: an unclosed quote is only noticed lines later, at the end.
        raise DataFileError(f"{subject} line {end + 1}: cannot be read as {file_format.upper()}: {error}"
                            + ("; is a quote never closed?" if "end of data" in str(error) else "")) from error
    finally:
        csv.field_size_limit(previous_limit)
    return records, header or []


def _parse_parquet(path: Path, subject: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """A Parquet file's rows as records ("row N", 1-based as in a spreadsheet), through pyarrow (a datasets
    dependency). Strings arrive as str, integers as int: the same checks as for the text formats apply."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise DataFileError(f"{subject}: reading Parquet needs pyarrow (pip install pyarrow)") from error
    try:
        table = parquet.read_table(path)
    except (OSError, ValueError) as error:  # pyarrow.ArrowInvalid is a ValueError
        raise DataFileError(f"{subject} is not a readable Parquet file: {error}") from error
    columns = list(table.column_names)
    return [(f"row {index + 1}", row) for index, row in enumerate(table.to_pylist())], columns


def _parse_json(text: str, subject: str, array_expected: bool) -> tuple[list[tuple[str, dict]], list[str]]:
    """JSON lines, or one JSON array of objects (a .json file, or any file that is exactly that)."""
    records: list[tuple[str, Any]] = []
    items = None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError) as error:
            if array_expected:
                raise DataFileError(f"{subject} line {getattr(error, 'lineno', 1)}: not valid JSON: "
                                    f"{getattr(error, 'msg', error)}") from error
        if not array_expected and not (isinstance(items, list) and items
                                       and all(isinstance(item, dict) for item in items)):
            items = None  # JSON lines whose first line is not an object: reported below with its line
    if items is not None:
        if has_lone_surrogate(items):
            lines, column, message = lone_surrogate_problem(text)
            raise DataFileError(f"{subject} line {1 + lines}, column {column}: {message}")
        records = [(f"item {number}", item) for number, item in enumerate(items, 1)]
    else:
        # Split on \n only: a JSON string may hold U+2028 and other characters str.splitlines() breaks at.
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as error:
                column = f", column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
                raise DataFileError(f"{subject} line {number}: not valid JSON ({getattr(error, 'msg', error)}"
                                    f"{column}); each line must be one JSON object") from error
            if has_lone_surrogate(record):  # json lets a lone \ud800 through; no tokenizer or report can hold it
                _, column, message = lone_surrogate_problem(line)
                raise DataFileError(f"{subject} line {number}, column {column}: {message}")
            records.append((f"line {number}", record))
    columns: dict[str, None] = {}
    for where, record in records:
        if not isinstance(record, dict):
            raise DataFileError(f'{subject} {where}: expected a JSON object such as {{"text": ..., "label": ...}}, '
                                f"got {_describe(record)}")
        columns.update(dict.fromkeys(record))
    return records, list(columns)


def _column(columns: list[str], wanted: Optional[str], guesses: tuple[str, ...], what: str, subject: str) -> str:
    listing = ", ".join(repr(column) for column in columns) or "(none)"
    if wanted is not None:
        if wanted not in columns:
            close = difflib.get_close_matches(wanted, columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataFileError(f"{subject} has no {what} column {wanted!r}{hint} Its columns: {listing}")
        return wanted
    for guess in guesses:
        if guess in columns:
            return guess
    raise DataFileError(f"{subject}: cannot find the {what} column (none of {', '.join(guesses)}); its columns: "
                        f"{listing}; set {what}_column")


def _text(record: dict, column: str, at: str) -> str:
    if column not in record:
        raise DataFileError(f"{at}: no {column!r} field (the text column)")
    text = record[column]
    if not isinstance(text, str):
        raise DataFileError(f"{at}: the text (column {column!r}) must be a string, got {_describe(text)}")
    if not text.strip():
        raise DataFileError(f"{at}: the text (column {column!r}) is {'only whitespace' if text else 'empty'}")
    return text


def _label(record: dict, column: str, at: str) -> int | str:
    """A row's label: an int (class index) or a stripped name. A string that reads as an integer is one."""
    if column not in record:
        raise DataFileError(f"{at}: no {column!r} field (the label column)")
    label = record[column]
    where = f"{at}: the label (column {column!r})"
    if label is None:
        raise DataFileError(f"{where} is null; every row needs a label")
    if isinstance(label, bool) or not isinstance(label, (int, float, str)):
        raise DataFileError(f"{where} must be an integer class index or a name, got {_describe(label)}")
    if isinstance(label, float):
        if not math.isfinite(label) or not label.is_integer():
            raise DataFileError(f"{where} is {label!r}: labels are integer class indices or names, not measurements")
        return int(label)
    if isinstance(label, int):
        return label
    stripped = label.strip()
    if not stripped:
        raise DataFileError(f"{where} is empty; every row needs a label")
    if stripped[0] in _INTEGER_START:
        if _INTEGER.match(stripped):
            return int(stripped)
        if _DIGITS.match(stripped):
            raise DataFileError(f"{where} {stripped[:30]!r}... is too large for a class index")
    return stripped


def _label_mapping(config: LocalTaskConfig, splits: dict[str, _Split]) -> tuple[tuple[str, ...], dict]:
    """Label names and each label's class index; an error names the first row whose label does not fit."""
    located = [(split, row) for split in splits.values() for row in split.rows]
    integers = [(split, row) for split, row in located if isinstance(row.label, int)]
    names = [(split, row) for split, row in located if isinstance(row.label, str)]
    if integers and names:
        # The rarer kind is the odd one out (a "NaN" among integers, a stray "3" among names).
        split, row = names[0] if len(names) <= len(integers) else integers[0]
        other = integers[0][1].label if isinstance(row.label, str) else names[0][1].label
        hint = (" (a missing value? every row needs a label)"
                if isinstance(row.label, str) and row.label.lower() in MISSING_VALUE_SPELLINGS else "")
        raise DataFileError(f"{split.at(row)}: label {row.label!r} (column {split.label_column!r}) is "
                            f"{'a name' if isinstance(row.label, str) else 'an integer'}, but the other labels are "
                            f"{'integers' if isinstance(row.label, str) else 'names'} (such as {other!r}){hint}; "
                            f"use integer class indices or names throughout")
    if integers:
        split, row = min(integers, key=lambda item: item[1].label)
        if row.label < 0:
            raise DataFileError(f"{split.at(row)}: label {row.label} (column {split.label_column!r}) is negative; "
                                f"integer labels are class indices 0, 1, ... (unlabelled rows, such as -1 in GLUE "
                                f"test files, cannot be evaluated)")
        split, row = max(integers, key=lambda item: item[1].label)
        if config.label_names is not None:
            if row.label >= len(config.label_names):
                raise DataFileError(f"{split.at(row)}: label {row.label} (column {split.label_column!r}) is out of "
                                    f"range: label_names has {len(config.label_names)} names, so labels are "
                                    f"0..{len(config.label_names) - 1}")
            return tuple(config.label_names), {index: index for index in range(len(config.label_names))}
        distinct = len({row.label for _, row in integers})
        if row.label + 1 > 10 * distinct + 10:
            raise DataFileError(f"{split.at(row)}: label {row.label} (column {split.label_column!r}) would make "
                                f"{row.label + 1} classes of which {distinct} occur; integer labels are class "
                                f"indices 0..n-1: renumber them, or give the labels as names")
        return tuple(str(index) for index in range(row.label + 1)), {index: index for index in range(row.label + 1)}
    if config.label_names is not None:
        known = set(config.label_names)
        for split, row in names:
            if row.label not in known:
                close = difflib.get_close_matches(row.label, config.label_names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise DataFileError(f"{split.at(row)}: label {row.label!r} (column {split.label_column!r}) is not "
                                    f"one of label_names {list(config.label_names)}{hint}")
        label_names = tuple(config.label_names)
    else:
        label_names = tuple(sorted({row.label for _, row in names}))
    return label_names, {name: position for position, name in enumerate(label_names)}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    shown = repr(value)
    return f"{type(value).__name__} {shown[:40] + '...' if len(shown) > 40 else shown}"


# ----------------------------------------------------------------------------------------------- task


class LocalTask:
    def __init__(self, config: LocalTaskConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        try:
            # Checked again: the files may have changed since the suite was validated.
            task = _read_task(self.config)
        except DataFileError as error:
            raise HarnessError(f"task {self.config.name!r}: {error}") from error
        splits = {}
        for name, split in task.splits.items():
            splits[name] = tuple(
                Example(id=f"{name}-{row.index}", text=row.text, label=task.index[row.label],
                        rationale=self._rationale_spans(row.text, row.rationale,
                                                        f"{split.path} row {row.index} ({row.where})"),
                        text_pair=row.text_pair)
                for row in split.rows
            )
        text_fields: tuple[str, ...] = ("text",)
        if self.config.text_pair_column is not None:
            first = task.splits["train"]
            text_fields = tuple(self.config.text_fields or (first.text_column, first.text_pair_column))
        return TaskData(name=self.config.name, label_names=task.label_names, train=splits["train"],
                        validation=splits.get("validation", ()), test=splits["test"],
                        description=f"local files: {self.config.train}, {self.config.test}", text_fields=text_fields)

    def _rationale_spans(self, text: str, rationale, where: str) -> Optional[tuple[tuple[int, int], ...]]:
        """Character spans of a row's rationale, from phrases (found in the text, in order) or spans."""
        if rationale is None or rationale == "" or rationale == []:
            return None
        if isinstance(rationale, str):
            rationale = [phrase.strip() for phrase in rationale.split(" | ") if phrase.strip()]
        if not isinstance(rationale, list):
            raise HarnessError(f"task {self.config.name!r}: a rationale is a list of phrases or of [start, end] "
                               f"spans; got {_describe(rationale)} at {where}")
        spans = []
        search_from = 0
        for item in rationale:
            if (isinstance(item, (list, tuple)) and len(item) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in item)):
                start, end = item
                if not 0 <= start < end <= len(text):
                    raise HarnessError(f"task {self.config.name!r}: rationale span {list(item)} is outside the text "
                                       f"({len(text)} characters) at {where}")
            elif isinstance(item, str):
                if not item.strip():
                    continue  # as in the " | " form, an empty phrase marks nothing
                start = text.find(item, search_from)
                if start < 0:
                    start = text.find(item)  # phrases listed out of order
                if start < 0:
                    raise HarnessError(f"task {self.config.name!r}: rationale phrase {item!r} does not occur in the "
                                       f"text at {where}")
                end = start + len(item)
                search_from = end
            else:
                raise HarnessError(f"task {self.config.name!r}: a rationale is a list of phrases or of [start, end] "
                                   f"spans; got {item!r} at {where}")
            spans.append((start, end))
        return tuple(sorted(spans))


@hookimpl
def register_tasks(register):
    register("local", LocalTask, config=LocalTaskConfig,
             description="Labelled text from local CSV/TSV/JSONL files (checked row by row when a suite is validated)")
