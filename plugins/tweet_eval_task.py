"""Task `tweet-eval`: TweetEval (Barbieri et al. 2020), seven tweet classification tasks; `subset` picks one.

From the Hugging Face hub (cardiffnlp/tweet_eval, config = subset) by default, or with `path:` from a folder
holding

- the TweetEval repository's files for the subset: {train,val,test}_text.txt and {train,val,test}_labels.txt,
  one tweet / one label index per line (the folder itself, or the repository's datasets/ folder: then
  <subset>/ or, for stance_<target>, stance/<target>/ inside it is used), read as the hub reads them
  (lines stripped);
- or one file per split (train, validation, test) with the columns text and label.

The hub's train / validation / test splits are the task's. Label names, in the hub's order, depend on the subset
(e.g. sentiment: negative, neutral, positive).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from harness import (
    HarnessError,
    LocalLayout,
    RawSplit,
    StageEnvironment,
    TaskData,
    TaskSource,
    TaskSourceConfig,
    hookimpl,
    load_task,
    read_text,
)

STANCE = ("none", "against", "favor")
LABEL_NAMES = {
    "emoji": ("❤", "😍", "😂", "💕", "🔥", "😊", "😎", "✨", "💙", "😘",
              "📷", "🇺🇸", "☀", "💜", "😉", "💯", "😁", "🎄", "📸", "😜"),
    "emotion": ("anger", "joy", "optimism", "sadness"),
    "hate": ("non-hate", "hate"),
    "irony": ("non_irony", "irony"),
    "offensive": ("non-offensive", "offensive"),
    "sentiment": ("negative", "neutral", "positive"),
    "stance_abortion": STANCE,
    "stance_atheism": STANCE,
    "stance_climate": STANCE,
    "stance_feminist": STANCE,
    "stance_hillary": STANCE,
}
Subset = Literal["emoji", "emotion", "hate", "irony", "offensive", "sentiment", "stance_abortion", "stance_atheism",
                 "stance_climate", "stance_feminist", "stance_hillary"]
FILE_SPLITS = {"train": "train", "validation": "val", "test": "test"}


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in io.StringIO(read_text(path, encodings=("utf-8",)), newline=None).readlines()]


def repository_reader(subset: str):
    def read(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
        candidates = [path, path / subset]
        if subset.startswith("stance_"):
            candidates.append(path / "stance" / subset[len("stance_"):])
        folder = next((candidate for candidate in candidates if (candidate / "train_text.txt").is_file()), None)
        if folder is None:
            return None
        found = {}
        for split, stem in FILE_SPLITS.items():
            text_file, label_file = folder / f"{stem}_text.txt", folder / f"{stem}_labels.txt"
            if not text_file.is_file():
                continue
            if not label_file.is_file():
                raise HarnessError(f"{text_file} has no labels file {label_file.name} beside it")
            texts, labels = _lines(text_file), _lines(label_file)
            if len(labels) < len(texts):
                raise HarnessError(f"{label_file} has {len(labels)} lines but {text_file.name} has {len(texts)}")
            rows = tuple({"text": text, "label": label} for text, label in zip(texts, labels))
            found[split] = RawSplit(str(text_file), rows, tuple(range(1, len(rows) + 1)))
        return found
    return read


def tweet_eval_source(subset: str) -> TaskSource:
    return TaskSource(
        name=f"tweet-eval-{subset}", title=f"TweetEval {subset}", hub_path="cardiffnlp/tweet_eval",
        hub_config=subset,
        label_names=LABEL_NAMES[subset], text_columns=("text",), file_aliases={"validation": ("val", "dev")},
        layouts=(LocalLayout("TweetEval's {train,val,test}_text.txt and _labels.txt files",
                             repository_reader(subset)),))


@dataclass(frozen=True)
class TweetEvalConfig(TaskSourceConfig):
    """Which TweetEval task, and where its data comes from: `path` (local files) or the hub."""

    subset: Subset = "sentiment"
    """The TweetEval task: sentiment (3 classes), emotion (4), hate, irony, offensive (2 each), emoji (20), or
    stance_abortion / _atheism / _climate / _feminist / _hillary (none, against, favor)."""

    def __post_init__(self):
        super().__post_init__()
        if self.subset not in LABEL_NAMES:
            raise ValueError(f"subset must be one of {', '.join(LABEL_NAMES)}, got {self.subset!r}")


class TweetEvalTask:
    def __init__(self, config: TweetEvalConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_task(tweet_eval_source(self.config.subset), self.config)


@hookimpl
def register_tasks(register):
    register("tweet-eval", TweetEvalTask, config=TweetEvalConfig,
             description="TweetEval tweet classification (subset: sentiment, emotion, hate, irony, offensive, emoji, "
                         "stance_*); hub tweet_eval, or local files (path:)")
