"""harness.results_frame: a run's results table as a typed pandas DataFrame, from a run directory, results.csv or
results.json (the json reporter's document)."""

from __future__ import annotations

import math

import pytest

import harness
from harness import ReportRequest, ResultRow, StoredRun
from harness.core.store import read_run, results_csv
from harness.core.types import RESULT_COLUMNS

ROWS = (
    ResultRow("local", "tiny", "full", 0, "evaluate", "", "accuracy", 0.75, 0.6, 0.9, 40, "k1", 160),
    ResultRow("local", "tiny", "lora", 0, "attack", "deepwordbug", "attack_success_rate", 0.5, None, None, None,
              "k2", None),
    ResultRow("local", "tiny", "lora", 1, "evaluate", "", "accuracy", float("nan"), None, None, 40, "k3", 160),
)


@pytest.fixture
def run_dir(tmp_path):
    directory = tmp_path / "run"
    directory.mkdir()
    (directory / "manifest.json").write_text('{"schema_version": 1}', encoding="utf-8")
    (directory / "results.csv").write_text(results_csv(ROWS), encoding="utf-8")
    return directory


def check_frame(frame) -> None:
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert len(frame) == len(ROWS)
    assert str(frame["seed"].dtype) == "int64" and str(frame["value"].dtype) == "float64"
    assert str(frame["n"].dtype) == "Int64" and str(frame["train_size"].dtype) == "Int64"
    assert frame.loc[0, "ci_low"] == 0.6 and frame.loc[0, "n"] == 40 and frame.loc[0, "train_size"] == 160
    assert math.isnan(frame.loc[1, "ci_low"]) and frame["n"].isna().tolist() == [False, True, False]
    assert math.isnan(frame.loc[2, "value"])
    assert frame["component"].tolist() == ["", "deepwordbug", ""]
    table = frame.pivot_table(index="method", columns=["stage", "metric"], values="value")
    assert table.loc["full", ("evaluate", "accuracy")] == 0.75


def test_results_frame_reads_a_run_directory_and_its_csv(run_dir):
    check_frame(harness.results_frame(run_dir))
    check_frame(harness.results_frame(str(run_dir / "results.csv")))


def test_results_frame_reads_the_json_reporters_document(run_dir, tmp_path):
    from harness_plugins.json_reporter import JsonReporter

    out = tmp_path / "json"
    out.mkdir()
    [path] = JsonReporter().render(ReportRequest(run=StoredRun(run_dir, {}, read_run(run_dir).results, ()),
                                                 output_dir=out))
    check_frame(harness.results_frame(path))
    check_frame(harness.results_frame(out))  # a directory with only results.json


def test_results_frame_of_an_empty_run_has_the_columns(tmp_path):
    (tmp_path / "results.csv").write_text(results_csv(()), encoding="utf-8")
    frame = harness.results_frame(tmp_path)
    assert frame.empty and list(frame.columns) == list(RESULT_COLUMNS)


def test_results_frame_says_what_is_missing_or_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.csv or results.json"):
        harness.results_frame(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        harness.results_frame(tmp_path / "nowhere.csv")
    (tmp_path / "results.json").write_text('{"results": [{"bogus": 1}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a harness results.json"):
        harness.results_frame(tmp_path / "results.json")
