"""The runner end to end on a tiny real model: stages, cache, resume after a kill, errors, gates, store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import dump_suite, tiny_suite

from harness import AttackOutcome, AttackRecord, hookimpl
from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.store import read_run


@dataclass(frozen=True)
class UpperCaseConfig:
    fail: bool = False


class UpperCaseAttack:
    """A third-party attack defined here: upper-cases the text; succeeds if the prediction changes."""

    def __init__(self, config: UpperCaseConfig):
        self.config = config

    def attack(self, classifier, examples, env):
        if self.config.fail:
            raise RuntimeError("attack crashed on purpose")
        texts = [example.text for example in examples]
        shouted = [text.upper() for text in texts]
        before = classifier.predictor.probabilities(texts)
        after = classifier.predictor.probabilities(shouted)
        records = []
        for example, shout, p, q in zip(examples, shouted, before, after):
            original, perturbed = int(p.argmax()), int(q.argmax())
            status = "skipped" if original != example.label else ("successful" if perturbed != original else "failed")
            records.append(AttackRecord(example.id, example.text, shout, example.label, original, perturbed,
                                        float(p.max()), float(q.max()), status, 2, len(example.text.split()),
                                        len(example.text.split()), 0.0))
        return AttackOutcome(tuple(records))


class Shout:
    """A third-party augmenter: upper-cases every text (a perturbation the model should be invariant to)."""

    def __init__(self, config):
        pass

    def augment(self, texts, env):
        return [text.upper() for text in texts]


class UpperCasePlugin:
    name = "uppercase-plugin"

    def __init__(self):
        self.events = []

    @hookimpl
    def register_attacks(self, register):
        register("uppercase", UpperCaseAttack, config=UpperCaseConfig)

    @hookimpl
    def register_augmenters(self, register):
        register("shout", Shout)

    @hookimpl
    def before_suite(self, suite, run_dir):
        self.events.append(("before_suite", suite.name))

    @hookimpl
    def after_stage(self, stage, results):
        self.events.append(("after_stage", stage.stage_id))

    @hookimpl
    def on_stage_error(self, stage, error):
        self.events.append(("on_stage_error", stage.stage_id))

    @hookimpl
    def after_suite(self, run):
        self.events.append(("after_suite", len(run.stages)))


def run_suite(suite_path: Path, *extra_args: str, plugins=()) -> int:
    return main(["run", str(suite_path), "--no-progress", *extra_args], extra_plugins=plugins)


def latest_run(output: Path, suite: str = "tiny") -> Path:
    # Run ids have one-second resolution; two runs in the same second are told apart by when they wrote last.
    runs = [path for path in (output / suite).iterdir() if (path / "manifest.json").exists()]
    return max(runs, key=lambda path: (path / "manifest.json").stat().st_mtime_ns)


def statuses(run_dir: Path) -> dict[str, str]:
    return {stage["stage_id"]: stage["status"] for stage in read_jsonl(run_dir / "stages.jsonl")}


@pytest.fixture
def output(tmp_path) -> Path:
    return tmp_path / "reports"


@pytest.mark.textattack
def test_full_suite_runs_and_rerun_recomputes_nothing(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output,
                       attacks=[{"use": "deepwordbug"}, {"use": "uppercase"}],
                       gates=[{"metric": "accuracy", "stage": "evaluate", "op": ">=", "threshold": 0.0}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path, plugins=[UpperCasePlugin()]) == 0, capsys.readouterr().err
    first = latest_run(output)
    assert "scorecard:" in capsys.readouterr().out
    first_statuses = statuses(first)
    for method in ("full", "lora"):
        for stage in ("finetune", "evaluate", "attack/deepwordbug", "attack/uppercase", "explain/integrated-gradients"):
            assert first_statuses[f"{method}/seed0/{stage}"] == "computed"

    results = pd.read_csv(first / "results.csv")
    accuracy = results[(results.stage == "evaluate") & (results.metric == "accuracy")]
    assert sorted(accuracy.method) == ["full", "lora"]
    assert accuracy.ci_low.notna().all() and (accuracy.ci_low <= accuracy.value).all()
    lora = results[(results.method == "lora") & (results.stage == "finetune")].set_index("metric").value
    full = results[(results.method == "full") & (results.stage == "finetune")].set_index("metric").value
    assert lora["trainable_parameters"] < full["trainable_parameters"]
    attack_rows = results[(results.stage == "attack") & (results.component == "uppercase")]
    assert {"accuracy_under_attack", "attack_success_rate", "mean_queries"} <= set(attack_rows.metric)

    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["libraries"]["torch"] and manifest["seeds"] == [0] and manifest["device"] == "cpu"
    assert (first / "scorecard.html").exists() and (first / "results.json").exists()
    attack_records = read_jsonl(first / "records" / "full_seed0_attack_deepwordbug.attack.jsonl")
    assert len(attack_records) == 3 and {"original_text", "perturbed_text", "num_queries"} <= set(attack_records[0])
    attributions = read_jsonl(first / "records" / "full_seed0_explain_integrated-gradients.attributions.jsonl")
    assert len(attributions) == 3 and len(attributions[0]["words"]) == len(attributions[0]["scores"])

    # The models are saved in Hugging Face format: full weights as safetensors, LoRA as a PEFT adapter.
    cache = Path(manifest["cache_dir"])
    assert list(cache.glob("finetune/*/model/model.safetensors"))
    assert list(cache.glob("finetune/*/model/adapter_model.safetensors"))

    assert run_suite(path, plugins=[UpperCasePlugin()]) == 0
    second = latest_run(output)
    assert second != first
    rerun = statuses(second)
    recomputed = [stage for stage, status in rerun.items()
                  if status == "computed" and not stage.startswith(("task", "report/"))]
    assert recomputed == []
    assert pd.read_csv(second / "results.csv").drop(columns="stage_key").equals(
        results.drop(columns="stage_key"))


def test_edit_recomputes_only_what_changed(tmp_path, output, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}],
                       attacks=[], explainers=[{"use": "integrated-gradients", "n_steps": 4}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 0
    suite["explainers"] = [{"use": "integrated-gradients", "n_steps": 6}]
    dump_suite(suite, path)
    assert run_suite(path) == 0
    rerun = statuses(latest_run(output))
    assert rerun["full/seed0/finetune"] == "cached"
    assert rerun["full/seed0/evaluate"] == "cached"
    assert rerun["full/seed0/explain/integrated-gradients"] == "computed"


KILLER = '''
import os, signal
from harness import hookimpl

@hookimpl
def after_stage(stage, results):
    if stage.kind == "finetune" and stage.status == "computed":
        os.kill(os.getpid(), signal.SIGKILL)
'''


def test_killed_run_resumes_without_recomputing_finished_stages(tmp_path, output, tiny_model_dir, sst2_files):
    (tmp_path / "kill_after_first_finetune.py").write_text(KILLER, encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[],
                       explainers=[{"use": "integrated-gradients", "n_steps": 4}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    environment = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    killed = subprocess.run([sys.executable, "-m", "harness", "--plugin", "kill_after_first_finetune", "run",
                             str(path), "--no-progress"], env=environment, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    killed_run = latest_run(output)
    finished = {stage["key"] for stage in read_jsonl(killed_run / "stages.jsonl") if stage["kind"] == "finetune"}
    assert len(finished) == 1  # killed right after the first fine-tune

    resumed = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--no-progress"],
                             env=environment, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    stages = read_jsonl(latest_run(output) / "stages.jsonl")
    by_key = {stage["key"]: stage["status"] for stage in stages}
    assert all(by_key[key] == "cached" for key in finished)
    assert [s["stage_id"] for s in stages if s["status"] == "computed" and s["kind"] == "finetune"] == \
        ["lora/seed0/finetune"]
    # No partial stage directory is left behind as if it were finished.
    cache = Path(json.loads((killed_run / "manifest.json").read_text())["cache_dir"])
    assert all((directory / "stage.json").exists() for directory in cache.glob("*/*")
               if not directory.name.startswith("."))


def test_crashing_stage_is_recorded_and_others_go_on(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}],
                       attacks=[{"use": "uppercase", "fail": True}, {"use": "uppercase", "name": "shout"}],
                       perturbations=["shout"], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    plugin = UpperCasePlugin()
    assert run_suite(path, plugins=[plugin]) == 3
    assert plugin.events[0] == ("before_suite", "tiny")
    assert ("on_stage_error", "full/seed0/attack/uppercase") in plugin.events
    assert ("after_stage", "full/seed0/perturb/shout") in plugin.events
    assert plugin.events[-1][0] == "after_suite"
    captured = capsys.readouterr()
    assert "attack crashed on purpose" in captured.err and "plugin 'uppercase-plugin'" in captured.err
    run = read_run(latest_run(output))
    by_id = {stage.stage_id: stage for stage in run.stages}
    assert by_id["full/seed0/attack/uppercase"].status == "error"
    assert "RuntimeError: attack crashed on purpose" in by_id["full/seed0/attack/uppercase"].traceback
    assert by_id["full/seed0/attack/shout"].status == "computed"
    flip = [row for row in run.results if row.stage == "perturb" and row.metric == "flip_rate"]
    assert len(flip) == 1 and 0.0 <= flip[0].value <= 1.0 and flip[0].ci_low is not None
    assert "attack crashed on purpose" in (latest_run(output) / "scorecard.html").read_text()


def test_failing_gate_exits_1(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[], gates=[{"metric": "accuracy", "stage": "evaluate", "op": ">", "threshold": 1.0}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 1
    assert "gate FAIL" in capsys.readouterr().out
    gates = json.loads((latest_run(output) / "gates.json").read_text())
    assert gates[0]["passed"] is False and gates[0]["measured"] is not None


def test_report_rerenders_from_the_store(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 0
    run_dir = latest_run(output)
    (run_dir / "scorecard.html").unlink()
    assert main(["report", str(run_dir), "--format", "html"]) == 0
    assert (run_dir / "scorecard.html").exists()
    assert main(["report", str(tmp_path / "nowhere")]) == 2


def test_empty_dataset_is_a_clear_error_before_anything_runs(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    empty = tmp_path / "empty.tsv"
    empty.write_text("sentence\tlabel\n", encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, {"train": empty, "test": sst2_files["test"]}, output, attacks=[], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 2  # the data files are checked with the suite, before a run directory exists
    err = capsys.readouterr().err
    assert "task 'local'" in err and "no rows" in err and str(empty) in err
    assert not output.exists() or not list(output.rglob("manifest.json"))


def test_augmentation_as_a_training_strategy(tmp_path, output, tiny_model_dir, sst2_files, capsys):
    augmented = {"use": "full", "epochs": 1, "augment": {"use": "keyboard-typos", "pct": 0.5, "n": 2, "rate": 0.1}}
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}, augmented],
                       attacks=[], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert run_suite(path) == 0, capsys.readouterr().err
    run = read_run(latest_run(output))
    value = {(row.method, row.stage, row.metric): row.value for row in run.results}
    plain_examples = value[("full", "finetune", "train_examples")]
    added = value[("full+keyboard-typos", "augment", "augmented_examples")]
    assert 0 < added <= plain_examples  # half the examples, two copies each, minus unchanged duplicates
    assert value[("full+keyboard-typos", "finetune", "train_examples")] == plain_examples + added
    assert ("full+keyboard-typos", "evaluate", "accuracy") in value
    records = read_jsonl(latest_run(output) / "records" / "full_keyboard-typos_seed0_augment.augmented.jsonl")
    assert len(records) == added and all("~keyboard-typos" in record["id"] for record in records)
    assert run_suite(path) == 0
    assert statuses(latest_run(output))["full+keyboard-typos/seed0/augment"] == "cached"


def test_augment_is_validated_at_its_line(tmp_path, capsys, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=[], explainers=[],
                       methods=[{"use": "lora", "augment": {"use": "keyboard-typos", "pct": 1.5}}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "pct:" in text)
    assert f"{path}:{line}:" in error and "augment `pct` must be a fraction" in error


class BrokenLogger:
    """A lifecycle plugin whose after_stage raises, like a logger whose tracking server is down."""

    @hookimpl
    def after_stage(self, stage, results):
        raise ConnectionError("tracking server unreachable")


class CountingLogger:
    def __init__(self):
        self.stages = []

    @hookimpl
    def after_stage(self, stage, results):
        self.stages.append(stage.stage_id)


def test_a_failing_lifecycle_hook_fails_the_run_without_losing_anything(tmp_path, output, tiny_model_dir, sst2_files,
                                                                         capsys):
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    counting = CountingLogger()
    assert run_suite(path, plugins=[BrokenLogger(), counting]) == 3
    assert "the after_stage hook of plugin 'BrokenLogger' failed: ConnectionError" in capsys.readouterr().err
    stages = read_jsonl(latest_run(output) / "stages.jsonl")
    computed = [stage["stage_id"] for stage in stages if stage["status"] == "computed"]
    assert "full/seed0/evaluate" in computed and (latest_run(output) / "scorecard.html").exists()
    # The other plugin saw every stage (reporters are not stages of a cell and fire no after_stage).
    assert counting.stages == [stage for stage in computed if not stage.startswith("report/")]
    assert any(stage["stage_id"] == "hook/BrokenLogger/after_stage" and stage["status"] == "error" for stage in stages)
