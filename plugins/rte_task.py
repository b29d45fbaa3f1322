"""Task `rte`: RTE (GLUE): textual entailment on (sentence1, sentence2) pairs.

From the Hugging Face hub (nyu-mll/glue, config rte) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's
validation split, and its validation split is held out of GLUE's train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSourceConfig, glue_source, hookimpl, source_task


@dataclass(frozen=True)
class RteConfig(TaskSourceConfig):
    """Where the rte data comes from: `path` (local GLUE files) or the hub; how validation is held out."""


SOURCE = glue_source("rte")


@hookimpl
def register_tasks(register):
    register("rte", source_task(SOURCE), config=RteConfig,
             description="RTE (GLUE): textual entailment (pairs)"
                         "; hub nyu-mll/glue, or local GLUE files (path:)")
