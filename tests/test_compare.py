"""`harness compare`: deltas between two real runs, called better or worse only when a paired test says so."""

from __future__ import annotations

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite
from scipy.stats import binomtest

from harness.cli import main
from harness.explain.significance import mcnemar_exact, paired_bootstrap_p, paired_outcomes


@pytest.mark.parametrize("only_a, only_b", [(0, 0), (3, 0), (10, 2), (7, 7), (1, 12), (40, 25)])
def test_mcnemar_exact_is_a_two_sided_binomial_test_on_discordant_pairs(only_a, only_b):
    expected = 1.0 if only_a + only_b == 0 else binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert mcnemar_exact(only_a, only_b) == pytest.approx(expected)


def test_paired_tests():
    same = {str(i): float(i % 2) for i in range(50)}
    assert paired_outcomes(same, same, binary=True).p_value == 1.0
    better = {key: 1.0 for key in same}
    test = paired_outcomes(same, better, binary=True)
    assert test.pairs == 50 and test.p_value < 1e-6  # 25 examples fixed, none broken
    assert paired_outcomes(same, {"other": 1.0}, binary=True) is None
    assert paired_bootstrap_p([0.1] * 30, [0.1] * 30) == 1.0
    assert paired_bootstrap_p([0.1 * i for i in range(30)], [0.1 * i + 0.5 for i in range(30)]) < 0.01


def test_compare_two_runs(tmp_path, tiny_model_dir, release_data, sst2_files, capsys):
    """A tiny randomly initialised model (A) against MiniLM (B), both fine-tuned on 400 SST-2-style training
    sentences and tested on the same 40 test sentences, whose sentiment words training never showed them."""
    lines = (release_data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()
    train = tmp_path / "train.tsv"
    sentences = [line for line in lines[1:] if len(line.split()) >= 6][:400]  # sentences, not phrases
    train.write_text("\n".join([lines[0], *sentences]) + "\n", encoding="utf-8")
    runs = []
    for name, model in (("a", tiny_model_dir), ("b", minilm_dir())):
        output = tmp_path / name
        suite = tiny_suite(model, {"train": train, "test": sst2_files["test"]}, output,
                           methods=[{"use": "full", "epochs": 2, "learning_rate": 1e-4}],
                           attacks=[], explainers=[], perturbations=[{"use": "keyboard-typos"}])
        assert main(["run", str(dump_suite(suite, tmp_path / f"{name}.yaml")), "--no-progress"]) == 0
        runs.append(next((output / "tiny").iterdir()))
    capsys.readouterr()
    assert main(["compare", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "compare")]) == 0
    markdown = (tmp_path / "compare" / "compare.md").read_text(encoding="utf-8")
    clean = next(line for line in markdown.splitlines() if line.startswith("| full | Clean accuracy |"))
    assert "✅ better" in clean, markdown
    assert "| full | Train time (s) |" in markdown  # no per-example outcomes: a delta without a verdict
    html = (tmp_path / "compare" / "compare.html").read_text(encoding="utf-8")
    assert html.count("<tr><td class=\"text\">full</td>") >= 5
    # A run compared with itself: nothing changed, nothing significant.
    assert main(["compare", str(runs[1]), str(runs[1]), "--out", str(tmp_path / "same")]) == 0
    same = (tmp_path / "same" / "compare.md").read_text(encoding="utf-8")
    assert "✅" not in same and "❌" not in same and "no significant change" in same
    assert main(["compare", str(tmp_path), str(runs[1])]) == 2
    assert "not a run directory" in capsys.readouterr().err
