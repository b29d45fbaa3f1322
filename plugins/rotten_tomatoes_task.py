"""Task `rotten-tomatoes`: Pang & Lee's sentence polarity data (MR, "rotten tomatoes"), negative / positive.

From the Hugging Face hub (cornell-movie-review-data/rotten_tomatoes, 8,530 / 1,066 / 1,066) by default, or with
`path:` from the original release: a folder holding rt-polarity.pos and rt-polarity.neg (or the release's
rt-polaritydata/ folder inside it), one sentence per line, UTF-8 or the original Latin-1. The local split is the
hub's own, made exactly as its loading script makes it (no seed involved): per polarity, the first
round(80%) lines train, the next 10% validation, the rest test; lines are stripped of surrounding whitespace.
So the local release and the hub give the same examples with the same ids. A folder with one file per split
(text, label: neg/pos or 0/1) is read too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import LocalLayout, RawSplit, TaskSource, TaskSourceConfig, concat_splits, hookimpl, read_text, source_task

FILES = ("rt-polarity.pos", "rt-polarity.neg")


def _lines(path: Path) -> list[str]:
    # The Cornell release is Latin-1; some redistributions (e.g. ../shared/data) re-encoded it as UTF-8.
    text = read_text(path, encodings=("utf-8", "latin-1"))
    return [line.strip() for line in io.StringIO(text, newline=None).readlines()]


def read_polarity_release(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    folder = next((candidate for candidate in (path, path / "rt-polaritydata")
                   if all((candidate / name).is_file() for name in FILES)), None)
    if folder is None:
        return None
    positive, negative = _lines(folder / FILES[0]), _lines(folder / FILES[1])
    first, second = int(len(positive) * 0.8 + 0.5), int(len(positive) * 0.9 + 0.5)
    splits = {}
    for split, start, end in (("train", 0, first), ("validation", first, second), ("test", second, None)):
        parts = []
        for name, label, lines in ((FILES[0], "pos", positive), (FILES[1], "neg", negative)):
            stop = len(lines) if end is None else end
            rows = tuple({"text": text, "label": label} for text in lines[start:stop])
            parts.append(RawSplit(str(folder / name), rows, tuple(range(start + 1, start + 1 + len(rows)))))
        splits[split] = concat_splits(f"{folder} ({split})", *parts)
    return splits


SOURCE = TaskSource(
    name="rotten-tomatoes", title="Rotten Tomatoes (MR, Pang & Lee 2005)",
    hub_path="cornell-movie-review-data/rotten_tomatoes", hub_config=None, label_names=("neg", "pos"),
    text_columns=("text",), label_aliases={"negative": "neg", "positive": "pos"}, file_aliases={"validation": ("dev",)},
    layouts=(LocalLayout("rt-polarity.pos and rt-polarity.neg, one sentence per line (the Cornell release)",
                         read_polarity_release),))


@dataclass(frozen=True)
class RottenTomatoesConfig(TaskSourceConfig):
    """Where the data comes from: `path` (the rt-polarity release, or one file per split) or the hub."""


@hookimpl
def register_tasks(register):
    register("rotten-tomatoes", source_task(SOURCE), config=RottenTomatoesConfig,
             description="Rotten Tomatoes / MR sentence polarity; hub rotten_tomatoes, or the rt-polarity.pos/.neg "
                         "release (path:)")
