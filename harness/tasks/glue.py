"""The GLUE tasks (SST-2, MultiNLI, QNLI, RTE, QQP) as TaskSources, with GLUE's own file layouts and a re-split
SST-2. Part of harness.tasks.sources."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from harness.tasks.readers import RawSplit, read_table, read_text
from harness.tasks.spec import LocalLayout, TaskSource, read_generic
from harness.tasks.splits import concat_splits

GLUE_HUB = "nyu-mll/glue"


def _read_resplit_sst2(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    """SST-2 re-split (e.g. ../shared/data/sst2): labelled test.tsv = GLUE dev; train.tsv + dev.tsv = GLUE train."""
    test = path / "test.tsv"
    if not path.is_dir() or not test.is_file():
        return None
    header = read_text(test).split("\n", 1)[0].rstrip("\r").split("\t")
    if "label" not in header:
        return None  # GLUE's own test.tsv (index, sentence; no labels): the GLUE layout
    parts = [read_table(path / name) for name in ("train.tsv", "dev.tsv") if (path / name).is_file()]
    if not parts:
        return None
    return {"train": concat_splits(" + ".join(part.origin for part in parts), *parts),
            "validation": read_table(test)}


_GLUE = {
    "sst2": dict(title="SST-2 (GLUE)", label_names=("negative", "positive"), text_columns=("sentence",),
                 glue_files="train.tsv, dev.tsv with a header line: sentence<TAB>label (0/1)"),
    "mnli": dict(title="MultiNLI (GLUE)", label_names=("entailment", "neutral", "contradiction"),
                 text_columns=("premise", "hypothesis"),
                 glue_files="train.tsv, dev_matched.tsv, dev_mismatched.tsv as GLUE distributes them "
                            "(columns include sentence1, sentence2 and gold_label as a name)"),
    "qnli": dict(title="QNLI (GLUE)", label_names=("entailment", "not_entailment"),
                 text_columns=("question", "sentence"),
                 glue_files="train.tsv, dev.tsv: index<TAB>question<TAB>sentence<TAB>label (a name)"),
    "rte": dict(title="RTE (GLUE)", label_names=("entailment", "not_entailment"),
                text_columns=("sentence1", "sentence2"),
                glue_files="train.tsv, dev.tsv: index<TAB>sentence1<TAB>sentence2<TAB>label (a name)"),
    "qqp": dict(title="QQP (GLUE)", label_names=("not_duplicate", "duplicate"),
                text_columns=("question1", "question2"),
                glue_files="train.tsv, dev.tsv: id<TAB>qid1<TAB>qid2<TAB>question1<TAB>question2<TAB>"
                           "is_duplicate (0/1)"),
}
GLUE_TASKS = tuple(_GLUE)


def glue_source(task: str, mismatched: bool = False) -> TaskSource:
    """The GLUE task `task` (sst2, mnli, qnli, rte, qqp): train and a held-out validation from GLUE train, test
    = GLUE's validation split (GLUE's test labels are not public); `mismatched` picks MNLI's mismatched one."""
    if task not in _GLUE:
        raise ValueError(f"task must be one of {', '.join(GLUE_TASKS)}, got {task!r}")
    spec = _GLUE[task]
    validation = "validation"
    file_aliases: dict[str, tuple[str, ...]] = {"validation": ("dev",)}
    column_aliases: dict[str, str] = {}
    if task == "mnli":
        validation = "validation_mismatched" if mismatched else "validation_matched"
        file_aliases = {"validation_matched": ("dev_matched",), "validation_mismatched": ("dev_mismatched",)}
        column_aliases = {"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"}
    elif task == "qqp":
        column_aliases = {"is_duplicate": "label"}
    layouts = [LocalLayout(f"GLUE's files: {spec['glue_files']}", _glue_layout_reader)]
    if task == "sst2":
        layouts.insert(0, LocalLayout(
            "a re-split SST-2: train.tsv and dev.tsv together = GLUE train, test.tsv = "
            "GLUE dev, each with a header line sentence<TAB>label", _read_resplit_sst2))
    return TaskSource(
        name=task, title=spec["title"], hub_path=GLUE_HUB, hub_config=task, label_names=spec["label_names"],
        text_columns=spec["text_columns"], splits={"train": "train", "test": validation},
        file_aliases=file_aliases, column_aliases=column_aliases, layouts=tuple(layouts),
        notes="GLUE's test labels are not public")


def _glue_layout_reader(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
    # GLUE's own files are the generic layout with GLUE's file names (dev*.tsv) and column names (aliases).
    if not (path.is_dir() and (path / "train.tsv").is_file()):
        return None
    return read_generic(path, source)
