"""Task `qnli`: QNLI (GLUE): question-answering entailment on (question, sentence) pairs.

From the Hugging Face hub (nyu-mll/glue, config qnli) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's
validation split, and its validation split is held out of GLUE's train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import StageEnvironment, TaskData, TaskSourceConfig, glue_source, hookimpl, load_task


@dataclass(frozen=True)
class QnliConfig(TaskSourceConfig):
    """Where the qnli data comes from: `path` (local GLUE files) or the hub; how validation is held out."""


class QnliTask:
    def __init__(self, config: QnliConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_task(glue_source("qnli"), self.config)


@hookimpl
def register_tasks(register):
    register("qnli", QnliTask, config=QnliConfig,
             description="QNLI (GLUE): does the sentence answer the question? (pairs)"
                         "; hub nyu-mll/glue, or local GLUE files (path:)")
