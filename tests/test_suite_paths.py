"""Paths in a suite are relative to the suite file, paths given with --set to the current directory; validation
says when a suite needs the hub; run files get the user's umask."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from conftest import minilm_dir

from harness.cli import main
from harness.core.files import atomic_write_text, unique_directory
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.suite import hub_downloads, load_suite

REPO = Path(__file__).resolve().parents[1]
ROWS = ["text\tlabel", *[f"{word} movie number {i}\t{label}" for i in range(6)
                         for word, label in (("great", 1), ("awful", 0))]]


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder: data/ and models/ beside suites/, as users lay them out."""
    (tmp_path / "data").mkdir()
    for split in ("train", "test"):
        (tmp_path / "data" / f"{split}.tsv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    (tmp_path / "suites").mkdir()
    return tmp_path


def write(project: Path, **overrides) -> Path:
    suite = {"name": "paths", "task": {"use": "local", "train": "../data/train.tsv", "test": "../data/test.tsv"},
             "model": {"source": "minilm", "max_length": 32}, "methods": ["full"], "output": "../runs"}
    suite.update(overrides)
    path = project / "suites" / "paths.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


def registry() -> Registry:
    return Registry(make_plugin_manager())


def test_relative_paths_are_relative_to_the_suite_file_wherever_it_is_run_from(project, tmp_path_factory,
                                                                                 monkeypatch):
    model = project / "models" / "mine"
    shutil.copytree(minilm_dir(), model)
    path = write(project, model={"source": "../models/mine", "max_length": 32})
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    suite = load_suite(path, registry())
    assert suite.task.config.train == str(project / "data" / "train.tsv")
    assert suite.task.config.test == str(project / "data" / "test.tsv")
    assert suite.model.source.location == str(model)
    assert suite.output == project / "runs"
    assert main(["validate", str(path)]) == 0


def test_paths_given_with_set_are_relative_to_the_current_directory(project, monkeypatch):
    path = write(project)
    (project / "other.tsv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    monkeypatch.chdir(project)
    suite = load_suite(path, registry(), overrides=["task.test=other.tsv"])
    assert suite.task.config.test == str(project / "other.tsv")
    assert suite.task.config.train == str(project / "data" / "train.tsv")  # still relative to the suite


def test_validation_errors_show_the_resolved_path(project, capsys):
    path = write(project, task={"use": "local", "train": "../data/train.tsv", "test": "data/test.tsv"},
                 model={"source": "../models/absent"})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err
    assert str(project / "suites" / "data" / "test.tsv") in err  # relative to the suite, not the current directory
    assert str(project / "models" / "absent") in err


def test_a_home_relative_path_is_expanded(project, monkeypatch):
    monkeypatch.setenv("HOME", str(project))
    task = {"use": "local", "train": "~/data/train.tsv", "test": "$HOME/data/test.tsv"}
    suite = load_suite(write(project, task=task), registry())
    assert suite.task.config.train == str(project / "data" / "train.tsv")
    assert suite.task.config.test == str(project / "data" / "test.tsv")


@pytest.mark.textattack  # the shipped suites attack with TextAttack recipes
def test_every_shipped_suite_validates_offline_and_says_what_it_needs_from_the_hub(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    needs_hub = {}
    for suite in sorted((REPO / "suites").glob("*.yaml")):
        code = main(["--offline", "validate", str(suite.relative_to(REPO))])
        out, err = capsys.readouterr()
        assert code == 0, err
        needs_hub[suite.name] = out
    assert "Hugging Face Hub" not in needs_hub["quickstart.yaml"]
    assert "Hugging Face Hub" not in needs_hub["qa-quickstart.yaml"]  # its SQuAD articles ship in suites/data
    assert "task 'squad_v2': dataset rajpurkar/squad_v2" in needs_hub["squad.yaml"]
    for name in ("sst2-methods.yaml", "sst2-robust-training.yaml"):
        assert "NOT reachable" in needs_hub[name]
        assert "task 'sst2': dataset nyu-mll/glue (sst2)" in needs_hub[name]
    assert "attack 'advglue': dataset AI-Secure/adv_glue (adv_sst2)" in needs_hub["sst2-methods.yaml"]
    # The text-generation suites: hub models and datasets (no pretrained seq2seq or LLM weights exist offline).
    assert "task 'wmt16': dataset wmt/wmt16 (ro-en)" in needs_hub["wmt16-translation.yaml"]
    assert "model google-t5/t5-small" in needs_hub["wmt16-translation.yaml"]
    assert "task 'prompted': dataset nyu-mll/glue (sst2)" in needs_hub["llm-sst2-prompted.yaml"]
    assert "model Qwen/Qwen2.5-0.5B-Instruct" in needs_hub["llm-sst2-prompted.yaml"]
    assert "task 'xsum': dataset EdinburghNLP/xsum" in needs_hub["xsum-summarization.yaml"]


def test_hub_downloads_lists_a_hub_model_and_nothing_for_local_data(project, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    suite = load_suite(write(project, model={"source": "bert-base-uncased"}), registry())
    assert [what for _, what in hub_downloads(suite, registry())] == ["model bert-base-uncased"]
    local = load_suite(write(project, task={"use": "sst2", "path": "../data"}), registry())
    assert hub_downloads(local, registry()) == []


@pytest.mark.parametrize("umask, file_mode, directory_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_run_files_get_the_users_umask(tmp_path, umask, file_mode, directory_mode):
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "scorecard.html", "<html></html>")
        directory = unique_directory(tmp_path, ".stage.", ".partial")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "scorecard.html").stat().st_mode) == file_mode
    assert stat.S_IMODE(directory.stat().st_mode) == directory_mode
    assert [entry.name for entry in tmp_path.iterdir() if entry.name.endswith(".tmp")] == []


def test_a_real_runs_files_are_readable_by_the_group(project, tiny_model_dir):
    path = write(project, model={"source": str(tiny_model_dir), "max_length": 32},
                 methods=[{"use": "full", "epochs": 1, "batch_size": 8}], reports=["json", "csv", "html"])
    previous = os.umask(0o022)
    try:
        assert main(["run", str(path), "--no-progress", "--run-id", "r1"]) == 0
    finally:
        os.umask(previous)
    run = project / "runs" / "paths" / "r1"
    files = [entry for entry in run.rglob("*") if entry.is_file()]
    assert {"scorecard.html", "results.csv", "manifest.json"} <= {entry.name for entry in files}
    private = [str(entry) for entry in files if stat.S_IMODE(entry.stat().st_mode) & 0o044 != 0o044]
    assert private == []
