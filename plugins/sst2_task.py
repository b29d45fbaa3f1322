"""Task `sst2`: SST-2 (GLUE): binary sentiment of movie-review sentences and phrases.

From the Hugging Face hub (nyu-mll/glue, config sst2) by default, or from a local copy with `path:` (see
docs/tasks.md for the layouts). GLUE's test labels are not public, so the task's test split is GLUE's
validation split, and its validation split is held out of GLUE's train split (`validation_fraction`, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TaskSourceConfig, glue_source, hookimpl, source_task


@dataclass(frozen=True)
class Sst2Config(TaskSourceConfig):
    """Where the sst2 data comes from: `path` (local GLUE files) or the hub; how validation is held out."""


SOURCE = glue_source("sst2")


@hookimpl
def register_tasks(register):
    register("sst2", source_task(SOURCE), config=Sst2Config,
             description="SST-2 (GLUE): binary sentiment of movie-review sentences"
                         "; hub nyu-mll/glue, or local GLUE files (path:)")
