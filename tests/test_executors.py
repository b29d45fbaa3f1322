"""The Ray executor on a local Ray instance (2 CPUs): the same results table as the local executor, and a cell
whose worker process is killed is retried, or recorded as failed without losing what other cells stored."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.store import read_run

pytest.importorskip("ray")

# Measurements of time and memory differ between any two runs; everything else must match exactly.
MACHINE_DEPENDENT = {"train_seconds", "samples_per_second", "seconds_per_example", "peak_rss_mb", "peak_gpu_memory_mb",
                     "model_forwards", "adversarial_seconds"}

# A finetuner that kills its own worker process, the way an out-of-memory kill or a lost node ends a task.
DYING_PLUGIN = textwrap.dedent('''
    import os
    from dataclasses import dataclass
    from pathlib import Path

    from harness import TrainingSettings, hookimpl


    @dataclass(frozen=True)
    class DyingConfig(TrainingSettings):
        marker: str = ""
        """Dies when this file does not exist yet (creating it), so the retry succeeds; empty: dies every time."""


    class DyingFinetuner:
        def __init__(self, config):
            self.config = config

        def train(self, request):
            from harness import load_base_classifier, train_and_save

            if not self.config.marker or not Path(self.config.marker).exists():
                if self.config.marker:
                    Path(self.config.marker).touch()
                os._exit(17)
            model, tokenizer = load_base_classifier(request.base, request.data.label_names)
            return train_and_save(model, tokenizer, request, self.config, is_adapter=False)


    @hookimpl
    def register_finetuners(register):
        register("dies-once", DyingFinetuner, config=DyingConfig)
''')


def table(run_dir: Path) -> dict[tuple, float]:
    return {(row.method, row.seed, row.stage, row.component, row.metric): row.value
            for row in read_run(run_dir).results if row.metric not in MACHINE_DEPENDENT}


def only_run(output: Path) -> Path:
    (run_dir,) = [path for path in (output / "tiny").iterdir() if (path / "manifest.json").exists()]
    return run_dir


@pytest.mark.textattack
def test_ray_executor_gives_the_local_results_table(tmp_path, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, seeds=[0, 1],
                       perturbations=[{"use": "keyboard-typos"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 8}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "local")]) == 0
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "ray"), "--executor", "ray",
                 "--num-cpus", "1"]) == 0
    local, ray_run = table(only_run(tmp_path / "local")), table(only_run(tmp_path / "ray"))
    assert local.keys() == ray_run.keys() and len(local) > 50
    # Ray gives each task its CPU count as the thread count, which reorders float sums: numerical noise only.
    different = {key: (local[key], ray_run[key]) for key in local
                 if not (math.isclose(local[key], ray_run[key], rel_tol=1e-4, abs_tol=1e-6)
                         or (math.isnan(local[key]) and math.isnan(ray_run[key])))}
    assert different == {}
    identical = sum(local[key] == ray_run[key] or (math.isnan(local[key]) and math.isnan(ray_run[key]))
                    for key in local if key[2] in ("evaluate", "attack", "perturb"))
    assert identical == sum(1 for key in local if key[2] in ("evaluate", "attack", "perturb"))
    # The driver alone wrote the store, in the local run's order.
    order = [stage["stage_id"] for stage in read_jsonl(only_run(tmp_path / "local") / "stages.jsonl")]
    assert [stage["stage_id"] for stage in read_jsonl(only_run(tmp_path / "ray") / "stages.jsonl")] == order
    assert read_run(only_run(tmp_path / "ray")).manifest["methods"] == ["full", "lora"]


def test_a_killed_cell_is_retried_or_recorded_without_losing_other_cells(tmp_path, tiny_model_dir, sst2_files,
                                                                         monkeypatch, capsys):
    (tmp_path / "dying_plugin.py").write_text(DYING_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    marker = tmp_path / "died-once"
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "retried", attacks=[], explainers=[],
                       methods=[{"use": "dies-once", "epochs": 1, "marker": str(marker)}, {"use": "full", "epochs": 1}])
    path = dump_suite(suite, tmp_path / "retried.yaml")
    arguments = ["--plugin", "dying_plugin", "run", str(path), "--no-progress", "--executor", "ray",
                 "--max-retries", "2"]
    assert main(arguments) == 0
    assert marker.exists()  # the first attempt died; Ray ran the cell again and it finished
    records = read_jsonl(only_run(tmp_path / "retried") / "stages.jsonl")
    stages = {stage["stage_id"]: stage["status"] for stage in records}
    assert stages["dies-once/seed0/finetune"] == "computed" and stages["full/seed0/evaluate"] == "computed"

    always = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "failed", attacks=[], explainers=[],
                        methods=[{"use": "dies-once", "epochs": 1}, {"use": "full", "epochs": 1}])
    path = dump_suite(always, tmp_path / "failed.yaml")
    assert main(["--plugin", "dying_plugin", "run", str(path), "--no-progress", "--executor", "ray",
                 "--max-retries", "1"]) == 3
    run_dir = only_run(tmp_path / "failed")
    stages = {stage["stage_id"]: stage for stage in read_jsonl(run_dir / "stages.jsonl")}
    assert stages["dies-once/seed0/cell"]["status"] == "error"
    assert "failed after 1 retries" in stages["dies-once/seed0/cell"]["error"]
    assert stages["full/seed0/evaluate"]["status"] == "computed"  # the other cell's results are all there
    assert any(row.method == "full" and row.metric == "accuracy" for row in read_run(run_dir).results)
    # Resuming: the finished cell comes from the stage cache.
    assert main(["--plugin", "dying_plugin", "run", str(path), "--no-progress", "--executor", "ray",
                 "--max-retries", "0"]) == 3
    latest = max((tmp_path / "failed" / "tiny").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    stages = {stage["stage_id"]: stage["status"] for stage in read_jsonl(latest / "stages.jsonl")}
    assert stages["full/seed0/finetune"] == "cached"


@pytest.mark.textattack
def test_executor_options_are_checked(tmp_path, tiny_model_dir, sst2_files, capsys):
    path = dump_suite(tiny_suite(tiny_model_dir, sst2_files, tmp_path), tmp_path / "suite.yaml")
    assert main(["run", str(path), "--num-gpus", "1"]) == 2
    assert "is a Ray option; add --executor ray" in capsys.readouterr().err


def test_ray_refuses_plugins_it_cannot_ship(tmp_path, tiny_model_dir, sst2_files, capsys):
    from harness import hookimpl

    class InProcess:
        @hookimpl
        def register_attacks(self, register):
            pass

    path = dump_suite(tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=[], explainers=[]),
                      tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--executor", "ray"], extra_plugins=[InProcess()]) == 2
    assert "--plugin MODULE" in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()  # refused before anything ran
