"""Hostile and degenerate input (issue 20). Names a user chooses and texts a plugin returns reach file names,
terminals, JUnit XML and CSV cells: a run id is one safe path component, names hold no control characters and fit a
file name, and reporters keep their documents valid whatever a plugin's error message holds. Data files with invalid
Unicode are refused at validation with file, line and column."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import dump_suite, tiny_suite

from harness.cli import main
from harness.core.names import name_problem, path_component_problem
from harness.core.registry import Registry
from harness.core.store import read_run
from harness.testing import make_plugin_manager, sample_run_dir


def reporter(name: str):
    component = Registry(make_plugin_manager()).get("reporter", name)
    return component.build(component.config_class() if component.config_class else None)


@pytest.mark.parametrize("run_id", ["../../x", "/tmp/elsewhere", ".", "..", "../.stage-cache", "a/b", "a\\b",
                                    "tab\there", "\x1b[31mred", "x" * 201, ""])
def test_a_run_id_that_is_not_one_safe_path_component_is_refused(tmp_path, tiny_model_dir, sst2_files, capsys,
                                                                   run_id):
    output = tmp_path / "reports"
    path = dump_suite(tiny_suite(tiny_model_dir, sst2_files, output, attacks=[], explainers=[]),
                      tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", run_id]) == 2
    assert "--run-id" in capsys.readouterr().err
    # Nothing was written: not beside the suite's directory, not in the stage cache.
    assert not output.exists() or not any(output.rglob("manifest.json"))
    assert not (tmp_path / "x").exists() and not Path("/tmp/elsewhere").exists()


@pytest.mark.parametrize("where, value, expected", [
    ("name", "bad\x1bname", "must not contain a control character: U+001B"),
    ("name", "😀" * 128, "must be at most 200 bytes in UTF-8"),
    ("name", "right\u202eleft", "must not contain a formatting character"),
    ("method", "lora\nsecond line", "must not contain a control character: U+000A"),
    ("gate", "gate\x07bell", "must not contain a control character: U+0007"),
])
def test_names_with_control_characters_or_too_long_are_refused_at_their_line(tmp_path, tiny_model_dir, sst2_files,
                                                                             capsys, where, value, expected):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[])
    if where == "name":
        suite["name"] = value
    elif where == "method":
        suite["methods"] = [{"use": "full", "name": value, "epochs": 1}]
    else:
        suite["gates"] = [{"metric": "accuracy", "op": ">=", "threshold": 0.0, "name": value}]
    path = tmp_path / "suite.yaml"
    # JSON is YAML; it writes control characters as escapes (and the emoji as themselves).
    path.write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert expected in error and f"{path}:" in error


def test_name_rules():
    assert name_problem("lora r16 (2 epochs)") is None and path_component_problem("sst2-methods") is None
    assert path_component_problem("é" * 100) is None  # 200 bytes
    assert "201" in path_component_problem("é" * 100 + "e")
    assert path_component_problem(" padded") is not None and name_problem("\ud800") is not None


def test_junit_stays_well_formed_when_a_plugin_error_holds_control_characters(tmp_path):
    run_dir = sample_run_dir(tmp_path)
    stages = [json.loads(line) for line in (run_dir / "stages.jsonl").read_text(encoding="utf-8").splitlines()]
    for stage in stages:
        if stage["status"] == "error":
            stage["error"] = "boom \x1b[31m\x00\x08 \ud800 end"
            stage["traceback"] = "Traceback\x0c\x1b[0m"
    (run_dir / "stages.jsonl").write_text("".join(json.dumps(stage) + "\n" for stage in stages), encoding="utf-8")
    from harness.core.store import read_run
    from harness.core.types import ReportRequest

    [path] = reporter("junit").render(ReportRequest(read_run(run_dir), run_dir))
    root = ElementTree.parse(path).getroot()  # raises on a document that is not well-formed
    [error] = root.iter("error")
    assert error.get("message").endswith("boom [31m  end") and "\x1b" not in error.text


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(tmp_path):
    run_dir = sample_run_dir(tmp_path)
    results = run_dir / "results.csv"
    rows = list(csv.DictReader(results.open(encoding="utf-8")))
    for row in rows:
        if row["method"] == "lora":
            row["method"] = "=HYPERLINK(\"http://evil\")"
    with results.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["methods"] = ["full", "=HYPERLINK(\"http://evil\")"]
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    from harness.core.store import read_run
    from harness.core.types import ReportRequest

    [path] = reporter("csv").render(ReportRequest(read_run(run_dir), run_dir))
    cells = [row[0] for row in csv.reader(path.open(encoding="utf-8"))]
    assert "'=HYPERLINK(\"http://evil\")" in cells and not any(cell.startswith("=") for cell in cells)
    negative = [value for row in csv.reader(path.open(encoding="utf-8")) for value in row if value.startswith("-")]
    assert all(float(value) < 0 for value in negative)  # numbers are left as they are


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://evil\")", "+cmd", "-lora", "@SUM(A1)", "'quoted", "''",
                                  "-1", "plain"])
def test_results_csv_names_are_neutralised_and_read_back_exactly(tmp_path, name):
    from harness.core.store import read_results, results_csv
    from harness.core.types import ResultRow

    row = ResultRow(task=name, model=name, method=name, seed=0, stage="attack", component=name, metric=name,
                    value=-0.5, ci_low=-1.0, ci_high=0.0, n=3, stage_key=name)
    path = tmp_path / "results.csv"
    path.write_text(results_csv([row]), encoding="utf-8")
    [cells] = list(csv.reader(path.open(encoding="utf-8")))[1:]
    for cell in cells:
        try:
            float(cell)  # numbers (-0.5, a method called -1) are numbers to a spreadsheet too
        except ValueError:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert read_results(path) == [row]


@pytest.mark.parametrize("lines, expected", [
    (['{"text": "good film", "label": 1}', '{"text": "bad \\ud800 film", "label": 0}'], "line 2, column 15"),
    (['{"text": "\\udc00 alone", "label": 1}'], "line 1, column 11"),
    (['{"text": "good", "label": "\\ud83d"}'], "line 1, column 28"),
])
def test_a_lone_surrogate_in_a_data_file_is_refused_at_validation_with_its_line_and_column(tmp_path, capsys, lines,
                                                                                         expected):
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text('{"text": "fine", "label": 0}\n{"text": "ok \\ud83d\\ude00", "label": 1}\n',
                                         encoding="utf-8")
    (tmp_path / "suite.yaml").write_text("task: {use: local, train: train.jsonl, test: test.jsonl}\n"
                                         "model: {source: minilm}\nmethods: [full]\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "suite.yaml")]) == 2
    error = capsys.readouterr().err
    assert f"train.jsonl {expected}: invalid Unicode: a lone surrogate" in error


def test_the_task_source_reader_refuses_lone_surrogates_too(tmp_path):
    from harness import HarnessError
    from harness.tasks.readers import read_table

    (tmp_path / "rows.jsonl").write_text('{"sentence": "ok \\ud83d\\ude00"}\n{"sentence": "x \\udbff"}\n')
    with pytest.raises(HarnessError, match=r"rows.jsonl line 2, column 17: invalid Unicode"):
        read_table(tmp_path / "rows.jsonl")
    (tmp_path / "rows.json").write_text('[{"sentence": "fine"},\n {"sentence": "\\ud800"}]')
    with pytest.raises(HarnessError, match=r"rows.json line 2, column 16: invalid Unicode"):
        read_table(tmp_path / "rows.json")


def stored_run(tmp_path: Path, name: str, task: str, test_inputs: str, accuracy_drop: float = 0.0) -> Path:
    """A stored run (the contract kit's sample) of `task` whose test set has the fingerprint `test_inputs`."""
    run_dir = sample_run_dir(tmp_path / name)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(task=task, dataset_fingerprints={"used": {"test": test_inputs}, "test_inputs": test_inputs})
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    results = run_dir / "results.csv"
    rows = list(csv.DictReader(results.open(encoding="utf-8")))
    for row in rows:
        row["task"] = task
        if row["metric"] == "accuracy":
            row["value"] = str(float(row["value"]) - accuracy_drop)
    with results.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return run_dir


def test_compare_and_baseline_gates_refuse_runs_of_different_test_sets(tmp_path, capsys):
    reference = stored_run(tmp_path, "a", "sst2", "aaaa1111")
    other_test_set = stored_run(tmp_path, "b", "sst2", "bbbb2222", accuracy_drop=0.5)
    other_task = stored_run(tmp_path, "c", "imdb", "aaaa1111")
    assert main(["compare", str(reference), str(other_test_set)]) == 2
    error = capsys.readouterr().err
    assert "used different test sets (fingerprints aaaa1111 and bbbb2222)" in error
    assert "--allow-different-data" in error
    assert main(["compare", str(reference), str(other_task)]) == 2
    assert "ran task 'sst2'" in capsys.readouterr().err
    # Allowed explicitly: the numbers are compared, and no paired test pretends the examples match.
    assert main(["compare", str(reference), str(other_test_set), "--allow-different-data"]) == 0
    markdown = (other_test_set / "compare" / "compare.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in markdown.splitlines() if line.startswith("| ") and "---" not in line][1:]
    # No p-value (raw or Holm-adjusted), no verdict.
    assert rows and all(row[5] == row[6] == "–" and row[7].strip(" |") == "" for row in rows)

    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  - {metric: accuracy, stage: evaluate, name: no significant drop,\n"
                     "     baseline: {max_decrease: 0.0, significant: true}}\n", encoding="utf-8")
    arguments = ["gate", str(other_test_set), "--baseline", str(reference), "--suite", str(gates)]
    assert main(arguments) == 2
    assert "different test sets" in capsys.readouterr().err
    # With the flag the 50-point drop fails: no paired test on unrelated examples can call it insignificant.
    assert main([*arguments, "--allow-different-data"]) == 3  # (3: the sample run holds a crashed stage)
    [outcome] = json.loads((other_test_set / "gates.json").read_text(encoding="utf-8"))
    assert not outcome["passed"] and "no paired test: the runs used different test sets" in outcome["detail"]
    # The same test set (also when relabelled: test_inputs leave labels out) is compared as before.
    same = stored_run(tmp_path, "d", "sst2", "aaaa1111", accuracy_drop=0.5)
    assert main(["gate", str(same), "--baseline", str(reference), "--suite", str(gates)]) == 3
    assert "different test sets" not in capsys.readouterr().err


def test_stale_temporaries_of_killed_report_writes_are_removed_and_fresh_ones_kept(tmp_path):
    import os
    import time

    run_dir = sample_run_dir(tmp_path)
    stale, fresh = run_dir / ".scorecard.html.0123456789abcdef.tmp", run_dir / ".summary.md.fedcba9876543210.tmp"
    unrelated = run_dir / ".notes.tmp"
    for path in (stale, fresh, unrelated):
        path.write_text("half a report", encoding="utf-8")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(unrelated, (hour_ago, hour_ago))
    assert main(["report", str(run_dir), "--format", "json"]) == 0
    assert not stale.exists() and fresh.exists() and unrelated.exists()


def test_harness_gate_says_in_its_exit_code_that_a_reporter_failed(tmp_path, capsys):
    from harness import hookimpl

    class BrokenReporter:
        def __init__(self, config=None):
            pass

        def render(self, request):
            raise RuntimeError("disk on fire")

    class Plugin:
        name = "broken-reporter"

        @hookimpl
        def register_reporters(self, register):
            register("broken", BrokenReporter)

    run_dir = sample_run_dir(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    stages = [json.loads(line) for line in (run_dir / "stages.jsonl").read_text(encoding="utf-8").splitlines()]
    (run_dir / "stages.jsonl").write_text("".join(json.dumps(stage) + "\n" for stage in stages
                                                  if stage["status"] != "error"), encoding="utf-8")
    manifest["suite_document"] = {"reports": ["json", "broken"]}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert main(["gate", str(run_dir)], extra_plugins=[Plugin()]) == 3
    assert "reporter 'broken'" in capsys.readouterr().err


@pytest.mark.parametrize("make_output, expected", [
    (lambda root: root / "a-file" / "reports", "is a file, not a directory"),
    (lambda root: root / "dangling", "symbolic link to nothing"),
    (lambda root: root / ("x" * 300), "longer than a file system allows"),
])
def test_validate_finds_an_output_location_runs_cannot_be_written_to(tmp_path, tiny_model_dir, sst2_files, capsys,
                                                                      make_output, expected):
    (tmp_path / "a-file").write_text("not a directory", encoding="utf-8")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    suite = tiny_suite(tiny_model_dir, sst2_files, make_output(tmp_path), attacks=[], explainers=[])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    assert expected in error and "`output`" in error and f"{path}:" in error


def test_an_unwritable_output_directory_is_found_at_validation(tmp_path, monkeypatch):
    """(A permission check that also holds when the tests run as root, who may write anywhere.)"""
    import os

    from harness.core.suite.parsing import output_location_problem

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert output_location_problem(tmp_path / "reports") == f"{tmp_path} is not writable by this user"


@pytest.mark.parametrize("damage", [
    lambda stage: {**stage, "metrics": "not a list"},
    lambda stage: {**stage, "key": "another-key"},
    lambda stage: [stage],
    lambda stage: {**stage, "metrics": [{"name": "accuracy", "value": "high"}]},
])
def test_a_damaged_cache_entry_of_the_wrong_shape_is_set_aside_and_recomputed(tmp_path, tiny_model_dir, sst2_files,
                                                                             capsys, damage):
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[], explainers=[],
                       methods=[{"use": "full", "epochs": 1}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "first"]) == 0
    [entry] = (output / ".stage-cache" / "evaluate").glob("*/stage.json")
    entry.write_text(json.dumps(damage(json.loads(entry.read_text(encoding="utf-8")))), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress", "--run-id", "second"]) == 0
    assert f"stage cache entry {entry.parent}: its stage.json is damaged" in capsys.readouterr().err
    stages = {stage["stage_id"]: stage["status"] for stage in map(
        json.loads, (output / "tiny" / "second" / "stages.jsonl").read_text(encoding="utf-8").splitlines())}
    assert stages["full/seed0/evaluate"] == "computed" and stages["full/seed0/finetune"] == "cached"
    assert json.loads(entry.read_text(encoding="utf-8"))["metrics"][0]["name"] == "accuracy"  # rebuilt in place
    assert list((output / ".stage-cache" / "evaluate").glob(".*damaged*"))  # the damaged one, set aside


@pytest.mark.parametrize("stage, file, damage, expected", [
    ("finetune", "model/model.safetensors", "truncate", "model/model.safetensors has {size} bytes, {full} were"),
    ("finetune", "model/config.json", "delete", "model/config.json is missing"),
    ("evaluate", "records/predictions.jsonl", "truncate", "records/predictions.jsonl has {size} bytes"),
])
def test_truncated_cached_weights_or_records_are_named_set_aside_and_recomputed(
        tmp_path, tiny_model_dir, sst2_files, capsys, stage, file, damage, expected):
    """Before: a kill that left cached weights or records short made every later run fail (exit 3)."""
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=[], explainers=[],
                       methods=[{"use": "full", "epochs": 1}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "first"]) == 0
    [entry] = [directory for directory in (output / ".stage-cache" / stage).iterdir()
               if not directory.name.startswith(".")]
    target = entry / file
    full = target.stat().st_size
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:full // 2])
    else:
        target.unlink()
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress", "--run-id", "second"]) == 0
    assert (f"stage cache entry {entry}: " + expected.format(size=full // 2, full=full)
            in capsys.readouterr().err)
    stages = {record["stage_id"]: record["status"] for record in map(
        json.loads, (output / "tiny" / "second" / "stages.jsonl").read_text(encoding="utf-8").splitlines())}
    assert stages[f"full/seed0/{stage}"] == "computed"
    assert target.stat().st_size == full  # rebuilt in place, the damaged entry set aside
    assert list((output / ".stage-cache" / stage).glob(".*damaged*"))
    assert main(["run", str(path), "--no-progress", "--run-id", "third"]) == 0
    assert "damaged" not in capsys.readouterr().err


@pytest.mark.textattack
def test_a_truncated_per_example_attack_record_is_attacked_again(tmp_path, tiny_model_dir, sst2_files, capsys):
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, attacks=["pruthi"], explainers=[],
                       methods=[{"use": "full", "epochs": 1}], budgets={"max_attack_examples": 2})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress", "--run-id", "first"]) == 0
    records = sorted((output / ".stage-cache" / "attack-examples").rglob("*.json"))
    assert len(records) == 2
    records[0].write_text(records[0].read_text(encoding="utf-8")[:20], encoding="utf-8")
    for entry in (output / ".stage-cache" / "attack").iterdir():  # make the attack stage run again
        shutil.rmtree(entry)
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress", "--run-id", "second"]) == 0
    assert f"cached attack record {records[0]} is damaged (JSONDecodeError)" in capsys.readouterr().err
    metrics = {row.metric: row.value for row in read_run(output / "tiny" / "second").results if row.stage == "attack"}
    assert metrics["reused_examples"] == 1
    assert json.loads(records[0].read_text(encoding="utf-8"))["example_id"]  # rewritten whole


@pytest.mark.parametrize("file, tamper, expected", [
    ("results.csv", lambda text: text.replace(",0.75,", ",high,", 1), "results.csv line 20: field value"),
    ("results.csv", lambda text: text.replace(",0,", ",zero,", 1), "field seed"),
    ("manifest.json", lambda text: "[1, 2]", "manifest.json: expected a JSON object, got list"),
    ("manifest.json", lambda text: text[:40], "manifest.json: not valid JSON"),
    ("stages.jsonl", lambda text: text + '["not", "a", "stage"]\n', "stages.jsonl line"),
    ("stages.jsonl", lambda text: text + '{"stage_id": "x"}\n', "not a stage record"),
    ("gates.json", lambda text: '[{"unexpected": 1}]', "gates.json: gate 1 is not a gate outcome"),
])
def test_a_tampered_stored_run_is_an_error_naming_the_file_and_field(tmp_path, capsys, file, tamper, expected):
    run_dir = sample_run_dir(tmp_path)
    target = run_dir / file
    target.write_text(tamper(target.read_text(encoding="utf-8")), encoding="utf-8")
    assert main(["report", str(run_dir), "--format", "json"]) == 2
    error = capsys.readouterr().err
    assert expected in error and "unexpected error" not in error
