"""Task data from the Hugging Face hub or from local files, the same either way.

A task plugin describes its dataset once, as a `TaskSource`: the hub dataset (path, config name), which of its
splits are the task's train / validation / test, the text columns, the label names in the hub's order, and the
local file layouts it also reads. `load_task(source, config)` then loads it

- from `config.path` when set: a local folder (or file) read with the standard library (pyarrow for parquet),
  never the network. A source's own layouts (GLUE's TSV files, rt-polarity.pos/.neg, ...) are tried first,
  then the generic one: one file per hub split, named after it (`train.jsonl`, `validation.csv`, `test.tsv`,
  `.json` or `.parquet`), with the hub's column names;
- else from the hub with `datasets.load_dataset(hub_path, config_name, revision=...)`. When the hub cannot be
  reached (harness.core.resources.hub_reachable) and datasets' offline mode is off, or the download fails, the error
  names the task and tells the user to set `path:` to a local copy, with the layouts it reads.

Both paths produce the same rows (same columns, same labels), and from here on they are treated alike:

- Ids are content-addressed: `<prefix>-<16 hex digits of sha256 over [hub split, texts..., label name]>`, with
  `-2`, `-3`, ... for exact repeats of a row within a split. They do not depend on row order or on where the
  rows came from, so the same rows give the same ids from the hub and from local files, run after run. A
  source with a native id column (AdvGLUE's `idx`) uses `<prefix>-<id>` instead.
- Splits: a hub split whose labels are public maps to the task split directly. Where the hub's test labels are
  hidden (GLUE) the hub's validation split is the task's test split, and where a dataset has no validation split
  (GLUE, IMDB, AG News, Yelp) `validation_fraction` of the train split is held out as validation.
- Every split is in a seeded order (sha256 of the split seed and the id), which also decides the hold-out: the
  same examples in the same order whatever the order of the source's rows, and no split starts with one class
  when a file is sorted by label (the harness attacks and explains the first test examples).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from harness.core.config import SuitePath
from harness.core.errors import HarnessError
from harness.core.types import Example, TaskData

TABLE_FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet",
                 ".txt": "tsv"}
"""File formats by extension. `.txt` is tab-separated (the SNLI distribution's files)."""
GENERIC_EXTENSIONS = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")
_CSV_FIELD_LIMIT = 2**31 - 1
_JSON = json.JSONEncoder(ensure_ascii=False)


def expand_path(path: str) -> Path:
    """A `path:` parameter as a Path: ~ and $VARS expanded (suite paths arrive resolved; see SuitePath)."""
    return Path(os.path.expandvars(os.path.expanduser(path)))


# ----------------------------------------------------------------------------------------------- rows


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


def concat_splits(origin: str, *parts: RawSplit) -> RawSplit:
    """Several files that together are one hub split (e.g. a re-split train.tsv + dev.tsv)."""
    return RawSplit(origin=origin, rows=tuple(row for part in parts for row in part.rows), parts=tuple(parts))


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


def _read_json(path: Path) -> RawSplit:
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as error:
            raise HarnessError(f"{path}: not valid JSON: {error}") from error
        if not all(isinstance(item, dict) for item in items):
            raise HarnessError(f"{path}: expected a JSON array of objects")
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
        rows.append(row)
        lines.append(number)
    return RawSplit(str(path), tuple(rows), tuple(lines))


# ----------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class LocalLayout:
    """A way a dataset is distributed as files (besides the generic one-file-per-split layout)."""

    description: str
    """For error messages and docs, e.g. "rt-polarity.pos and rt-polarity.neg, one sentence per line"."""
    read: Callable[[Path, "TaskSource"], Optional[dict[str, RawSplit]]]
    """read(path, source) -> rows by hub split name, or None when the files at `path` are not in this layout."""


@dataclass(frozen=True)
class TaskSource:
    """One dataset: where it is on the hub, which of its splits the task uses, and how to read local copies."""

    name: str
    """The task's name: TaskData.name, and the id prefix unless `id_prefix` is set."""
    title: str
    """What descriptions call it, e.g. "SST-2 (GLUE)"."""
    hub_path: str
    hub_config: Optional[str]
    label_names: tuple[str, ...]
    """In the hub's order: label i is label_names[i] (the hub's ClassLabel index)."""
    text_columns: tuple[str, ...]
    """The hub's text columns; also TaskData.text_fields. Two for a sentence-pair task (text, text_pair)."""
    splits: Mapping[str, str] = field(default_factory=lambda: {"train": "train", "validation": "validation",
                                                               "test": "test"})
    """Task split -> hub split. Without "validation", part of train is held out (validation_fraction)."""
    label_column: str = "label"
    hub_label_names: Optional[tuple[str, ...]] = None
    """The hub's ClassLabel names when they differ from label_names (e.g. Yelp's "1", "2"); checked on load."""
    label_aliases: Mapping[str, str] = field(default_factory=dict)
    """Other spellings of label names in local files: spelling -> label name."""
    column_aliases: Mapping[str, str] = field(default_factory=dict)
    """Local column name -> hub column name, for files whose columns are named differently (GLUE's TSVs)."""
    file_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Hub split -> other file names (stems, or names with an extension) of the generic layout, e.g. "dev"."""
    layouts: tuple[LocalLayout, ...] = ()
    """The dataset's own distributions, tried in order before the generic layout."""
    rationale_column: Optional[str] = None
    """A column of evidence phrases (a list of strings): Example.rationale holds their character spans."""
    id_column: Optional[str] = None
    """A column of ids unique within a split, used instead of content hashes."""
    id_prefix: Optional[str] = None
    drop_unlabelled: bool = False
    """Drop rows without a gold label (-1 on the hub, "-" in files) instead of failing on them."""
    notes: str = ""
    """Appended to TaskData.description (e.g. how the splits are made)."""

    @property
    def prefix(self) -> str:
        return self.id_prefix or self.name

    def needed_splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.splits.values()))

    def layout_help(self) -> str:
        """Every local layout this source reads, for error messages."""
        generic = _generic_description(self)
        return "; or ".join([*(layout.description for layout in self.layouts), generic])


def _file_names(source: TaskSource, split: str) -> list[str]:
    names = []
    for stem in (split, *source.file_aliases.get(split, ())):
        if Path(stem).suffix.lower() in TABLE_FORMATS:
            names.append(stem)
        else:
            names.extend(stem + extension for extension in GENERIC_EXTENSIONS)
    return names


def _generic_description(source: TaskSource) -> str:
    columns = [*source.text_columns, source.label_column]
    if source.rationale_column:
        columns.append(source.rationale_column)
    files = " + ".join(
        "/".join([split, *source.file_aliases.get(split, ())]) for split in source.needed_splits())
    return (f"a folder with one file per split ({files}; .jsonl, .json, .csv, .tsv or .parquet) with the hub's "
            f"columns {', '.join(columns)} (labels as indices or names: {', '.join(source.label_names)})")


def read_generic(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    """The generic layout: per needed hub split, the first of `<split>.<ext>` (or a file_aliases name) in `path`."""
    if not path.is_dir():
        return None
    found: dict[str, RawSplit] = {}
    for split in source.needed_splits():
        for name in _file_names(source, split):
            candidate = path / name
            if candidate.is_file():
                found[split] = read_table(candidate)
                break
    return found or None


# ----------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TaskSourceConfig:
    """Parameters every hub-or-local task has (a plugin's config dataclass extends it)."""

    path: Optional[SuitePath] = None
    """A local copy of the data (usually a folder; see the task's layouts), read offline, never the hub.
    $VARS and ~ are expanded; a relative path is relative to the suite file (to the current directory when given
    with `--set`). Default: the hub."""
    hub_name: Optional[str] = None
    """Hub dataset to load instead of the task's default (a mirror with the same columns and splits)."""
    revision: Optional[str] = None
    """Hub revision to pin (a commit, tag or branch); default: the latest."""
    validation_fraction: float = 0.1
    """Share of the train split held out as validation, for datasets without a labelled validation split of
    their own (GLUE, IMDB, AG News, Yelp); ignored otherwise. 0: no validation split (the harness then holds
    out 10% of train itself)."""
    split_seed: int = 0
    """Seeds the hold-out and the order of examples; the same on every machine."""

    def hub_downloads_for(self, hub_path: str, hub_config: Optional[str]) -> tuple[str, ...]:
        """What loading the task downloads from the hub (its dataset `hub_path`): nothing when `path:` is set."""
        if self.path is not None:
            return ()
        return (f"dataset {hub_dataset_name(self.hub_name or hub_path, hub_config, self.revision)}",)

    def __post_init__(self):
        if self.path is not None:
            check_path(self.path, "path")
            if self.hub_name is not None or self.revision is not None:
                raise ValueError("path excludes hub_name and revision: local files are read as they are; "
                                 "remove one or the other")
        for name in ("hub_name", "revision"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or value != value.strip()):
                raise ValueError(f"{name} must be a non-empty name without surrounding spaces, got {value!r}")
        if not 0 <= self.validation_fraction < 1:  # also rejects NaN
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")


def check_path(path: str, parameter: str, want_file: bool = False) -> Path:
    """Raise ValueError (starting with the parameter's name) unless `path` exists."""
    if not path.strip():
        raise ValueError(f"{parameter} must be a path, got an empty string")
    resolved = expand_path(path)
    try:
        exists = resolved.is_file() if want_file else resolved.exists()
    except OSError as error:
        raise ValueError(f"{parameter} {path!r} cannot be opened: {error.strerror or error}") from error
    if not exists:
        what = "file" if want_file else "file or folder"
        raise ValueError(f"{parameter} {str(resolved.absolute())!r} does not exist; it should be a local {what}")
    return resolved


# ----------------------------------------------------------------------------------------------- loading


def load_task(source: TaskSource, config: TaskSourceConfig) -> TaskData:
    """The task's data from `config.path` (local files) or the hub; see the module docstring."""
    by_split, origin = load_splits(source, path=config.path, hub_name=config.hub_name, revision=config.revision)
    held_out = "validation" not in source.splits
    splits: dict[str, tuple[Example, ...]] = {
        task_split: seeded_order(by_split[hub_split], config.split_seed)
        for task_split, hub_split in source.splits.items() if not (held_out and task_split == "train")}
    notes = []
    if held_out:
        train_split = source.splits["train"]
        splits["train"], splits["validation"] = hold_out(by_split[train_split], config.validation_fraction,
                                                          config.split_seed)
        notes.append(f"validation = {config.validation_fraction:g} of the {train_split} split held out "
                     f"(seed {config.split_seed})")
    for task_split in ("train", "test"):
        if not splits.get(task_split):
            raise HarnessError(f"task {source.name!r}: the {task_split} split is empty ({origin})")
    notes.extend(f"{task} = the hub's {hub} split" for task, hub in source.splits.items() if task != hub)
    if source.notes:
        notes.append(source.notes)
    description = (f"{source.title}: {len(splits['train'])} train / {len(splits.get('validation', ()))} "
                   f"validation / {len(splits['test'])} test from {origin}"
                   + "".join(f"; {note}" for note in notes))
    return TaskData(name=source.name, label_names=source.label_names, train=splits["train"],
                    validation=splits.get("validation", ()), test=splits["test"], description=description,
                    text_fields=source.text_columns)


def load_splits(source: TaskSource, *, path: Optional[str] = None, hub_name: Optional[str] = None,
                revision: Optional[str] = None) -> tuple[dict[str, tuple[Example, ...]], str]:
    """Examples of each hub split the source needs (in the source's row order), and where they came from."""
    if path is not None:
        raw, origin = _local_rows(source, expand_path(path))
    else:
        raw, origin = _hub_rows(source, hub_name or source.hub_path, revision)
    return {split: rows_to_examples(source, split, raw[split]) for split in source.needed_splits()}, origin


def _local_rows(source: TaskSource, path: Path) -> tuple[dict[str, RawSplit], str]:
    if not path.exists():
        raise HarnessError(f"task {source.name!r}: path {str(path.absolute())!r} does not exist; "
                           f"expected {source.layout_help()}")
    for layout in (*source.layouts, LocalLayout(_generic_description(source), read_generic)):
        try:
            found = layout.read(path, source)
        except HarnessError as error:
            raise HarnessError(f"task {source.name!r}: {error}") from error
        if found is None:
            continue
        missing = [split for split in source.needed_splits() if split not in found]
        if missing:
            raise HarnessError(f"task {source.name!r}: {path} has no {' or '.join(missing)} split for the layout "
                               f"{layout.description!r}; files there: {_listing(path)}")
        return found, f"local files {path}"
    raise HarnessError(f"task {source.name!r}: cannot read {path}: expected {source.layout_help()}; "
                       f"found: {_listing(path)}")


def _listing(path: Path) -> str:
    if not path.is_dir():
        return path.name
    names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in path.iterdir())
    return ", ".join(names[:20]) + (f", ... ({len(names)} entries)" if len(names) > 20 else "") or "(nothing)"


def hub_dataset_name(hub_name: str, hub_config: Optional[str] = None, revision: Optional[str] = None) -> str:
    """How messages name a hub dataset: `nyu-mll/glue (sst2) @ REVISION`."""
    return hub_name + (f" ({hub_config})" if hub_config else "") + (f" @ {revision}" if revision else "")


def download_from_hub(task_name: str, hub_name: str, hub_config: Optional[str], revision: Optional[str],
                      layout_help: str) -> tuple[Any, str]:
    """`datasets.load_dataset(hub_name, hub_config)`, or a HarnessError telling the user to set `path:` (no network,
    or the hub refused); returns the DatasetDict and how to name it in messages."""
    from harness.core import resources

    shown = hub_dataset_name(hub_name, hub_config, revision)
    advice = f"set `path:` to a local copy: {layout_help}"
    offline = resources.offline_mode()
    if not offline and not resources.hub_reachable():
        raise HarnessError(f"task {task_name!r}: no `path:` is set and the Hugging Face hub (huggingface.co) "
                           f"cannot be reached, so {shown} cannot be downloaded; {advice}")
    try:
        import datasets

        # In offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) datasets reads its cache, if it has the data.
        loaded = datasets.load_dataset(hub_name, hub_config, revision=revision)
    except Exception as error:
        reason = "offline mode is on, so only the datasets cache could answer; " if offline else ""
        raise HarnessError(f"task {task_name!r}: cannot load {shown} from the Hugging Face hub ({reason}"
                           f"{type(error).__name__}: {error}); {advice}") from error
    return loaded, shown


def _hub_rows(source: TaskSource, hub_name: str, revision: Optional[str]) -> tuple[dict[str, RawSplit], str]:
    loaded, shown = download_from_hub(source.name, hub_name, source.hub_config, revision, source.layout_help())
    available = list(loaded.keys()) if hasattr(loaded, "keys") else []
    missing = [split for split in source.needed_splits() if split not in available]
    if missing:
        raise HarnessError(f"task {source.name!r}: {shown} has no {' or '.join(map(repr, missing))} split (it has "
                           f"{', '.join(available) or 'none'}); set hub_name to a dataset with the same splits, or "
                           f"`path:` to local files")
    return ({split: _hub_split(source, shown, split, loaded[split]) for split in source.needed_splits()},
            f"the hub: {shown}")


def _hub_split(source: TaskSource, shown: str, split: str, dataset: Any) -> RawSplit:
    wanted = [*source.text_columns, source.label_column]
    wanted += [column for column in (source.rationale_column, source.id_column) if column]
    columns = list(dataset.column_names)
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise HarnessError(f"task {source.name!r}: {shown} {split} split has no column {', '.join(missing)} (its "
                           f"columns: {', '.join(columns)}); set hub_name to a dataset with the same columns")
    expected = source.hub_label_names or source.label_names
    names = getattr(dataset.features.get(source.label_column), "names", None)
    if names is not None and tuple(names) != tuple(expected):
        raise HarnessError(f"task {source.name!r}: {shown} labels are {list(names)}, but the task's are "
                           f"{list(expected)} (in this order); pin a `revision` with the expected labels")
    data = dataset.select_columns(wanted).to_dict()
    rows = tuple(dict(zip(wanted, values)) for values in zip(*(data[column] for column in wanted)))
    return RawSplit(f"{shown} {split}", rows)


# ----------------------------------------------------------------------------------------------- examples


def rows_to_examples(source: TaskSource, split: str, raw: RawSplit) -> tuple[Example, ...]:
    """Rows (hub columns) as Examples with stable ids; rows without gold labels dropped if the source says so."""
    label_index = {name: index for index, name in enumerate(source.label_names)}
    for spelling, name in source.label_aliases.items():
        label_index[spelling] = label_index[name]
    reverse_aliases: dict[str, list[str]] = {}
    for local, hub in source.column_aliases.items():
        reverse_aliases.setdefault(hub, []).append(local)

    def value(row: dict, column: str) -> Any:
        if column in row:
            return row[column]
        for alias in reverse_aliases.get(column, ()):
            if alias in row:
                return row[alias]
        return _MISSING

    examples = []
    seen: dict[str, int] = {}
    for index, row in enumerate(raw.rows):
        label = value(row, source.label_column)
        if label is _MISSING:
            raise _row_error(source, raw, index, f"has no {source.label_column!r} column", row)
        if source.drop_unlabelled and _unlabelled(label):
            continue
        label_id = _label(source, raw, index, label, label_index)
        texts = []
        for column in source.text_columns:
            text = value(row, column)
            if text is _MISSING:
                raise _row_error(source, raw, index, f"has no {column!r} column", row)
            if not isinstance(text, str):
                raise HarnessError(f"task {source.name!r}: {raw.where(index)}: {column!r} must be a string, got "
                                   f"{type(text).__name__} {text!r:.40}")
            texts.append(text)
        if source.id_column:
            native = value(row, source.id_column)
            if native is _MISSING or native is None:
                raise _row_error(source, raw, index, f"has no {source.id_column!r} id", row)
            example_id = f"{source.prefix}-{native}"
            if example_id in seen:
                raise HarnessError(f"task {source.name!r}: {raw.where(index)}: id {native!r} (column "
                                   f"{source.id_column!r}) repeats an earlier row's")
        else:
            example_id = content_id(source.prefix, split, texts, source.label_names[label_id])
        seen[example_id] = seen.get(example_id, 0) + 1
        if seen[example_id] > 1:
            example_id = f"{example_id}-{seen[example_id]}"
        rationale = None
        if source.rationale_column:
            phrases = value(row, source.rationale_column)
            rationale = evidence_spans(texts[0], _phrases(phrases))
        examples.append(Example(id=example_id, text=texts[0], label=label_id, rationale=rationale,
                                text_pair=texts[1] if len(texts) > 1 else None))
    return tuple(examples)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _row_error(source: TaskSource, raw: RawSplit, index: int, problem: str, row: dict) -> HarnessError:
    columns = ", ".join(map(str, row)) or "none"
    return HarnessError(f"task {source.name!r}: {raw.where(index)} {problem} (it has {columns}); "
                        f"expected {source.layout_help()}")


def _label(source: TaskSource, raw: RawSplit, index: int, label: Any, label_index: Mapping[str, int]) -> int:
    count = len(source.label_names)
    original = label
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, str):
        stripped = label.strip()
        if stripped in label_index:
            return label_index[stripped]
        if _INTEGER.match(stripped):
            label = int(stripped)
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < count:
        return label
    hint = " (a row without a gold label?)" if _unlabelled(original) else ""
    raise HarnessError(f"task {source.name!r}: {raw.where(index)}: label {original!r} is not one of "
                       f"{', '.join(source.label_names)} nor an index 0..{count - 1}{hint}")


def _unlabelled(label: Any) -> bool:
    """No gold label: -1 on the hub (SNLI), "-" in SNLI's own files, or nothing."""
    return label is None or label == -1 or (isinstance(label, str) and label.strip() in ("", "-", "-1"))


def content_id(prefix: str, split: str, texts: Sequence[str], label_name: str) -> str:
    """`<prefix>-<16 hex digits>`: sha256 over the hub split, the texts and the label name (JSON-encoded)."""
    payload = _JSON.encode([split, *texts, label_name])
    return f"{prefix}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:16]}"


def seeded_order(examples: Sequence[Example], seed: int) -> tuple[Example, ...]:
    """The examples sorted by sha256(seed, id): a shuffle that does not depend on their input order."""
    return tuple(sorted(examples, key=lambda example: _order_key(seed, example.id)))


def _order_key(seed: int, example_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{example_id}".encode("utf-8")).digest()


def hold_out(examples: Sequence[Example], fraction: float,
             seed: int) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """(train, validation): the first round(fraction * n) examples of the seeded order are the validation split."""
    ordered = seeded_order(examples, seed)
    count = round(len(ordered) * fraction)
    if fraction > 0 and len(ordered) >= 2:
        count = min(max(count, 1), len(ordered) - 1)
    return ordered[count:], ordered[:count]


# ----------------------------------------------------------------------------------------------- rationales


def _phrases(value: Any) -> list[str]:
    if value is None or value is _MISSING:
        return []
    if isinstance(value, str):  # a CSV cell: phrases separated by " | "
        return [phrase for phrase in value.split(" | ") if phrase.strip()]
    return [phrase for phrase in value if isinstance(phrase, str) and phrase.strip()]


def evidence_spans(text: str, phrases: Sequence[str]) -> Optional[tuple[tuple[int, int], ...]]:
    """(start, end) character spans of evidence phrases in `text`, sorted; None without phrases.

    Each phrase is looked for after the previous one (evidence is listed in reading order), then anywhere, then
    with any run of whitespace matching any other (annotations are tokenised: a phrase may cross a line break).
    A phrase found nowhere is left out.
    """
    spans = set()
    cursor = 0
    for phrase in phrases:
        start = text.find(phrase, cursor)
        if start < 0:
            start = text.find(phrase)
        end = start + len(phrase)
        if start < 0:
            pattern = r"\s+".join(re.escape(token) for token in phrase.split())
            match = re.search(pattern, text) if pattern else None
            if match is None:
                continue
            start, end = match.span()
        spans.add((start, end))
        cursor = end
    return tuple(sorted(spans)) or None


# ----------------------------------------------------------------------------------------------- GLUE


GLUE_HUB = "nyu-mll/glue"


def _read_resplit_sst2(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    """SST-2 re-split (e.g. ../shared/data/sst2): labelled test.tsv = GLUE dev; train.tsv + dev.tsv = GLUE train."""
    test = path / "test.tsv"
    if not path.is_dir() or not test.is_file():
        return None
    header = read_text(test).split("\n", 1)[0].rstrip("\r").split("\t")
    if "label" not in header:
        return None  # GLUE's own test.tsv (index, sentence; no labels): the GLUE layout
    parts = [read_table(path / name) for name in ("train.tsv", "dev.tsv") if (path / name).is_file()]
    if not parts:
        return None
    return {"train": concat_splits(" + ".join(part.origin for part in parts), *parts),
            "validation": read_table(test)}


_GLUE = {
    "sst2": dict(title="SST-2 (GLUE)", label_names=("negative", "positive"), text_columns=("sentence",),
                 glue_files="train.tsv, dev.tsv with a header line: sentence<TAB>label (0/1)"),
    "mnli": dict(title="MultiNLI (GLUE)", label_names=("entailment", "neutral", "contradiction"),
                 text_columns=("premise", "hypothesis"),
                 glue_files="train.tsv, dev_matched.tsv, dev_mismatched.tsv as GLUE distributes them "
                            "(columns include sentence1, sentence2 and gold_label as a name)"),
    "qnli": dict(title="QNLI (GLUE)", label_names=("entailment", "not_entailment"),
                 text_columns=("question", "sentence"),
                 glue_files="train.tsv, dev.tsv: index<TAB>question<TAB>sentence<TAB>label (a name)"),
    "rte": dict(title="RTE (GLUE)", label_names=("entailment", "not_entailment"),
                text_columns=("sentence1", "sentence2"),
                glue_files="train.tsv, dev.tsv: index<TAB>sentence1<TAB>sentence2<TAB>label (a name)"),
    "qqp": dict(title="QQP (GLUE)", label_names=("not_duplicate", "duplicate"),
                text_columns=("question1", "question2"),
                glue_files="train.tsv, dev.tsv: id<TAB>qid1<TAB>qid2<TAB>question1<TAB>question2<TAB>"
                           "is_duplicate (0/1)"),
}
GLUE_TASKS = tuple(_GLUE)


def glue_source(task: str, mismatched: bool = False) -> TaskSource:
    """The GLUE task `task` (sst2, mnli, qnli, rte, qqp): train and a held-out validation from GLUE train, test
    = GLUE's validation split (GLUE's test labels are not public); `mismatched` picks MNLI's mismatched one."""
    if task not in _GLUE:
        raise ValueError(f"task must be one of {', '.join(GLUE_TASKS)}, got {task!r}")
    spec = _GLUE[task]
    validation = "validation"
    file_aliases: dict[str, tuple[str, ...]] = {"validation": ("dev",)}
    column_aliases: dict[str, str] = {}
    if task == "mnli":
        validation = "validation_mismatched" if mismatched else "validation_matched"
        file_aliases = {"validation_matched": ("dev_matched",), "validation_mismatched": ("dev_mismatched",)}
        column_aliases = {"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"}
    elif task == "qqp":
        column_aliases = {"is_duplicate": "label"}
    layouts = [LocalLayout(f"GLUE's files: {spec['glue_files']}", _glue_layout_reader)]
    if task == "sst2":
        layouts.insert(0, LocalLayout(
            "a re-split SST-2: train.tsv and dev.tsv together = GLUE train, test.tsv = "
            "GLUE dev, each with a header line sentence<TAB>label", _read_resplit_sst2))
    return TaskSource(
        name=task, title=spec["title"], hub_path=GLUE_HUB, hub_config=task, label_names=spec["label_names"],
        text_columns=spec["text_columns"], splits={"train": "train", "test": validation},
        file_aliases=file_aliases, column_aliases=column_aliases, layouts=tuple(layouts),
        notes="GLUE's test labels are not public")


def _glue_layout_reader(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    # GLUE's own files are the generic layout with GLUE's file names (dev*.tsv) and column names (aliases).
    if not (path.is_dir() and (path / "train.tsv").is_file()):
        return None
    return read_generic(path, source)


class SourceTask:
    """The Task of a plugin whose data one TaskSource describes entirely: such a plugin is its SOURCE, its config
    class and `register(name, source_task(SOURCE), config=...)`."""

    def __init__(self, source: TaskSource, config: "TaskSourceConfig"):
        self.source = source
        self.config = config

    def load(self, env: Any) -> TaskData:
        return load_task(self.source, self.config)

    def hub_downloads(self) -> tuple[str, ...]:
        return self.config.hub_downloads_for(self.source.hub_path, self.source.hub_config)


def source_task(source: TaskSource) -> Callable[["TaskSourceConfig"], SourceTask]:
    """The factory to register for a task plugin built on one TaskSource."""
    return functools.partial(SourceTask, source)
