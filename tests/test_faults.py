"""Faults: a run killed with SIGKILL after a stage, mid-training or mid-attack resumes to exactly the results of an
uninterrupted run, and no stage that had completed runs again; two runs cannot write one run directory; a full
disk or exhausted memory in a stage is that stage's readable failure."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, dump_suite, tiny_suite

from harness import hookimpl
from harness.cli import main
from harness.core.store import RunStore, StageCache, read_run

# Time and memory differ between any two runs, and a resumed attack stage does fewer model forwards (examples
# attacked before the kill come from the per-example cache); everything else must be identical.
MACHINE_DEPENDENT = {"train_seconds", "samples_per_second", "seconds_per_example", "peak_rss_mb", "peak_gpu_memory_mb",
                     "model_forwards"}


def _suite(tmp_path: Path, tiny_model_dir: Path, sst2_files: dict) -> Path:
    # Stages take a second or more on 2 cores, so a poll every 10 ms catches each one in progress.
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path,
                       methods=[{"use": "full", "epochs": 2, "batch_size": 8},
                                {"use": "lora", "epochs": 2, "batch_size": 8}],
                       budgets={"max_attack_examples": 6, "max_explain_examples": 2})
    return dump_suite(suite, tmp_path / "suite.yaml")


def _table(run) -> list[tuple]:
    return [(row.method, row.seed, row.stage, row.component, row.metric, repr(row.value), repr(row.ci_low))
            for row in run.results if row.metric not in MACHINE_DEPENDENT]


def _only_run(output: Path):
    runs = [path for path in (output / "tiny").iterdir() if (path / "manifest.json").exists()]
    assert len(runs) == 1
    return read_run(runs[0])


def _committed(cache: Path) -> set[str]:
    return {path.parent.name for path in cache.glob("*/*/stage.json")}


def _partial(kind: str):
    return lambda cache: any((cache / kind).glob(".*.partial"))


def _after_first_stage(cache: Path) -> bool:
    return len(_committed(cache)) >= 1


@dataclass(frozen=True)
class KillPoint:
    name: str
    reached: object


KILL_POINTS = [
    KillPoint("after-a-stage", _after_first_stage),
    KillPoint("mid-training", _partial("finetune")),
    KillPoint("mid-attack", _partial("attack")),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_model_dir, sst2_files):
    """The uninterrupted run, with a cache of its own."""
    root = tmp_path_factory.mktemp("reference")
    path = _suite(root, tiny_model_dir, sst2_files)
    assert main(["run", str(path), "--no-progress", "--out", str(root / "out"),
                 "--cache-dir", str(root / "cache")]) == 0
    return _only_run(root / "out")


@pytest.mark.textattack
@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda point: point.name)
def test_sigkill_then_resume_equals_an_uninterrupted_run(point, reference, tmp_path, tiny_model_dir, sst2_files):
    path = _suite(tmp_path, tiny_model_dir, sst2_files)
    cache = tmp_path / "cache"
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", str(path), "--no-progress", "--out",
                                str(tmp_path / "killed"), "--cache-dir", str(cache)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not point.reached(cache):
        if process.poll() is not None:
            pytest.fail(f"the run ended before reaching {point.name}: {process.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, f"{point.name} not reached in 300 s"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    finished_before_kill = _committed(cache)

    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "resumed"), "--cache-dir", str(cache)]) == 0
    resumed = _only_run(tmp_path / "resumed")
    assert _table(resumed) == _table(reference)
    for stage in resumed.stages:
        if stage.kind in ("task", "report"):
            continue  # not cached by design: cheap, and always redone
        expected = "cached" if stage.key in finished_before_kill else "computed"
        assert stage.status == expected, f"{stage.stage_id} was {stage.status} after the kill ({point.name})"
    # The killed process's half-built stage was cleared away, and nothing half-written is left.
    assert not list(cache.glob("*/.*.partial"))
    assert all(stage_json.stat().st_size > 0 for stage_json in cache.glob("*/*/stage.json"))


@pytest.mark.textattack
def test_two_runs_cannot_write_one_run_directory(tmp_path, tiny_model_dir, sst2_files, capsys):
    path = _suite(tmp_path, tiny_model_dir, sst2_files)
    holder = RunStore(tmp_path / "out" / "tiny" / "same-id", lock=True)  # a run in progress
    try:
        assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "out"), "--run-id", "same-id"]) == 2
        error = capsys.readouterr().err
        assert "is being written by harness run (pid" in error and "--run-id" in error
    finally:
        holder.close()
    assert not list((tmp_path / "out" / "tiny" / "same-id").glob("stages.jsonl"))  # nothing was written


def test_a_killed_runs_lock_does_not_block_the_next(tmp_path):
    run_dir = tmp_path / "run"
    code = (f"from harness.core.store import RunStore; import os; RunStore({str(run_dir)!r}, lock=True); "
            f"os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", code], cwd=REPO)
    assert (run_dir / ".lock").exists()
    RunStore(run_dir, lock=True).close()  # the operating system released the dead process's lock


def test_partial_stages_of_live_processes_are_not_removed(tmp_path):
    cache = StageCache(tmp_path / "cache")
    mine = cache.begin("finetune", "k1")  # this (live) process is building it
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = mine.with_name(mine.name.replace(f".{os.getpid()}.", f".{dead.stdout.strip()}."))
    abandoned.mkdir()
    assert cache.remove_abandoned() == 1
    assert mine.exists() and not abandoned.exists()


class ResourceExhaustion:
    """Finetuners that fail the way a full disk or exhausted memory does."""

    @hookimpl
    def register_finetuners(self, register):
        def disk_full(config):
            class DiskFull:
                def train(self, request):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC),
                                  str(request.output_dir / "model.safetensors"))
            return DiskFull()

        def out_of_memory(config):
            class OutOfMemory:
                def train(self, request):
                    raise MemoryError()
            return OutOfMemory()

        register("disk-full", disk_full)
        register("out-of-memory", out_of_memory)


@pytest.mark.textattack
def test_disk_full_and_out_of_memory_are_readable_stage_failures(tmp_path, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, methods=["disk-full", "out-of-memory", "lora"],
                       explainers=[], budgets={"max_attack_examples": 2})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[ResourceExhaustion()]) == 3
    run = _only_run(tmp_path)
    errors = {stage.stage_id: stage.error for stage in run.stages if stage.status == "error"}
    assert errors["disk-full/seed0/finetune"].startswith("disk full while writing ")
    assert "model.safetensors" in errors["disk-full/seed0/finetune"]
    assert errors["out-of-memory/seed0/finetune"].startswith("out of memory: lower the method's batch_size")
    # The other method's stages all finished and were stored.
    assert {stage.status for stage in run.stages if stage.method == "lora"} == {"computed"}
    assert "Traceback" not in capsys.readouterr().err
