"""A run's manifest.json: what was run (the suite as written, its models and cells), where, with which libraries
and code, and when; written when the run starts, completed when it ends."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from harness.core.suite import Suite
from harness.core.types import CellJob

LIBRARIES = ("nlp-robustness-harness", "torch", "transformers", "peft", "textattack", "captum", "datasets",
             "tokenizers", "numpy")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run_manifest(suite: Suite, run_id: str, device: str, libraries: dict[str, str], cache_dir: Path,
                 artifacts: Optional[str], baseline: Optional[Path], cells: Sequence[CellJob]) -> dict[str, Any]:
    """The manifest of a run starting now; `cells` name its methods in cell order ("model / method" in a suite
    of several models)."""
    import torch

    return {
        "run_id": run_id,
        "suite": suite.name,
        "suite_path": str(suite.path),
        "suite_document": suite.document,
        "description": suite.description,
        "task": suite.task.label,
        "model": suite.model.name,
        "model_location": suite.model.source.location,
        "models": [{"name": model.name, "location": model.source.location, "as_is": model.as_is}
                   for model in suite.models],
        "methods": list(dict.fromkeys(cell.method for cell in cells)),
        "attacks": [attack.label for attack in suite.attacks],
        "explainers": [explainer.label for explainer in suite.explainers],
        "seeds": list(suite.seeds),
        "train_sizes": list(suite.train_sizes),
        "budgets": dataclasses.asdict(suite.budgets),
        "started_at": now(),
        "device": device,
        "device_name": (torch.cuda.get_device_name(0) if device.startswith("cuda")
                        else platform.processor() or platform.machine()),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": libraries,
        "git_sha": git_sha(suite.path.parent),
        "cache_dir": str(cache_dir),
        "artifacts": artifacts,
        "baseline": str(baseline) if baseline is not None else None,
        "command": sys.argv,
    }


def git_sha(directory: Path) -> Optional[str]:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
