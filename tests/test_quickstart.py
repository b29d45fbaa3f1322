"""README command 1, for real: the offline quickstart (MiniLM, BBC News, DeepWordBug, IG) writes a scorecard."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.core.files import read_jsonl

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.textattack
@pytest.mark.slow
def test_quickstart_suite_end_to_end(tmp_path, capsys):
    code = main(["run", str(REPO / "suites" / "quickstart.yaml"), "--out", str(tmp_path), "--no-progress"])
    output = capsys.readouterr().out
    assert code == 0, output
    scorecard = Path(next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("scorecard: ")))
    assert scorecard.exists()
    run_dir = scorecard.parent
    results = pd.read_csv(run_dir / "results.csv")
    accuracy = results[(results.stage == "evaluate") & (results.metric == "accuracy")].set_index("method").value
    assert set(accuracy.index) == {"full", "lora"}
    assert accuracy["full"] > 0.8  # five balanced topics: chance is 0.2
    under_attack = results[results.metric == "accuracy_under_attack"].set_index("method").value
    assert (under_attack <= results[results.metric == "clean_accuracy"].set_index("method").value).all()
    flip = results[(results.stage == "perturb") & (results.metric == "flip_rate")]
    assert len(flip) == 2 and flip.value.between(0, 1).all()
    html = scorecard.read_text(encoding="utf-8")
    assert "<table id=\"comparison\"" in html and "deepwordbug" in html
    attacks = read_jsonl(run_dir / "records" / "full_seed0_attack_deepwordbug.attack.jsonl")
    assert attacks and all(record["num_queries"] > 0 for record in attacks if record["status"] != "skipped")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["label_names"] == ["business", "entertainment", "politics", "sports", "tech"]

    # The Python API runs the same suite to the same results table (every stage now from the cache).
    import harness

    run = harness.run(REPO / "suites" / "quickstart.yaml", output=tmp_path)
    assert run.passed and run.run_dir != run_dir and run.scorecard is not None
    assert {stage.status for stage in run.stages if stage.kind not in ("task", "report")} == {"cached"}
    pd.testing.assert_frame_equal(run.results, harness.results_frame(run_dir))
