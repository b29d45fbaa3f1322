"""Reporter `json`: results.json, the whole run in one machine-readable, versioned document."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from harness import SCHEMA_VERSION, ReportRequest, hookimpl


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


class JsonReporter:
    def __init__(self, config=None):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text

        run = request.run
        document = {
            "schema_version": SCHEMA_VERSION,
            "manifest": dict(run.manifest),
            "results": [dataclasses.asdict(row) for row in run.results],
            "stages": [dataclasses.asdict(stage) for stage in run.stages],
            "gates": [dataclasses.asdict(gate) for gate in run.gates],
        }
        path = request.output_dir / "results.json"
        atomic_write_text(path, json.dumps(_clean(document), indent=2) + "\n")
        return [path]


@hookimpl
def register_reporters(register):
    register("json", JsonReporter, description="results.json: manifest, results table, stages and gates")
