"""Task `local-qa`: extractive question answering from local files, one per split.

Each file is SQuAD's JSON layout (`.json`: `{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}`, SQuAD 1.1 or 2.0) or a table (`.jsonl`,
`.csv`, `.tsv`) with the columns question, context and answer (optional answer_start) or answers (the hub's
`{"text": [...], "answer_start": [...]}`), optional id and title; a blank answer is an unanswerable question. The
files are read and every answer checked against its context when the suite is validated (and again when the task
loads): an answer whose text is not the context's at its offset is an error naming the file and the line. Without a
validation file, `validation_fraction` of train is held out. `train_articles`, `test_articles` and
`validation_articles` keep only some articles of a SQuAD file (numbered from 1 in file order), so that one file gives
several splits: the SQuAD 2.0 dev slice's first three articles to train, the last two to test; `answerable_only`
drops the unanswerable questions. Examples keep the files' ids (prefixed with their split when two files share ids,
as tables numbered by line do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import (
    ExtractiveQA,
    HarnessError,
    StageEnvironment,
    SuitePath,
    TaskData,
    check_path,
    expand_path,
    hookimpl,
    local_qa_task,
    read_qa_file,
    select_articles,
)

SPLITS = ("train", "validation", "test")
EXTENSIONS = (".json", ".jsonl", ".json-lines", ".csv", ".tsv")


@dataclass(frozen=True)
class LocalQAConfig:
    """QA files, one per split."""

    train: SuitePath
    """Training file ($VARS and ~ expanded; a relative path is relative to the suite file)."""
    test: SuitePath
    validation: Optional[SuitePath] = None
    """Optional; without it `validation_fraction` of train is held out."""
    validation_fraction: float = 0.1
    """Share of train held out as validation when there is no validation file."""
    split_seed: int = 0
    """Seeds the hold-out and the order of examples."""
    name: str = "local-qa"
    """The task's name."""
    train_articles: Optional[str] = None
    """Only these articles of the train file (SQuAD JSON; numbered from 1 in file order): "1-3", "4,5"."""
    test_articles: Optional[str] = None
    """Only these articles of the test file: one SQuAD file can give both splits ("1-3" and "4-5")."""
    validation_articles: Optional[str] = None
    answerable_only: bool = False
    """Drop the unanswerable questions of every split: SQuAD 1.1-style QA from SQuAD 2.0 files (a small model
    trained on a few hundred SQuAD 2.0 questions learns to abstain on every one)."""

    def __post_init__(self):
        if not 0 <= self.validation_fraction < 1:  # also rejects NaN
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if not self.name.strip():
            raise ValueError("name must not be empty")
        for split in SPLITS:
            path = getattr(self, split)
            if path is None:
                continue
            check_path(path, f"{split} file", want_file=True)
            if expand_path(path).suffix.lower() not in EXTENSIONS:
                raise ValueError(f"{split} file {path!r}: expected SQuAD JSON (.json) or a table (.jsonl, .csv, "
                                 f".tsv)")
            articles = getattr(self, f"{split}_articles")
            if articles is not None and expand_path(path).suffix.lower() != ".json":
                raise ValueError(f"{split}_articles: only a SQuAD JSON file has articles, {path!r} is a table")
            try:  # the data itself: `harness validate` reports a bad file before anything runs
                examples = read_qa_file(expand_path(path))
                if articles is not None:
                    select_articles(examples, articles, str(path))
            except HarnessError as error:
                raise ValueError(f"{split} file {error}") from error
        for split in SPLITS:
            if getattr(self, split) is None and getattr(self, f"{split}_articles") is not None:
                raise ValueError(f"{split}_articles without a {split} file")

    def files(self) -> dict[str, str]:
        return {split: getattr(self, split) for split in SPLITS if getattr(self, split) is not None}

    def articles(self) -> dict[str, str]:
        return {split: getattr(self, f"{split}_articles") for split in SPLITS
                if getattr(self, f"{split}_articles") is not None}


class LocalQATask:
    task_kind = ExtractiveQA.name
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: LocalQAConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        # Read again: the files may have changed since the suite was validated.
        return local_qa_task(self.config.name, self.config.files(), self.config.validation_fraction,
                             self.config.split_seed, self.config.articles(), self.config.answerable_only)


@hookimpl
def register_tasks(register):
    register("local-qa", LocalQATask, config=LocalQAConfig,
             description="Extractive question answering from local SQuAD JSON or JSONL/CSV/TSV files")
