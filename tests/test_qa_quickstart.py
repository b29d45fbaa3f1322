"""suites/qa-quickstart.yaml as shipped (its SQuAD 2.0 articles in suites/data), run small: one method, one epoch,
a few questions per stage. The whole suite is the README's QA quickstart (minutes on a 2-core CPU); this checks in
about a minute that its data, its components and their settings run together and make a QA scorecard."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main
from harness.core.store import read_run

REPO = Path(__file__).resolve().parent.parent
SMALL = ["--set", "methods=[{use: lora, epochs: 1, learning_rate: 1.0e-3, r: 16}]",
         "--set", "budgets={max_train_examples: 60, max_eval_examples: 30, max_attack_examples: 6, "
                  "max_explain_examples: 2}",
         "--set", "attacks.1.words=3", "--set", "explainers.0.n_steps=4"]


def test_the_shipped_excerpt_is_three_unmodified_squad_articles():
    data = json.loads((REPO / "suites" / "data" / "squad-v2-excerpt.json").read_text(encoding="utf-8"))
    assert [article["title"] for article in data["data"]] == ["Normans", "Victoria_(Australia)",
                                                             "Sky_(United_Kingdom)"]
    questions = [qa for article in data["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    assert len(questions) == 665 and sum(qa["is_impossible"] for qa in questions) == 337


def test_the_qa_quickstart_runs_small_and_writes_a_qa_scorecard(tmp_path, capsys):
    suite = REPO / "suites" / "qa-quickstart.yaml"
    assert main(["validate", str(suite), *SMALL]) == 0
    assert main(["run", str(suite), "--out", str(tmp_path), "--no-progress", "--run-id", "small", *SMALL]) == 0
    run_dir = tmp_path / "qa-quickstart" / "small"
    run = read_run(run_dir)
    stages = {(row.stage, row.component) for row in run.results}
    assert {("attack", "add-sent"), ("attack", "add-any"), ("perturb", "keyboard-typos"),
            ("perturb", "question-typos"), ("explain", "integrated-gradients"),
            ("explain", "feature-ablation")} <= stages
    html = (run_dir / "scorecard.html").read_text(encoding="utf-8")
    assert 'id="qa-methods"' in html and 'id="qa-adversarial-examples"' in html
