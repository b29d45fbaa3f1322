"""Task `mnli`: MultiNLI (GLUE): (premise, hypothesis) pairs labelled entailment, neutral or contradiction.

From the Hugging Face hub (nyu-mll/glue, config mnli) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's matched
(or, with `test_set: mismatched`, mismatched) validation split, and its validation split is held out of GLUE's
train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness import StageEnvironment, TaskData, TaskSourceConfig, glue_source, hookimpl, load_task


@dataclass(frozen=True)
class MnliConfig(TaskSourceConfig):
    """Where the MNLI data comes from: `path` (local GLUE files) or the hub; which test set; the hold-out."""

    test_set: Literal["matched", "mismatched"] = "matched"
    """The test split: GLUE's validation_matched (genres seen in training) or validation_mismatched (unseen)."""


class MnliTask:
    def __init__(self, config: MnliConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        return load_task(glue_source("mnli", mismatched=self.config.test_set == "mismatched"), self.config)


@hookimpl
def register_tasks(register):
    register("mnli", MnliTask, config=MnliConfig,
             description="MultiNLI (GLUE): 3-way entailment on (premise, hypothesis) pairs; hub nyu-mll/glue, "
                         "or local GLUE files (path:)")
