"""Text-generation tasks from rows: local tables (the `local-generation` task) and, through the same function, the
rows of hub datasets.

A row has an input and a target. The input column is the first present of `input`, `prompt`, `source`, `text`,
`document`, `article` (a `prompt` column is a whole prompt: use the template "{input}"), the target column the first
present of `target`, `references`, `reference`, `output`, `summary`, `label`, or the columns named by the task's
config. A target may be a list of texts (several references). A classification task posed as a prompt gives its
label as a label word (one of the setup's `choices`) or as the index of one.

Every split is in the seeded order of harness.tasks.splits.seeded_order; a task without a validation split holds
out `validation_fraction` of train (seeded by `split_seed`). Ids are the rows' `id` column where there is one,
else `<split>-<line>`. A bad row (no input, a blank target, a label that is no choice) is an error naming the file
and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.types import TaskData
from harness.kinds.generation.examples import GenerationExample, GenerationSetup, example_problem

SPLITS = ("train", "validation", "test")
INPUT_COLUMNS = ("input", "prompt", "source", "text", "document", "article")
TARGET_COLUMNS = ("target", "references", "reference", "output", "summary", "label")
EXTENSIONS = (".jsonl", ".json", ".csv", ".tsv", ".parquet")


def _column(row: Mapping[str, Any], wanted: Optional[str], candidates: Sequence[str], what: str, where: str) -> str:
    if wanted is not None:
        if wanted not in row:
            raise HarnessError(f"{where}: no {what} column {wanted!r} (the row has {', '.join(map(repr, row))})")
        return wanted
    for name in candidates:
        if name in row:
            return name
    raise HarnessError(f"{where}: no {what} column: expected one of {', '.join(candidates)} (the row has "
                       f"{', '.join(map(repr, row)) or 'no columns'}); name it with the task's `{what}_column`")


def _references(value: Any, setup: GenerationSetup, where: str) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        references = tuple(value)
    elif setup.choices and isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(setup.choices):
            raise HarnessError(f"{where}: label {value} is not the index of one of the choices {list(setup.choices)}")
        references = (setup.choices[value],)
    elif setup.choices and isinstance(value, str) and value.strip().isdigit() \
            and value.strip().lower() not in {choice.lower() for choice in setup.choices}:
        return _references(int(value), setup, where)
    else:
        references = (value,)
    if not all(isinstance(reference, str) for reference in references):
        raise HarnessError(f"{where}: a target is text or a list of texts, got {value!r}")
    if setup.choices:
        # The label word as the task spells it, whatever the file's case.
        spelled = {choice.lower(): choice for choice in setup.choices}
        references = tuple(spelled.get(reference.strip().lower(), reference) for reference in references)
    return references


def generation_examples(raw: Any, split: str, setup: GenerationSetup, input_column: Optional[str] = None,
                        target_column: Optional[str] = None) -> tuple[GenerationExample, ...]:
    """The examples of one split's rows (a harness.tasks.readers.RawSplit), each checked (see the module
    docstring)."""
    examples = []
    seen: set[str] = set()
    for index, row in enumerate(raw.rows):
        where = raw.where(index)
        source = _column(row, input_column, INPUT_COLUMNS, "input", where)
        target = _column(row, target_column, TARGET_COLUMNS, "target", where)
        identifier = str(row["id"]) if row.get("id") not in (None, "") else f"{split}-{index + 1}"
        if identifier in seen:
            raise HarnessError(f"{where}: id {identifier!r} occurs twice in the {split} split")
        seen.add(identifier)
        text = row[source]
        if not isinstance(text, str):
            raise HarnessError(f"{where}: the input ({source!r}) is {text!r}, not text")
        example = GenerationExample(identifier, text, _references(row[target], setup, where), setup)
        problem = example_problem(example)
        if problem is not None:
            raise HarnessError(f"{where}: {problem}")
        examples.append(example)
    return tuple(examples)


def read_generation_file(path: Path, split: str, setup: GenerationSetup, input_column: Optional[str] = None,
                         target_column: Optional[str] = None) -> tuple[GenerationExample, ...]:
    from harness.tasks.readers import read_table

    if path.suffix.lower() not in EXTENSIONS:
        raise HarnessError(f"{path}: expected a table ({', '.join(EXTENSIONS)})")
    return generation_examples(read_table(path), split, setup, input_column, target_column)


def local_generation_task(name: str, files: Mapping[str, Any], setup: GenerationSetup, validation_fraction: float,
                          split_seed: int, input_column: Optional[str] = None,
                          target_column: Optional[str] = None) -> TaskData:
    """A task from local tables, one per split (`files`: split -> path; validation optional)."""
    from harness.tasks.readers import expand_path

    found = {}
    for split, path in files.items():
        try:
            found[split] = read_generation_file(expand_path(path), split, setup, input_column, target_column)
        except HarnessError as error:
            raise HarnessError(f"task {name!r}: {split} file {error}") from error
    origin = "local files " + ", ".join(f"{split} {path}" for split, path in files.items())
    return generation_task(name, found, origin, setup, validation_fraction, split_seed)


def generation_task(name: str, found: Mapping[str, Sequence[GenerationExample]], origin: str, setup: GenerationSetup,
                    validation_fraction: float, split_seed: int, notes: str = "") -> TaskData:
    """TaskData of text generation from each split's examples: seeded order, a validation split held out of train
    when there is none, ids made unique across the splits."""
    from harness.kinds.generation import NAME
    from harness.tasks.splits import arranged_splits

    splits, remarks = arranged_splits(name, found, origin, validation_fraction, split_seed)
    description = "; ".join([f"text generation ({setup.metric}) from {origin}", *remarks, *([notes] if notes else [])])
    return TaskData(name=name, label_names=(), train=splits["train"],  # type: ignore[arg-type]
                    validation=splits.get("validation", ()), test=splits["test"],  # type: ignore[arg-type]
                    description=description, text_fields=("input",), kind=NAME)
