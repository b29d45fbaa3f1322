"""Text-generation tasks from the Hugging Face hub or from local copies in the hub's layout, the same either way (as
harness.tasks.sources loads the text tasks and harness.kinds.qa.tasks the QA tasks): translation (wmt16, iwslt2017,
opus100) and summarisation (cnn_dailymail, xsum).

`GenerationTaskSource` describes a dataset: its hub path and config, which hub split is the task's train,
validation and test split, and where a row holds its input and its reference (`input_field`, `target_field`: a
column, or a column and a key in it, as translation rows `{"translation": {"en": "...", "ro": "..."}}` hold each
language). `load_generation_task(source, config)` loads it from `config.path` (a folder with one table per hub split,
`<split>.jsonl` / `.json` / `.parquet` / `.csv` / `.tsv`, rows as the hub gives them; a flat column
`translation.en`, as `Dataset.flatten()` writes it, does too) or from the hub (`datasets.load_dataset` through
harness.tasks.hub, at the config's `revision`).

A task's config (`GenerationTaskConfig`: a harness.TaskSourceConfig) also says how the task is posed and scored: the
fields of a harness.GenerationSetup (`GenerationSetupConfig`), with each task's own defaults. A translation task's
config (`TranslationTaskConfig`) names the languages, which choose the hub config and the default instruction
("translate English to Romanian: ").

Ids are the rows' `id` where they have one (CNN/DailyMail's, XSum's), else `<task split>-<row number>`, so that the
same rows give the same ids from the hub and from a copy written from it. A task without a validation split (a
local copy without the file, an OPUS-100 pair without one) holds out `validation_fraction` of train.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import TaskData
from harness.kinds.generation import NAME
from harness.kinds.generation.examples import GenerationExample, GenerationSetup
from harness.kinds.generation.tasks import EXTENSIONS, generation_examples, generation_task
from harness.tasks.readers import RawSplit, require_split_files
from harness.tasks.sources import TaskSourceConfig

HUB_SPLITS = {"train": "train", "validation": "validation", "test": "test"}
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "vi": "Vietnamese", "zh": "Chinese",
}
"""English names of the commonest language codes, for the default instruction of translation tasks."""


def language_name(code: str) -> str:
    """A language's English name ("ro" -> "Romanian"); the code itself for a language not in LANGUAGE_NAMES."""
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class GenerationTaskSource:
    """A text-generation dataset of the hub: where it is, its splits, and where its rows hold input and reference."""

    name: str
    """The task's name (TaskData.name)."""
    title: str
    hub_path: str
    input_field: tuple[str, ...]
    """Where a row holds its input: a column (("article",)), or a column and a key in it (("translation", "en"))."""
    target_field: tuple[str, ...]
    """Where a row holds its reference (a text, or a list of texts: several references)."""
    hub_config: Optional[str] = None
    splits: Mapping[str, str] = field(default_factory=lambda: dict(HUB_SPLITS))
    """Task split -> hub split. Train and test are needed; without validation, part of train is held out."""
    notes: str = ""

    def columns(self) -> tuple[str, ...]:
        """The hub columns the rows are read from (besides an optional `id`)."""
        return tuple(dict.fromkeys((self.input_field[0], self.target_field[0])))

    def layout_help(self) -> str:
        files = ", ".join(f"{hub}.jsonl" for hub in self.splits.values())
        return (f"a folder with one table per hub split ({files}; or .json, .parquet, .csv, .tsv; validation "
                f"optional) whose rows are the hub's: {_field_name(self.input_field)} the input, "
                f"{_field_name(self.target_field)} the reference, optional id")


# ----------------------------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class GenerationSetupConfig:
    """The parameters of a generation task's config that say how it is posed and scored (a harness.GenerationSetup;
    a base class: a task's config sets its own defaults by declaring a field again, and builds its setup with
    `setup()`)."""

    template: str = "{instruction}{input}"
    """The prompt, with the fields {instruction} and {input}."""
    instruction: Optional[str] = None
    """The task's instruction; null: the task's own (translation: "translate English to Romanian: ")."""
    metric: str = "chrf"
    """The headline metric: chrf, bleu, rouge1, rouge2, rougeL, exact_match, accuracy (with choices)."""
    max_new_tokens: int = 32
    """Tokens generated at most; targets are cut to it for training."""
    num_beams: int = 1
    """1: greedy decoding; more: beam search."""
    chat_template: bool = True
    """Wrap prompts in the tokenizer's chat template where it has one (instruction-tuned LLMs)."""

    def __post_init__(self):
        self.setup()  # the template and the metric, checked when the suite is validated

    def default_instruction(self, choices: Sequence[str] = ()) -> str:
        """The instruction when the config gives none."""
        return ""

    def setup(self, choices: Sequence[str] = ()) -> GenerationSetup:
        """The GenerationSetup of the task's examples (`choices`: a classification task's label words); ValueError
        for a bad template, metric or choices."""
        instruction = self.instruction if self.instruction is not None else self.default_instruction(choices)
        return GenerationSetup(template=self.template, instruction=instruction, metric=self.metric,
                               choices=tuple(choices), max_new_tokens=self.max_new_tokens, num_beams=self.num_beams,
                               chat_template=self.chat_template)


@dataclass(frozen=True)
class GenerationTaskConfig(GenerationSetupConfig, TaskSourceConfig):
    """A hub-or-local generation task's parameters: where the data is (harness.TaskSourceConfig) and how the task is
    posed and scored (GenerationSetupConfig). A task plugin's config extends it with `task_source()`."""

    def __post_init__(self):
        TaskSourceConfig.__post_init__(self)
        GenerationSetupConfig.__post_init__(self)

    def task_source(self) -> GenerationTaskSource:
        """The dataset these parameters choose."""
        raise NotImplementedError(f"{type(self).__name__} must define task_source()")


@dataclass(frozen=True)
class TranslationTaskConfig(GenerationTaskConfig):
    """A translation task's parameters: the languages (`source` -> `target`, codes as the hub names them), scored by
    BLEU by default. A plugin's config names the pairs its dataset has (`language_pairs()`)."""

    metric: str = "bleu"
    max_new_tokens: int = 128
    source: str = "en"
    """The language translated from (a code: en, de, ro, ...)."""
    target: str = "ro"
    """The language translated into."""

    def __post_init__(self):
        if self.source == self.target:
            raise ValueError(f"source and target are both {self.source!r}: translate between two languages")
        pairs = self.language_pairs()
        if (self.source, self.target) not in pairs:
            listed = sorted(f"{source}->{target}" for source, target in pairs)
            shown = ", ".join(listed[:40]) + (f", ... ({len(listed)} pairs)" if len(listed) > 40 else "")
            raise ValueError(f"source {self.source!r} and target {self.target!r}: the dataset has no such pair; it "
                             f"has {shown}")
        super().__post_init__()

    def language_pairs(self) -> Collection[tuple[str, str]]:
        """The (source, target) pairs the dataset has."""
        raise NotImplementedError(f"{type(self).__name__} must define language_pairs()")

    def default_instruction(self, choices: Sequence[str] = ()) -> str:
        return f"translate {language_name(self.source)} to {language_name(self.target)}: "


@dataclass(frozen=True)
class SummarisationTaskConfig(GenerationTaskConfig):
    """A summarisation task's parameters, scored by ROUGE-L by default."""

    instruction: Optional[str] = "Summarize: "
    """T5 was trained with "summarize: "; null: none."""
    metric: str = "rougeL"
    max_new_tokens: int = 128


def pairs_with_english(languages: Collection[str]) -> frozenset[tuple[str, str]]:
    """The (source, target) pairs between English and each of `languages`, both ways."""
    return frozenset(pair for language in languages for pair in ((language, "en"), ("en", language)))


def translation_source(name: str, title: str, hub_path: str, hub_config: str, source: str, target: str,
                       notes: str = "") -> GenerationTaskSource:
    """A translation dataset whose rows are `{"translation": {source: ..., target: ...}}` (the hub's Translation
    feature); its task is called `<name>-<source>-<target>`."""
    return GenerationTaskSource(
        name=f"{name}-{source}-{target}", title=f"{title} {language_name(source)} to {language_name(target)}",
        hub_path=hub_path, hub_config=hub_config, input_field=("translation", source),
        target_field=("translation", target), notes=notes)


class GenerationSourceTask:
    """The task of a plugin whose data one GenerationTaskSource describes: the one its config's `task_source()`
    gives. Such a plugin is its config class and `register(name, GenerationSourceTask, config=...)`."""

    task_kind = NAME
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: GenerationTaskConfig):
        self.config = config

    def load(self, env: Any) -> TaskData:
        return load_generation_task(self.config.task_source(), self.config)

    def hub_downloads(self) -> tuple[str, ...]:
        source = self.config.task_source()
        return self.config.hub_downloads_for(source.hub_path, source.hub_config)


# ----------------------------------------------------------------------------------------------- loading


def load_generation_task(source: GenerationTaskSource, config: GenerationTaskConfig) -> TaskData:
    """The task's data from `config.path` (a local folder) or the hub (`config.hub_name`, `config.revision`), posed
    as `config.setup()` says."""
    from harness.tasks.readers import expand_path

    setup = config.setup()
    if config.path is not None:
        found, origin = _local_examples(source, expand_path(config.path), setup)
    else:
        found, origin = _hub_examples(source, config.hub_name or source.hub_path, config.revision, setup)
    notes = [source.title, *(f"{task} = the hub's {hub} split" for task, hub in source.splits.items()
                             if task != hub and task in found), *([source.notes] if source.notes else [])]
    return generation_task(source.name, found, origin, setup, config.validation_fraction, config.split_seed,
                           "; ".join(notes))


def source_examples(source: GenerationTaskSource, raw: RawSplit, split: str,
                    setup: GenerationSetup) -> tuple[GenerationExample, ...]:
    """The examples of one split's hub rows (from a file or the hub), each checked: a row without the input or the
    reference, or with a blank one, is an error naming the file and the line."""
    rows = []
    for index, row in enumerate(raw.rows):
        where = raw.where(index)
        text = _field(row, source.input_field, where)
        if not isinstance(text, str):
            raise HarnessError(f"{where}: the input {_field_name(source.input_field)} is {text!r}, not text")
        rows.append({"id": row.get("id"), "input": text, "target": _field(row, source.target_field, where)})
    return generation_examples(dataclasses.replace(raw, rows=tuple(rows)), split, setup, "input", "target")


def _field_name(path: Sequence[str]) -> str:
    return ".".join(path)


def _field(row: Mapping[str, Any], path: Sequence[str], where: str) -> Any:
    """A row's value at `path`: nested (`row["translation"]["en"]`) or a flattened column (`row["translation.en"]`)."""
    flat = _field_name(path)
    if len(path) > 1 and flat in row:
        return row[flat]
    value: Any = row
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping) or key not in value:
            holder = "the row" if depth == 0 else _field_name(path[:depth])
            has = (", ".join(map(repr, value)) or "nothing") if isinstance(value, Mapping) else repr(value)
            raise HarnessError(f"{where}: no {flat} ({holder} has {has})")
        value = value[key]
    return value


def _local_examples(source: GenerationTaskSource, path: Path,
                    setup: GenerationSetup) -> tuple[dict[str, tuple[GenerationExample, ...]], str]:
    from harness.tasks.readers import read_table

    if not path.is_dir():
        raise HarnessError(f"task {source.name!r}: path {str(path.absolute())!r} is not a folder; expected "
                           f"{source.layout_help()}")
    found = {}
    for task_split, hub_split in source.splits.items():
        files = [path / f"{hub_split}{extension}" for extension in EXTENSIONS
                 if (path / f"{hub_split}{extension}").is_file()]
        if len(files) > 1:
            raise HarnessError(f"task {source.name!r}: {path} has {' and '.join(file.name for file in files)}; keep "
                               f"one file for the {hub_split} split")
        if files:
            try:
                found[task_split] = source_examples(source, read_table(files[0]), task_split, setup)
            except HarnessError as error:
                raise HarnessError(f"task {source.name!r}: {error}") from error
    require_split_files(source.name, path, found, source.layout_help())
    return found, f"local files {path}"


def _hub_examples(source: GenerationTaskSource, hub_name: str, revision: Optional[str],
                  setup: GenerationSetup) -> tuple[dict[str, tuple[GenerationExample, ...]], str]:
    from harness.tasks.hub import hub_splits

    splits, shown = hub_splits(source.name, hub_name, source.hub_config, revision, source.layout_help(),
                               source.splits, source.columns(), f"set hub_name to a dataset with the columns of "
                               f"{source.hub_path}", optional=("validation",))
    found = {}
    for task_split, dataset, origin in splits:
        columns = [column for column in (*source.columns(), "id") if column in dataset.column_names]
        data = dataset.select_columns(columns).to_dict()
        rows = tuple(dict(zip(columns, values)) for values in zip(*(data[column] for column in columns)))
        try:
            found[task_split] = source_examples(source, RawSplit(origin, rows), task_split, setup)
        except HarnessError as error:
            raise HarnessError(f"task {source.name!r}: {error}") from error
    return found, f"the hub: {shown}"
