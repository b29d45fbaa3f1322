"""What a task plugin declares about its dataset: TaskSource (hub location, splits, columns, labels) and the local
layouts it reads (LocalLayout, and the generic one-file-per-split layout). Part of harness.tasks.sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from harness.tasks.readers import GENERIC_EXTENSIONS, TABLE_FORMATS, RawSplit, read_table


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


def generic_layout(source: TaskSource) -> LocalLayout:
    """The generic layout (read_generic) of `source`, tried after the source's own layouts."""
    return LocalLayout(_generic_description(source), read_generic)
