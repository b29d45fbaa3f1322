"""Task `local-conll`: named-entity recognition (token classification) from local CoNLL files.

One token per line, columns separated by spaces or tabs, the token first and the tag in `tag_column` (default:
the last), a blank line between sentences; -DOCSTART- lines are skipped (see harness.kinds.token.conll). The files are
read
and checked when the suite is validated (and again when the task loads): a line with the wrong number of columns,
a tag that is not O / B-X / I-X (or E-X / S-X), or a tag outside `label_names` is an error naming the file and
the line. Tags are converted to IOB2 (`encoding`). Examples keep the files' order; ids are content hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from harness import (
    HarnessError,
    StageEnvironment,
    SuitePath,
    TaskData,
    check_path,
    convert_sentences,
    hookimpl,
    iob2_label_names,
    read_conll,
    token_examples,
)

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class LocalConllConfig:
    """CoNLL files, one per split."""

    train: SuitePath
    """Training file ($VARS and ~ expanded; a relative path is relative to the suite file)."""
    test: SuitePath
    validation: Optional[SuitePath] = None
    """Optional; without it the harness holds out part of train."""
    tag_column: int = -1
    """0-based column of the tag; negative counts from the end (default: the last). Column 0 is the token."""
    encoding: Literal["auto", "iob1", "iob2", "iobes"] = "auto"
    """Tagging scheme of the files: iob2 is checked as is; iob1 and iobes are converted to IOB2; auto detects."""
    label_names: Optional[tuple[str, ...]] = None
    """IOB2 tags in the model's label order ("O", "B-PER", ...); every tag in the files must be one of them.
    Default: "O" first, then B- and I- of every entity type in the files, sorted."""
    name: str = "local-conll"
    """The task's name, also the prefix of example ids."""

    def __post_init__(self):
        for split in SPLITS:
            path = getattr(self, split)
            if path is not None:
                check_path(path, f"{split} file", want_file=True)
        if isinstance(self.tag_column, bool) or not isinstance(self.tag_column, int) or self.tag_column == 0:
            raise ValueError(f"tag_column must be a column index other than 0 (the token), got {self.tag_column!r}")
        if self.encoding not in ("auto", "iob1", "iob2", "iobes"):
            raise ValueError(f"encoding must be auto, iob1, iob2 or iobes, got {self.encoding!r}")
        if self.label_names is not None:
            _check_label_names(self.label_names)
        if not self.name.strip():
            raise ValueError("name must not be empty")
        _read(self)  # the data itself: `harness validate` reports a bad file before anything runs


def _check_label_names(names: tuple[str, ...]) -> None:
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"label_names must list at least two distinct tags, got {list(names)}")
    if "O" not in names:
        raise ValueError(f"label_names must include 'O' (outside any entity), got {list(names)}")
    for name in names:
        prefix, _, entity_type = name.partition("-")
        if name != "O" and (prefix not in ("B", "I") or not entity_type):
            raise ValueError(f"label_names must be IOB2 tags ('O', 'B-TYPE', 'I-TYPE'), got {name!r}")


def _read(config: LocalConllConfig) -> tuple[tuple[str, ...], dict]:
    """(label names, split -> (IOB2 sentences, path)); ValueErrors start with the split's file parameter."""
    from harness import expand_path

    sentences = {}
    for split in SPLITS:
        path = getattr(config, split)
        if path is None:
            continue
        try:
            raw = read_conll(expand_path(path), tag_column=config.tag_column)
            converted, _ = convert_sentences(raw, config.encoding, path)
        except (ValueError, HarnessError) as error:  # HarnessError: e.g. a file that is not UTF-8
            raise ValueError(f"{split} file {error}") from error
        sentences[split] = (converted, path)
    label_names = config.label_names or iob2_label_names(
        [sentence.tags for converted, _ in sentences.values() for sentence in converted])
    if len(label_names) < 2:
        raise ValueError(f"train file {config.train}: no entities in any file (every tag is O)")
    for split, (converted, path) in sentences.items():
        try:
            token_examples(converted, prefix=config.name, split=split, label_names=label_names, origin=path)
        except ValueError as error:
            raise ValueError(f"{split} file {error}") from error
    return tuple(label_names), sentences


class LocalConllTask:
    def __init__(self, config: LocalConllConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        # Read again: the files may have changed since the suite was validated.
        label_names, sentences = _read(self.config)
        splits = {split: token_examples(converted, prefix=self.config.name, split=split, label_names=label_names,
                                        origin=path)
                  for split, (converted, path) in sentences.items()}
        files = ", ".join(f"{split} {path}" for split, (_, path) in sentences.items())
        return TaskData(name=self.config.name, label_names=label_names, train=splits["train"],
                        validation=splits.get("validation", ()), test=splits["test"],
                        description=f"local CoNLL files: {files}", text_fields=("tokens",),
                        kind="token-classification")


@hookimpl
def register_tasks(register):
    register("local-conll", LocalConllTask, config=LocalConllConfig,
             description="Named-entity recognition (token classification) from local CoNLL files")
