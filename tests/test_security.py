"""Security defaults: no code runs from data (YAML tags, model repositories with custom code, pickle checkpoints)
unless the suite opts in and the command line confirms, and offline mode never opens a network connection."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.store import read_run


@pytest.mark.textattack
def test_offline_mode_never_opens_a_connection(tmp_path, tiny_model_dir, sst2_files, monkeypatch):
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted in offline mode")

    # Every TCP/UDP connection in Python goes through one of these (requests, urllib3, httpx, nltk's downloader).
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(address))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: refuse(address))
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, perturbations=[{"use": "wordnet-synonyms"}],
                       budgets={"max_attack_examples": 2, "max_explain_examples": 2})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["--offline", "run", str(path), "--no-progress"]) == 0
    assert attempts == []
    (run_dir,) = [p for p in (tmp_path / "tiny").iterdir() if (p / "manifest.json").exists()]
    assert all(stage.status != "error" for stage in read_run(run_dir).stages)


def test_a_yaml_python_tag_is_rejected_at_its_line(tmp_path, capsys):
    marker = tmp_path / "pwned"
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: x\ntask: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    assert main(["validate", str(suite)]) == 2
    error = capsys.readouterr().err
    assert f"{suite}:2" in error and "python/object/apply" in error
    assert not marker.exists()


CUSTOM_CODE = '''
import os
import pathlib

from transformers import BertForSequenceClassification

pathlib.Path(os.environ["HARNESS_TEST_CUSTOM_CODE_RAN"]).touch()  # proof that this file was executed


class CustomBertForSequenceClassification(BertForSequenceClassification):
    pass
'''


def _model_with_custom_code(tiny_model_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "custom-model"
    shutil.copytree(tiny_model_dir, directory)
    (directory / "custom_bert.py").write_text(CUSTOM_CODE, encoding="utf-8")
    config = json.loads((directory / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "custom_bert.CustomBertForSequenceClassification"}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def test_a_model_with_its_own_code_runs_only_when_the_suite_and_the_command_agree(
        tmp_path, tiny_model_dir, sst2_files, capsys, monkeypatch):
    marker = tmp_path / "custom-code-ran"
    monkeypatch.setenv("HARNESS_TEST_CUSTOM_CODE_RAN", str(marker))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "hf-modules"))
    model = _model_with_custom_code(tiny_model_dir, tmp_path)
    suite = tiny_suite(model, sst2_files, tmp_path, methods=[{"use": "full", "epochs": 1}], attacks=[], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert "ships its own Python code (config.json auto_map: custom_bert.CustomBertForSequenceClassification)" in error
    assert f"{path}:" in error and "trust_remote_code: true" in error

    suite["model"]["trust_remote_code"] = True
    dump_suite(suite, path)
    assert main(["run", str(path), "--no-progress"]) == 2  # the suite opted in, the command did not confirm
    assert "confirm with `harness run --trust-remote-code`" in capsys.readouterr().err
    assert not marker.exists()

    assert main(["run", str(path), "--no-progress", "--trust-remote-code"]) == 0
    assert marker.exists()


def test_a_pickle_only_checkpoint_is_refused_unless_allowed(tmp_path, tiny_model_dir, sst2_files, capsys):
    import torch
    from transformers import BertForSequenceClassification

    directory = tmp_path / "pickled-model"
    shutil.copytree(tiny_model_dir, directory)
    (directory / "model.safetensors").unlink()
    # torch.save, not save_pretrained(safe_serialization=False): transformers 5 writes safetensors whatever it is told.
    model = BertForSequenceClassification.from_pretrained(tiny_model_dir)
    model.config.save_pretrained(directory)
    torch.save(model.state_dict(), directory / "pytorch_model.bin")
    assert (directory / "pytorch_model.bin").exists() and not (directory / "model.safetensors").exists()
    suite = tiny_suite(directory, sst2_files, tmp_path, methods=[{"use": "full", "epochs": 1}], attacks=[],
                       explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert "has only pickle checkpoints (pytorch_model.bin)" in error and "allow_pickle: true" in error
    suite["model"]["allow_pickle"] = True
    dump_suite(suite, path)
    assert main(["run", str(path), "--no-progress"]) == 0


def test_models_load_with_safe_defaults(monkeypatch):
    """Whatever the directory checks miss (a hub model), from_pretrained itself is told: no code, no pickle."""
    from transformers import AutoModelForSequenceClassification

    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier

    seen = {}

    def record(location, **options):
        seen.update(options)
        raise OSError("stop here")

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", record)
    monkeypatch.setattr("harness.modeling.models.load_tokenizer", lambda *args: None)
    with pytest.raises(OSError, match="stop here"):
        load_base_classifier(ModelSource("hub-model", "someone/model"), ("a", "b"))
    assert seen["trust_remote_code"] is False and seen["use_safetensors"] is True
