"""Security defaults: no code runs from data (YAML tags, model repositories with custom code, pickle checkpoints)
unless the suite opts in and the command line confirms, and offline mode never opens a network connection."""

from __future__ import annotations

import socket

from conftest import dump_suite, tiny_suite
from harness.cli import main
from harness.store import read_run


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
