"""Task `local-generation`: text generation from local tables, one per split.

Each file is a table (`.jsonl`, `.json`, `.csv`, `.tsv`, `.parquet`) with an input column (`input`, `prompt`,
`source`, `text`, `document` or `article`, or `input_column`) and a target column (`target`, `references`,
`reference`, `output`, `summary` or `label`, or `target_column`; a list of texts is several references), optional
`id`. How the task is posed: `template` with {instruction} and {input}, `instruction`; how it is scored: `metric`
(the headline: chrf, bleu, rouge1, rouge2, rougeL, exact_match, or accuracy with `choices`, the label words of a
classification task posed as a prompt). The files are read and every row checked when the suite is validated (and
again when the task loads): a bad row is an error naming the file and the line. Without a validation file,
`validation_fraction` of train is held out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from harness import (
    GenerationSetup,
    HarnessError,
    StageEnvironment,
    SuitePath,
    TaskData,
    TextGeneration,
    check_path,
    expand_path,
    hookimpl,
    local_generation_task,
    read_generation_file,
)

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class LocalGenerationConfig:
    """Generation tables, one per split, and how the task is posed and scored."""

    train: SuitePath
    """Training file ($VARS and ~ expanded; a relative path is relative to the suite file)."""
    test: SuitePath
    validation: Optional[SuitePath] = None
    """Optional; without it `validation_fraction` of train is held out."""
    template: str = "{instruction}{input}"
    """The prompt, with the fields {instruction} and {input}."""
    instruction: str = ""
    metric: str = "chrf"
    """The headline metric: chrf, bleu, rouge1, rouge2, rougeL, exact_match, accuracy (needs choices)."""
    choices: tuple[str, ...] = ()
    """A classification task posed as a prompt: the label words, in label order (a numeric label indexes them)."""
    max_new_tokens: int = 32
    num_beams: int = 1
    chat_template: bool = True
    """Wrap prompts in the tokenizer's chat template where it has one (instruction-tuned LLMs)."""
    input_column: Optional[str] = None
    target_column: Optional[str] = None
    validation_fraction: float = 0.1
    split_seed: int = 0
    name: str = "local-generation"

    def __post_init__(self):
        if not 0 <= self.validation_fraction < 1:  # also rejects NaN
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if not self.name.strip():
            raise ValueError("name must not be empty")
        setup = self.setup()  # the template, metric and choices, before the files
        for split in SPLITS:
            path = getattr(self, split)
            if path is None:
                continue
            check_path(path, f"{split} file", want_file=True)
            try:  # the data itself: `harness validate` reports a bad row before anything runs
                read_generation_file(expand_path(path), split, setup, self.input_column, self.target_column)
            except HarnessError as error:
                raise ValueError(f"{split} file {error}") from error

    def setup(self) -> GenerationSetup:
        return GenerationSetup(template=self.template, instruction=self.instruction, metric=self.metric,
                               choices=tuple(self.choices), max_new_tokens=self.max_new_tokens,
                               num_beams=self.num_beams, chat_template=self.chat_template)

    def files(self) -> dict[str, str]:
        return {split: getattr(self, split) for split in SPLITS if getattr(self, split) is not None}


class LocalGenerationTask:
    task_kind = TextGeneration.name
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: LocalGenerationConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        # Read again: the files may have changed since the suite was validated.
        return local_generation_task(self.config.name, self.config.files(), self.config.setup(),
                                     self.config.validation_fraction, self.config.split_seed,
                                     self.config.input_column, self.config.target_column)


@hookimpl
def register_tasks(register):
    register("local-generation", LocalGenerationTask, config=LocalGenerationConfig,
             description="Text generation (translation, summarisation, prompted classification) from local tables")
