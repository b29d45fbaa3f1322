"""Task `qnli`: QNLI (GLUE): question-answering entailment on (question, sentence) pairs.

From the Hugging Face hub (nyu-mll/glue, config qnli) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's
validation split, and its validation split is held out of GLUE's train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSourceConfig, glue_source, hookimpl, source_task


@dataclass(frozen=True)
class QnliConfig(TaskSourceConfig):
    """Where the qnli data comes from: `path` (local GLUE files) or the hub; how validation is held out."""


SOURCE = glue_source("qnli")


@hookimpl
def register_tasks(register):
    register("qnli", source_task(SOURCE), config=QnliConfig,
             description="QNLI (GLUE): does the sentence answer the question? (pairs)"
                         "; hub nyu-mll/glue, or local GLUE files (path:)")
