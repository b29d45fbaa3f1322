"""Task `qqp`: QQP (GLUE): are two Quora questions duplicates? Pairs of (question1, question2).

From the Hugging Face hub (nyu-mll/glue, config qqp) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's
validation split, and its validation split is held out of GLUE's train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSourceConfig, glue_source, hookimpl, source_task


@dataclass(frozen=True)
class QqpConfig(TaskSourceConfig):
    """Where the qqp data comes from: `path` (local GLUE files) or the hub; how validation is held out."""


SOURCE = glue_source("qqp")


@hookimpl
def register_tasks(register):
    register("qqp", source_task(SOURCE), config=QqpConfig,
             description="QQP (GLUE): are two Quora questions duplicates? (pairs)"
                         "; hub nyu-mll/glue, or local GLUE files (path:)")
