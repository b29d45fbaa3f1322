"""Task `prompted`: any installed classification task posed as a prompt to a model that writes text (a verbaliser).

`task` names the classification task (sst2, local, snli, ...) and `task_config` holds its own parameters, checked
against its config when the suite is validated, as if it were the suite's task (a relative path in it is relative
to the suite file). Each labelled text becomes a prompt whose reference is its label's word: `choices`, one word
per label in label order (default: the task's label names). The prompt is `template` with {instruction} (default:
"Classify the text as one of: negative, positive.\\n", from the choices) and {input} (the text; a sentence pair's two
texts on two lines). Outputs are read as the choice they start with and scored by `metric` (accuracy). Ids are the
inner task's, so a classifier's records and a prompted model's match example by example.

The inner task must come from an installed plugin (an entry point), as the built-in tasks do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from harness import (
    GenerationSetupConfig,
    HarnessError,
    InnerComponent,
    SequenceClassification,
    StageEnvironment,
    TaskData,
    TextGeneration,
    hookimpl,
    inner_component,
    verbalised_task,
    verbaliser_instruction,
)

SAMPLE_CHOICES = ("negative", "positive")
"""Stand-ins for the label words while the suite is validated: the task's label names are known once it loads."""


@dataclass(frozen=True)
class PromptedConfig(GenerationSetupConfig):
    """A classification task and how it is posed as a prompt."""

    task: str = field(kw_only=True)
    """The classification task to pose (a registered task: sst2, local, snli, ...)."""
    task_config: dict = field(default_factory=dict, kw_only=True)
    """That task's own parameters (what a suite writes under its `use:`), e.g. {train: data/train.csv, test: ...}."""
    choices: tuple[str, ...] = ()
    """The label words, one per label in label order; default: the task's label names."""
    template: str = "{instruction}{input}\nAnswer:"
    metric: str = "accuracy"
    max_new_tokens: int = 8

    def __post_init__(self):
        if not isinstance(self.task, str) or not self.task.strip():
            raise ValueError("task must name a registered classification task (sst2, local, ...)")
        inner = self.inner()
        declared = getattr(inner.factory, "task_kind", SequenceClassification.name)
        if declared != SequenceClassification.name:
            raise ValueError(f"task {self.task!r} loads {declared} data; `prompted` poses a classification task "
                             f"({SequenceClassification.name}) as a prompt")
        object.__setattr__(self, "task_config", inner.params)  # relative paths resolved against the suite file
        self.setup(self.choices or SAMPLE_CHOICES)

    def inner(self) -> InnerComponent:
        """The classification task, its parameters checked (ValueError)."""
        return inner_component("task", self.task, self.task_config, "task_config")

    def default_instruction(self, choices: Sequence[str] = ()) -> str:
        return verbaliser_instruction(choices)


class PromptedTask:
    task_kind = TextGeneration.name
    """The kind of the TaskData it loads: `harness validate` checks the suite against it before any data loads."""

    def __init__(self, config: PromptedConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        data = self._inner_task().load(env)
        if data.kind != SequenceClassification.name:
            raise HarnessError(f"task 'prompted': task {self.config.task!r} loaded {data.kind} data, not "
                               f"{SequenceClassification.name}")
        choices = self.config.choices or data.label_names
        try:
            setup = self.config.setup(choices)
        except ValueError as error:
            raise HarnessError(f"task 'prompted' ({self.config.task!r}): the label words {list(choices)}: "
                               f"{error}") from error
        return verbalised_task(data, setup)

    def hub_downloads(self) -> tuple[str, ...]:
        listed = getattr(self._inner_task(), "hub_downloads", None)
        return tuple(listed()) if callable(listed) else ()

    def _inner_task(self) -> object:
        try:
            return self.config.inner().build()
        except ValueError as error:  # the files changed since the suite was validated
            raise HarnessError(f"task 'prompted': {error}") from error


@hookimpl
def register_tasks(register):
    register("prompted", PromptedTask, config=PromptedConfig,
             description="A classification task (sst2, local, ...) posed as a prompt: label words as references")
