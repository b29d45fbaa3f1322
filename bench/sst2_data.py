"""SST-2 for the benchmarks, loaded by the harness's own `sst2` task: from the hub, or from a local copy (--data).

Every bench takes `--data DIR`: a folder with GLUE's SST-2 files (train.tsv, dev.tsv) or the re-split layout
docs/tasks.md describes; without it the data comes from the Hugging Face Hub (nyu-mll/glue, sst2). Offline and
without --data, the bench stops with the task's error, which says what to give instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help="a local copy of GLUE SST-2 (default: the Hugging Face Hub, "
                                                      "nyu-mll/glue)")


def load_sst2(data: Optional[str]) -> Any:
    """The sst2 task's TaskData: train (GLUE train less a seeded 10% hold-out), validation, test (GLUE dev, 872),
    each in the task's seeded order; or exit with the task's own error (no hub, no such folder)."""
    from harness.core.errors import HarnessError
    from harness.tasks.sources import TaskSourceConfig, glue_source, load_task

    try:
        return load_task(glue_source("sst2"), TaskSourceConfig(path=os.path.abspath(data) if data else None))
    except (HarnessError, ValueError) as error:
        sys.exit(f"error: {error}" + ("" if data else "\n(offline? give a local copy with --data DIR)"))
