"""Extractive-QA tasks from the Hugging Face hub or from local files, the same either way (as harness.tasks.sources
loads text tasks and harness.kinds.token.conll token tasks).

`QATaskSource` describes a dataset: its hub path (rows with the columns of `squad` / `squad_v2`), which hub split is
the task's train, validation and test split, and the SQuAD JSON files a local copy holds (`train-v1.1.json`, ...).
`load_qa_task(source, config)` loads it from `config.path` (a folder: the SQuAD files, or one file per hub split,
`<split>.json` in SQuAD's layout or `<split>.jsonl` / `.csv` / `.tsv` tables) or from the hub. `local_qa_task`
builds a task from files named one by one (the `local-qa` task).

Examples keep the dataset's own ids (SQuAD's), so the same questions get the same ids from the hub and from local
files, and predictions can be matched with the official evaluation's. Every split is in the seeded order of
harness.tasks.splits.seeded_order; a task without a validation split holds out `validation_fraction` of train
(seeded by `split_seed`), as the text tasks do. TaskData.label_names is (): answers are spans, not labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import TaskData
from harness.kinds.qa.examples import QAExample
from harness.kinds.qa.reading import QA_TABLE_FORMATS, read_qa_table, read_squad_json, squad_examples_from_hub_rows

SPLITS = ("train", "validation", "test")
TABLE_EXTENSIONS = tuple(QA_TABLE_FORMATS)
HUB_COLUMNS = ("id", "title", "context", "question", "answers")


def read_qa_file(path: Path) -> tuple[QAExample, ...]:
    """A QA file by its extension: `.json` in SQuAD's layout, `.jsonl` / `.csv` / `.tsv` a table (see
    harness.kinds.qa.reading)."""
    return read_squad_json(path) if path.suffix.lower() == ".json" else read_qa_table(path)


@dataclass(frozen=True)
class QATaskSource:
    """An extractive-QA dataset: its hub rows (the columns of `squad`) and the files of local copies."""

    name: str
    """The task's name (TaskData.name)."""
    title: str
    hub_path: str
    hub_config: Optional[str] = None
    splits: Mapping[str, str] = field(default_factory=lambda: {"train": "train", "test": "validation"})
    """Task split -> hub split. Without "validation", part of train is held out (validation_fraction)."""
    squad_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Task split -> SQuAD JSON file names a local folder may hold (the first found is read)."""
    notes: str = ""

    def layout_help(self) -> str:
        squad = "; ".join(f"{split}: {' or '.join(names)}" for split, names in self.squad_files.items())
        generic = " + ".join(f"{hub}.json/.jsonl/.csv/.tsv" for hub in self.splits.values())
        return (f"a folder with SQuAD JSON files ({squad}) or with one file per split ({generic}: SQuAD's JSON "
                f"layout, or tables with columns id, question, context and answer or answers)")


def load_qa_task(source: QATaskSource, config: Any) -> TaskData:
    """The task's data from `config.path` (a local folder) or the hub (`config.hub_name`, `config.revision`);
    `config` is a harness.TaskSourceConfig (validation_fraction, split_seed)."""
    from harness.tasks.sources import expand_path

    if config.path is not None:
        found, origin = _local_examples(source, expand_path(config.path))
    else:
        found, origin = _hub_examples(source, config.hub_name or source.hub_path, config.revision)
    return qa_task(source.name, source.title, found, origin, config.validation_fraction, config.split_seed,
                   source.notes)


def parse_articles(text: str) -> tuple[int, ...]:
    """Article numbers (1-based, in file order) from "1-3", "4,5" or "1-2,5"; ValueError for anything else."""
    numbers: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if (not first.isdigit() or (dash and not last.isdigit()) or int(first) < 1
                or int(last or first) < int(first)):
            raise ValueError(f"articles {text!r}: expected article numbers from 1, e.g. \"1-3\" or \"4,5\"")
        numbers.extend(range(int(first), int(last or first) + 1))
    return tuple(dict.fromkeys(numbers))


def select_articles(examples: Sequence[QAExample], articles: str, where: str) -> tuple[QAExample, ...]:
    """The questions of the chosen articles of a SQuAD file (numbered 1, 2, ... by the order of their titles)."""
    titles = list(dict.fromkeys(example.title for example in examples))
    wanted = parse_articles(articles)
    if max(wanted) > len(titles):
        raise HarnessError(f"{where}: articles {articles!r}, but the file has {len(titles)} articles")
    chosen = {titles[number - 1] for number in wanted}
    return tuple(example for example in examples if example.title in chosen)


def local_qa_task(name: str, files: Mapping[str, Any], validation_fraction: float, split_seed: int,
                  articles: Mapping[str, str] = MappingProxyType({}), answerable_only: bool = False) -> TaskData:
    """A task from local files, one per split (`files`: split -> path; validation optional); `articles` (split ->
    "1-3") keeps only those articles of a split's SQuAD file, so one file can give several splits;
    `answerable_only` drops the unanswerable questions (SQuAD 1.1-style, from SQuAD 2.0 files)."""
    from harness.tasks.sources import expand_path

    found = {}
    for split, path in files.items():
        try:
            examples = read_qa_file(expand_path(path))
            if articles.get(split):
                examples = select_articles(examples, articles[split], str(path))
            if answerable_only:
                examples = tuple(example for example in examples if not example.is_impossible)
            found[split] = (examples, str(path))
        except HarnessError as error:
            raise HarnessError(f"task {name!r}: {split} file {error}") from error
    origin = "local files " + ", ".join(f"{split} {path}" + (f" (articles {articles[split]})"
                                                             if articles.get(split) else "")
                                        for split, path in files.items())
    origin += ", answerable questions only" if answerable_only else ""
    return qa_task(name, "local QA files", found, origin, validation_fraction, split_seed)


def qa_task(name: str, title: str, found: Mapping[str, tuple[Sequence[QAExample], str]], origin: str,
            validation_fraction: float, split_seed: int, notes: str = "") -> TaskData:
    """TaskData of extractive QA from each split's examples: seeded order, a validation split held out of train
    when there is none, ids made unique across the splits."""
    from harness.tasks.splits import arranged_splits

    splits, remarks = arranged_splits(name, {split: examples for split, (examples, _) in found.items()}, origin,
                                      validation_fraction, split_seed)
    unanswerable = sum(example.is_impossible for examples in splits.values() for example in examples)
    if unanswerable:
        remarks.append(f"{unanswerable} unanswerable questions (SQuAD 2.0: a model may abstain)")
    if notes:
        remarks.append(notes)
    description = (f"{title}: {len(splits['train'])} train / {len(splits['validation'])} validation / "
                   f"{len(splits['test'])} test questions from {origin}" + "".join(f"; {note}" for note in remarks))
    return TaskData(name=name, label_names=(), train=splits["train"], validation=splits["validation"],  # type: ignore
                    test=splits["test"], description=description, text_fields=("question", "context"),  # type: ignore
                    kind="extractive-qa")


def _local_examples(source: QATaskSource, path: Path) -> tuple[dict[str, tuple[tuple[QAExample, ...], str]], str]:
    from harness.tasks.readers import require_split_files

    if not path.is_dir():
        raise HarnessError(f"task {source.name!r}: path {str(path.absolute())!r} is not a folder; expected "
                           f"{source.layout_help()}")
    found: dict[str, tuple[tuple[QAExample, ...], str]] = {}
    for task_split, hub_split in source.splits.items():
        candidates = [*source.squad_files.get(task_split, ()), f"{hub_split}.json",
                      *(f"{hub_split}{extension}" for extension in TABLE_EXTENSIONS)]
        for name in candidates:
            candidate = path / name
            if candidate.is_file():
                try:
                    found[task_split] = (read_qa_file(candidate), str(candidate))
                except HarnessError as error:
                    raise HarnessError(f"task {source.name!r}: {error}") from error
                break
    require_split_files(source.name, path, found, source.layout_help())
    return found, f"local files {path}"


def _hub_examples(source: QATaskSource, hub_name: str,
                  revision: Optional[str]) -> tuple[dict[str, tuple[tuple[QAExample, ...], str]], str]:
    from harness.tasks.hub import hub_splits

    splits, shown = hub_splits(source.name, hub_name, source.hub_config, revision, source.layout_help(),
                               source.splits, HUB_COLUMNS, "set hub_name to a dataset with squad's columns")
    found = {}
    for task_split, dataset, origin in splits:
        data = dataset.select_columns(list(HUB_COLUMNS)).to_dict()
        rows = [dict(zip(HUB_COLUMNS, values)) for values in zip(*(data[column] for column in HUB_COLUMNS))]
        try:
            found[task_split] = (squad_examples_from_hub_rows(rows, origin), origin)
        except HarnessError as error:
            raise HarnessError(f"task {source.name!r}: {error}") from error
    return found, f"the hub: {shown}"
