"""Task `ag-news`: AG News topic classification (World, Sports, Business, Sci/Tech).

From the Hugging Face hub (fancyzhx/ag_news: train 120,000 / test 7,600) by default, or with `path:` from a folder
in one of these layouts:

- Tab-separated files without a header, `text<TAB>label name` (as in ../shared/data/agnews): test.tsv is the
  test split; train.tsv and/or dev.tsv together are the train split.
- The original release (Zhang et al. 2015, ag_news_csv): train.csv and test.csv without a header, "class index
  (1-4)","title","description"; the text is title + " " + description, as on the hub.
- One file per split (train, test) with the hub's columns text and label (0-3 or a name).

AG News has no validation split: `validation_fraction` of the train split is held out (seeded).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import (
    HarnessError,
    LocalLayout,
    RawSplit,
    TaskSource,
    TaskSourceConfig,
    concat_splits,
    hookimpl,
    read_table,
    read_text,
    source_task,
)

LABEL_NAMES = ("World", "Sports", "Business", "Sci/Tech")


def read_label_name_tsv(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    test = path / "test.tsv"
    if not (path.is_dir() and test.is_file()):
        return None
    first = read_text(test).split("\n", 1)[0].rstrip("\r").split("\t")
    if len(first) != 2 or first[1].strip() not in LABEL_NAMES:
        return None
    columns = ("text", "label")
    parts = [read_table(path / name, "tsv", columns) for name in ("train.tsv", "dev.tsv") if (path / name).is_file()]
    found = {"test": read_table(test, "tsv", columns)}
    if parts:
        found["train"] = concat_splits(" + ".join(part.origin for part in parts), *parts)
    return found


def read_original_csv(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    files = {split: path / f"{split}.csv" for split in ("train", "test")}
    if not (path.is_dir() and files["test"].is_file()):
        return None
    found = {}
    for split, file in files.items():
        if not file.is_file():
            continue
        # The hub's loading script reads the release with exactly these csv options.
        reader = csv.reader(io.StringIO(read_text(file), newline=""), quotechar='"', delimiter=",",
                            quoting=csv.QUOTE_ALL, skipinitialspace=True)
        rows, lines = [], []
        for fields in reader:
            if len(fields) != 3 or fields[0] not in ("1", "2", "3", "4"):
                if split == "test" and not rows:
                    return None  # not the original release (e.g. a CSV with a header line)
                raise HarnessError(f'{file} line {reader.line_num}: expected "class index (1-4)","title",'
                                   f'"description", got {len(fields)} field(s)')
            rows.append({"text": " ".join((fields[1], fields[2])), "label": int(fields[0]) - 1})
            lines.append(reader.line_num)
        found[split] = RawSplit(str(file), tuple(rows), tuple(lines))
    return found


SOURCE = TaskSource(
    name="ag-news", title="AG News", hub_path="fancyzhx/ag_news", hub_config=None, label_names=LABEL_NAMES,
    text_columns=("text",), splits={"train": "train", "test": "test"},
    layouts=(LocalLayout("test.tsv plus train.tsv and/or dev.tsv (the train split), no header: text<TAB>label name",
                         read_label_name_tsv),
             LocalLayout('the original train.csv and test.csv: "class index (1-4)","title","description"',
                         read_original_csv)))


@dataclass(frozen=True)
class AgNewsConfig(TaskSourceConfig):
    """Where the AG News data comes from: `path` (local files) or the hub; how validation is held out."""


@hookimpl
def register_tasks(register):
    register("ag-news", source_task(SOURCE), config=AgNewsConfig,
             description="AG News topics (4 classes); hub ag_news, or local TSV/CSV files (path:)")
