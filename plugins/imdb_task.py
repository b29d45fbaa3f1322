"""Task `imdb`: IMDB movie reviews (Maas et al. 2011), negative / positive.

From the Hugging Face hub (stanfordnlp/imdb: train 25,000 / test 25,000; its unlabelled split is not used) by
default, or with `path:` from a folder holding

- the original release (aclImdb, or the folder that contains it): train/pos, train/neg, test/pos, test/neg, one
  review per .txt file (UTF-8), read verbatim as the hub does;
- or one file per split (train, test) with the columns text and label (0/1 or neg/pos).

IMDB has no validation split: `validation_fraction` of the train split is held out (seeded). Example order does
not depend on the order files are listed in (ids are content hashes; see docs/tasks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import LocalLayout, RawSplit, TaskSource, TaskSourceConfig, hookimpl, read_text, source_task


def read_acl_imdb(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    root = next((candidate for candidate in (path, path / "aclImdb") if (candidate / "test" / "pos").is_dir()), None)
    if root is None:
        return None
    found = {}
    for split in ("train", "test"):
        rows = []
        for label in ("neg", "pos"):
            folder = root / split / label
            if folder.is_dir():
                rows.extend({"text": read_text(file, encodings=("utf-8",)), "label": label}
                            for file in sorted(folder.glob("*.txt")))
        if rows:
            found[split] = RawSplit(str(root / split), tuple(rows))
    return found


SOURCE = TaskSource(
    name="imdb", title="IMDB reviews", hub_path="stanfordnlp/imdb", hub_config=None, label_names=("neg", "pos"),
    text_columns=("text",), splits={"train": "train", "test": "test"},
    label_aliases={"negative": "neg", "positive": "pos"},
    layouts=(LocalLayout("the original aclImdb release: {train,test}/{pos,neg}/*.txt", read_acl_imdb),))


@dataclass(frozen=True)
class ImdbConfig(TaskSourceConfig):
    """Where the IMDB data comes from: `path` (local files) or the hub; how validation is held out."""


@hookimpl
def register_tasks(register):
    register("imdb", source_task(SOURCE), config=ImdbConfig,
             description="IMDB review sentiment; hub imdb, or the aclImdb release / local files (path:)")
