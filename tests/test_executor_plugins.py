"""Executors are plugins: a third-party executor that computes cells out of order through `plan.compute_cell`
gives the local results table; an executor that drops or crashes on cells gets them recorded as failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

from harness import ExecutionPlan, hookimpl
from harness.cli import main
from harness.core.store import read_run

pytestmark = pytest.mark.textattack  # the suites attack with deepwordbug (conftest.tiny_suite)

MACHINE_DEPENDENT = {"train_seconds", "samples_per_second", "seconds_per_example", "peak_rss_mb", "peak_gpu_memory_mb"}


class ReversedExecutor:
    """Computes the cells last to first, as a pool of workers finishing out of order would."""

    def run(self, plan: ExecutionPlan) -> None:
        for cell in reversed(plan.cells):
            plan.record(plan.compute_cell(cell))


class DroppingExecutor:
    def run(self, plan: ExecutionPlan) -> None:
        plan.run_in_process(plan.cells[0])  # and forgets the others


class CrashingExecutor:
    def run(self, plan: ExecutionPlan) -> None:
        plan.run_in_process(plan.cells[0])
        raise RuntimeError("lost contact with the scheduler")


class ExecutorPlugin:
    @hookimpl
    def register_executors(self, register):
        register("reversed", ReversedExecutor, description="cells last to first")
        register("dropping", DroppingExecutor)
        register("crashing", CrashingExecutor)


def _run_dir(output: Path) -> Path:
    (run_dir,) = [path for path in (output / "tiny").iterdir() if (path / "manifest.json").exists()]
    return run_dir


def _suite(tmp_path, tiny_model_dir, sst2_files) -> Path:
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, seeds=[0, 1], explainers=[],
                       budgets={"max_attack_examples": 2})
    return dump_suite(suite, tmp_path / "suite.yaml")


def test_a_third_party_executor_gives_the_local_table_in_cell_order(tmp_path, tiny_model_dir, sst2_files):
    path = _suite(tmp_path, tiny_model_dir, sst2_files)
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "local")]) == 0
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "reversed"), "--executor", "reversed",
                 "--cache-dir", str(tmp_path / "other-cache")], extra_plugins=[ExecutorPlugin()]) == 0
    local, reversed_run = read_run(_run_dir(tmp_path / "local")), read_run(_run_dir(tmp_path / "reversed"))
    assert [stage.stage_id for stage in local.stages] == [stage.stage_id for stage in reversed_run.stages]
    assert {stage.status for stage in reversed_run.stages if stage.kind not in ("task", "report")} == {"computed"}

    def table(run):
        return [(r.stage, r.metric, repr(round(r.value, 5))) for r in run.results if r.metric not in MACHINE_DEPENDENT]

    assert table(local) == table(reversed_run)


def test_cells_an_executor_drops_or_crashes_on_are_recorded_as_failed(tmp_path, tiny_model_dir, sst2_files, capsys):
    path = _suite(tmp_path, tiny_model_dir, sst2_files)
    for name, message in (("dropping", "returned without computing this cell"),
                          ("crashing", "executor 'crashing' crashed: RuntimeError: lost contact with the scheduler")):
        output = tmp_path / name
        assert main(["run", str(path), "--no-progress", "--out", str(output), "--executor", name],
                    extra_plugins=[ExecutorPlugin()]) == 3
        run = read_run(_run_dir(output))
        failed = {stage.stage_id: stage.error for stage in run.stages if stage.status == "error"}
        assert set(failed) == {"lora/seed0/cell", "full/seed1/cell", "lora/seed1/cell"}
        assert all(message in error for error in failed.values())
        # The cell the executor did compute is stored whole, and the reports were still written.
        assert any(stage.stage_id == "full/seed0/attack/deepwordbug" and stage.status != "error"
                   for stage in run.stages)
        assert (run.run_dir / "scorecard.html").exists()


def test_executor_names_and_options_are_checked_before_anything_runs(tmp_path, tiny_model_dir, sst2_files, capsys):
    path = _suite(tmp_path, tiny_model_dir, sst2_files)
    assert main(["run", str(path), "--no-progress", "--executor", "rya"]) == 2
    assert "unknown executor 'rya'; did you mean 'ray'?" in capsys.readouterr().err
    assert main(["run", str(path), "--no-progress", "--executor", "ray", "--executor-option", "num_gpu=1"]) == 2
    assert "did you mean 'num_gpus'?" in capsys.readouterr().err
    assert main(["run", str(path), "--no-progress", "--executor", "ray", "--executor-option", "max_retries=-1"]) == 2
    assert "max_retries must not be negative" in capsys.readouterr().err
    assert main(["run", str(path), "--no-progress", "--num-gpus", "1"]) == 2
    assert "add --executor ray" in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()
