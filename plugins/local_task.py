"""Task `local`: labelled text from local CSV, TSV or JSON-lines files, loaded through Hugging Face `datasets`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from harness import Example, HarnessError, StageEnvironment, TaskData, hookimpl

TEXT_COLUMN_GUESSES = ("text", "sentence", "content", "review", "document")
LABEL_COLUMN_GUESSES = ("label", "labels", "class", "target")
FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


@dataclass(frozen=True)
class LocalTaskConfig:
    train: str
    """Training file (relative paths are relative to the current directory; $VARS and ~ are expanded)."""
    test: str
    validation: Optional[str] = None
    """Optional; without it the harness holds out 10% of train."""
    format: Optional[Literal["csv", "tsv", "jsonl"]] = None
    """Default: from the file extension."""
    text_column: Optional[str] = None
    """Default: the first of text, sentence, content, review, document present."""
    label_column: Optional[str] = None
    """Default: the first of label, labels, class, target present."""
    column_names: Optional[tuple[str, ...]] = None
    """For CSV/TSV files without a header line."""
    label_names: Optional[tuple[str, ...]] = None
    """Names of integer labels 0..n-1, or the order of string labels; default: sorted distinct labels."""
    rationale_column: Optional[str] = None
    """Human rationales for plausibility metrics: per row, the evidence phrases (a list of strings in JSON lines,
    or one string with phrases separated by " | "), or [[start, end], ...] character spans. Empty: none."""
    name: str = "local"

    def __post_init__(self):
        for split in ("train", "test", "validation"):
            path = getattr(self, split)
            if path is not None and not _expand(path).is_file():
                raise ValueError(f"{split} file {path!r} does not exist (resolved to {_expand(path).resolve()})")
        if self.format is None:
            for split in ("train", "test", "validation"):
                path = getattr(self, split)
                if path is not None and _expand(path).suffix.lower() not in FORMAT_BY_SUFFIX:
                    raise ValueError(f"cannot tell the format of {path!r} from its extension; set format: csv, tsv or jsonl")


class LocalTask:
    def __init__(self, config: LocalTaskConfig):
        self.config = config

    def _format(self, path: Path) -> str:
        return self.config.format or FORMAT_BY_SUFFIX[path.suffix.lower()]

    def _load_split(self, path_text: str):
        from datasets import load_dataset
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()  # one bar per tiny file is noise; the harness shows stage progress instead

        path = _expand(path_text)
        file_format = self._format(path)
        options: dict = {}
        if file_format != "jsonl":
            options = {"delimiter": "\t" if file_format == "tsv" else ",", "keep_default_na": False}
            if file_format == "tsv":
                options["quoting"] = 3  # csv.QUOTE_NONE: TSV corpora (SST-2) contain unbalanced quotes
            if self.config.column_names:
                options["column_names"] = list(self.config.column_names)
        try:
            dataset = load_dataset("json" if file_format == "jsonl" else "csv", data_files=str(path), split="train",
                                   **options)
        except ValueError as error:
            if "no data" in str(error):  # how `datasets` reports a file with a header and no rows
                raise HarnessError(f"task {self.config.name!r}: {path} has no rows") from error
            raise HarnessError(f"task {self.config.name!r}: cannot read {path} as {file_format}: {error}") from error
        if len(dataset) == 0:
            raise HarnessError(f"task {self.config.name!r}: {path} has no rows")
        return dataset

    def _column(self, dataset, wanted: Optional[str], guesses: tuple[str, ...], what: str, path: str) -> str:
        columns = list(dataset.column_names)
        if wanted is not None:
            if wanted not in columns:
                raise HarnessError(f"task {self.config.name!r}: {path} has no {what} column {wanted!r}; "
                                   f"columns: {', '.join(columns)}")
            return wanted
        for guess in guesses:
            if guess in columns:
                return guess
        raise HarnessError(f"task {self.config.name!r}: cannot find the {what} column in {path} (columns: "
                           f"{', '.join(columns)}); set {what}_column")

    def load(self, env: StageEnvironment) -> TaskData:
        raw = {split: self._load_split(getattr(self.config, split))
               for split in ("train", "validation", "test") if getattr(self.config, split) is not None}
        texts_and_labels = {}
        for split, dataset in raw.items():
            path = getattr(self.config, split)
            text_column = self._column(dataset, self.config.text_column, TEXT_COLUMN_GUESSES, "text", path)
            label_column = self._column(dataset, self.config.label_column, LABEL_COLUMN_GUESSES, "label", path)
            rationales = [None] * len(dataset)
            if self.config.rationale_column:
                # Rationales are scored on the test split; the training files need not carry them.
                if self.config.rationale_column in dataset.column_names or split == "test":
                    rationales = dataset[self._column(dataset, self.config.rationale_column, (), "rationale", path)]
            texts_and_labels[split] = (dataset[text_column], dataset[label_column], rationales)
        all_labels = [label for _, labels, _ in texts_and_labels.values() for label in labels]
        label_names, to_index = self._label_mapping(all_labels)
        splits = {}
        for split, (texts, labels, rationales) in texts_and_labels.items():
            splits[split] = tuple(
                Example(id=f"{split}-{row}", text=str(text), label=to_index(label),
                        rationale=self._rationale_spans(str(text), rationale, f"{getattr(self.config, split)} row {row}"))
                for row, (text, label, rationale) in enumerate(zip(texts, labels, rationales))
            )
        return TaskData(name=self.config.name, label_names=label_names, train=splits["train"],
                        validation=splits.get("validation", ()), test=splits["test"],
                        description=f"local files: {self.config.train}, {self.config.test}")

    def _rationale_spans(self, text: str, rationale, where: str) -> Optional[tuple[tuple[int, int], ...]]:
        """Character spans of a row's rationale, from phrases (found in the text, in order) or spans."""
        if rationale is None or rationale == "" or rationale == []:
            return None
        if isinstance(rationale, str):
            rationale = [phrase.strip() for phrase in rationale.split(" | ") if phrase.strip()]
        spans = []
        search_from = 0
        for item in rationale:
            if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, int) for v in item):
                start, end = item
                if not 0 <= start < end <= len(text):
                    raise HarnessError(f"task {self.config.name!r}: rationale span {list(item)} is outside the text "
                                       f"({len(text)} characters) at {where}")
            elif isinstance(item, str):
                start = text.find(item, search_from)
                if start < 0:
                    start = text.find(item)  # phrases listed out of order
                if start < 0:
                    raise HarnessError(f"task {self.config.name!r}: rationale phrase {item!r} does not occur in the "
                                       f"text at {where}")
                end = start + len(item)
                search_from = end
            else:
                raise HarnessError(f"task {self.config.name!r}: a rationale is a list of phrases or of [start, end] "
                                   f"spans; got {item!r} at {where}")
            spans.append((start, end))
        return tuple(sorted(spans))

    def _label_mapping(self, labels: list):
        if all(isinstance(label, int) and not isinstance(label, bool) for label in labels):
            count = max(labels) + 1
            names = self.config.label_names or tuple(str(index) for index in range(count))
            if len(names) < count or min(labels) < 0:
                raise HarnessError(f"task {self.config.name!r}: labels range over {min(labels)}..{max(labels)} "
                                   f"but label_names has {len(names)} names")
            return tuple(names), int
        as_text = [str(label) for label in labels]
        names = self.config.label_names or tuple(sorted(set(as_text)))
        index = {name: position for position, name in enumerate(names)}
        unknown = sorted(set(as_text) - set(index))
        if unknown:
            raise HarnessError(f"task {self.config.name!r}: labels {unknown[:5]} are not in label_names {list(names)}")
        return tuple(names), lambda label: index[str(label)]


@hookimpl
def register_tasks(register):
    register("local", LocalTask, config=LocalTaskConfig,
             description="Labelled text from local CSV/TSV/JSONL files (through Hugging Face datasets)")
