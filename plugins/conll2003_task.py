"""Task `conll2003`: CoNLL-2003 English named-entity recognition (PER, ORG, LOC, MISC), a token-classification task.

From the Hugging Face hub (eriktks/conll2003, the canonical copy: train 14,041 / validation 3,250 / test 3,453
sentences, IOB2 tags) by default, or from a local copy with `path:`: a folder with the CoNLL files (train.txt,
valid.txt, test.txt as most copies name them, or the original eng.train, eng.testa, eng.testb, whose IOB1 tags
are converted to IOB2), or with the hub's columns (tokens, ner_tags) in train/validation/test .jsonl, .json or
.parquet files. The same sentences get the same ids either way (see harness.kinds.token.conll).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import StageEnvironment, TaskData, TaskSourceConfig, TokenTaskSource, hookimpl, load_token_task

CONLL2003 = TokenTaskSource(
    name="conll2003", title="CoNLL-2003 NER (English)", hub_path="eriktks/conll2003", hub_config=None,
    label_names=("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"),
    conll_files={
        "train": ("train.txt", "train", "train.conll", "eng.train"),
        "validation": ("valid.txt", "validation.txt", "dev.txt", "valid", "validation", "dev", "valid.conll",
                       "validation.conll", "dev.conll", "eng.testa"),
        "test": ("test.txt", "test", "test.conll", "eng.testb"),
    })


@dataclass(frozen=True)
class Conll2003Config(TaskSourceConfig):
    """Where the CoNLL-2003 data comes from: `path` (a local folder) or the hub."""

    encoding: Literal["auto", "iob1", "iob2", "iobes"] = "auto"
    """Tagging scheme of local files: auto detects IOB1 (the original eng.* files) and converts to IOB2."""

    def __post_init__(self):
        super().__post_init__()
        if self.encoding not in ("auto", "iob1", "iob2", "iobes"):
            raise ValueError(f"encoding must be auto, iob1, iob2 or iobes, got {self.encoding!r}")


class Conll2003Task:
    def __init__(self, config: Conll2003Config):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_token_task(CONLL2003, self.config, encoding=self.config.encoding)

    def hub_downloads(self) -> tuple[str, ...]:
        return self.config.hub_downloads_for(CONLL2003.hub_path, CONLL2003.hub_config)


@hookimpl
def register_tasks(register):
    register("conll2003", Conll2003Task, config=Conll2003Config,
             description="CoNLL-2003 English NER (token classification); hub eriktks/conll2003, or local CoNLL "
                         "files (path:)")
