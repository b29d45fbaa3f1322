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

The code is split by concern, one way (each module imports only those before it): harness.tasks.readers (RawSplit,
file readers), harness.tasks.splits (ids, seeded order, hold-out), harness.tasks.spec (TaskSource, LocalLayout),
harness.tasks.rows (rows to Examples), harness.tasks.hub, harness.tasks.glue, and this module (the config and the
loading flow), which also exports their public names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from harness.core.config import SuitePath
from harness.core.errors import HarnessError
from harness.core.types import Example, TaskData
from harness.tasks.glue import GLUE_HUB, GLUE_TASKS, glue_source
from harness.tasks.hub import download_from_hub, hub_dataset_name, hub_rows
from harness.tasks.readers import GENERIC_EXTENSIONS, TABLE_FORMATS, RawSplit, expand_path, read_table, read_text
from harness.tasks.rows import evidence_spans, rows_to_examples
from harness.tasks.spec import LocalLayout, TaskSource, generic_layout, read_generic
from harness.tasks.splits import concat_splits, content_id, hold_out, seeded_order

__all__ = [
    "GENERIC_EXTENSIONS", "GLUE_HUB", "GLUE_TASKS", "TABLE_FORMATS", "LocalLayout", "RawSplit", "SourceTask",
    "TaskSource", "TaskSourceConfig", "check_path", "concat_splits", "content_id", "download_from_hub",
    "evidence_spans", "expand_path", "glue_source", "hold_out", "hub_dataset_name", "load_splits", "load_task",
    "read_generic", "read_table", "read_text", "rows_to_examples", "seeded_order", "source_task",
]


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
        raw, origin = hub_rows(source, hub_name or source.hub_path, revision)
    return {split: rows_to_examples(source, split, raw[split]) for split in source.needed_splits()}, origin


def _local_rows(source: TaskSource, path: Path) -> tuple[dict[str, RawSplit], str]:
    if not path.exists():
        raise HarnessError(f"task {source.name!r}: path {str(path.absolute())!r} does not exist; "
                           f"expected {source.layout_help()}")
    for layout in (*source.layouts, generic_layout(source)):
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
