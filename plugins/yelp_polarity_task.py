"""Task `yelp-polarity`: Yelp review polarity (Zhang et al. 2015), negative / positive.

From the Hugging Face hub (fancyzhx/yelp_polarity: train 560,000 / test 38,000; its labels are named "1" and "2",
which this task calls negative and positive) by default, or with `path:` from a folder holding

- the original release (yelp_review_polarity_csv): train.csv and test.csv, lines `"1","review"` (1 negative,
  2 positive), read exactly as the hub's loading script reads them (the review is the line's characters between
  the opening `"1","` and the closing `"`, stripped; escapes such as \\n are kept as written);
- or one file per split (train, test) with the columns text and label (0/1 or negative/positive).

Yelp has no validation split: `validation_fraction` of the train split is held out (seeded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import HarnessError, LocalLayout, RawSplit, TaskSource, TaskSourceConfig, hookimpl, source_task

ORIGINAL_LABELS = {"1": 0, "2": 1}


def read_original_csv(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    files = {split: path / f"{split}.csv" for split in ("train", "test")}
    if not (path.is_dir() and files["test"].is_file()):
        return None
    with open(files["test"], encoding="utf-8") as handle:
        if not handle.readline().startswith(('"1","', '"2","')):
            return None  # e.g. a CSV with a header line: the generic layout
    found = {}
    for split, file in files.items():
        if not file.is_file():
            continue
        rows = []
        with open(file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line[1:2] not in ORIGINAL_LABELS or not line.startswith('"'):
                    raise HarnessError(f'{file} line {number}: expected "1" or "2" then the review, got {line[:30]!r}')
                rows.append({"text": line[5:-2].strip(), "label": ORIGINAL_LABELS[line[1]]})
        found[split] = RawSplit(str(file), tuple(rows), tuple(range(1, len(rows) + 1)))
    return found


SOURCE = TaskSource(
    name="yelp-polarity", title="Yelp polarity", hub_path="fancyzhx/yelp_polarity", hub_config=None,
    label_names=("negative", "positive"), hub_label_names=("1", "2"), text_columns=("text",),
    splits={"train": "train", "test": "test"},
    layouts=(LocalLayout('the original train.csv and test.csv: lines "1","review" (1 negative, 2 positive)',
                         read_original_csv),))


@dataclass(frozen=True)
class YelpPolarityConfig(TaskSourceConfig):
    """Where the Yelp data comes from: `path` (local files) or the hub; how validation is held out."""


@hookimpl
def register_tasks(register):
    register("yelp-polarity", source_task(SOURCE), config=YelpPolarityConfig,
             description="Yelp review polarity; hub yelp_polarity, or local CSV files (path:)")
