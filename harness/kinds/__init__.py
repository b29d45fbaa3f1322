"""Task kinds: what differs between kinds of task (harness.kinds.base.TaskKind), one subpackage per built-in kind
(sequence: classification of texts and sentence pairs; token: named-entity recognition; qa: extractive question
answering; generation: text generation).

A run finds its kind in the registry (hook `register_task_kinds`) by `TaskData.kind`. Code that has no registry at
hand (a finetuner calling `load_base_classifier(kind=request.data.kind)`, `fit` called on bare examples) resolves
the built-in kinds here; third-party kinds reach it as objects (`TrainRequest.task_kind`).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from harness.core.errors import HarnessError
from harness.kinds.base import ReportView, StageContext, StageSpec, TaskKind, TrainingEncoding
from harness.kinds.generation import TextGeneration
from harness.kinds.qa import ExtractiveQA
from harness.kinds.sequence import SequenceClassification
from harness.kinds.token import TokenClassification

BUILTIN_KINDS: tuple[type[TaskKind], ...] = (SequenceClassification, TokenClassification, ExtractiveQA,
                                              TextGeneration)
DEFAULT_KIND = SequenceClassification


def builtin_kind(name: str) -> TaskKind:
    for kind in BUILTIN_KINDS:
        if kind.name == name:
            return kind()
    raise HarnessError(f"unknown task kind {name!r}; the built-in kinds are "
                       f"{', '.join(repr(kind.name) for kind in BUILTIN_KINDS)} (a plugin's kind is resolved through "
                       f"the registry: pass TrainRequest.task_kind)")


def resolve_kind(kind: Union[str, TaskKind, None], examples: Optional[Sequence[Any]] = None) -> TaskKind:
    """A TaskKind as it is, a built-in kind by name, or (None) the built-in kind of `examples` (the default kind
    when there are none)."""
    if isinstance(kind, TaskKind):
        return kind
    if kind is not None:
        return builtin_kind(kind)
    if examples:
        for candidate in BUILTIN_KINDS:
            if isinstance(examples[0], candidate.example_type):
                return candidate()
    return DEFAULT_KIND()


__all__ = ["BUILTIN_KINDS", "ExtractiveQA", "ReportView", "SequenceClassification", "StageContext", "StageSpec",
           "TaskKind", "TextGeneration", "TokenClassification", "TrainingEncoding", "builtin_kind", "resolve_kind"]
