"""Stability under attack is read beside the randomisation check: an explainer that ignores the model (scores =
word lengths) looks perfectly stable, and only its randomised-model correlation shows why that says nothing about
the model. The results carry `stability_meaningful` and the scorecard strikes such a stability out, with the reason.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pytest
from conftest import SwapFirstWordAttack, dump_suite, tiny_suite

from harness import ExplainOutcome, WordAttribution, hookimpl
from harness.cli import main
from harness.core.store import read_run
from harness.core.types import Metric, ResultRow
from harness.explain.quality import STABILITY_RANDOMIZATION_LIMIT, stability_caveat, stability_meaningful
from harness.report.reporting import comparison_table

# ------------------------------------------------------------------------------------------ the rule


def test_the_caveat_follows_the_randomisation_correlation():
    assert stability_caveat(None) is None and stability_caveat(float("nan")) is None
    assert stability_caveat(0.1) is None and stability_caveat(STABILITY_RANDOMIZATION_LIMIT) is None
    reason = stability_caveat(0.97)
    assert reason is not None and "0.97" in reason and "not meaningful" in reason


def test_stability_meaningful_needs_both_measurements():
    stable, independent, dependent = (Metric("attribution_rank_correlation", 0.99),
                                      Metric("randomization_rank_correlation", 1.0),
                                      Metric("randomization_rank_correlation", 0.2))
    assert stability_meaningful([stable, independent]) == Metric("stability_meaningful", 0.0)
    assert stability_meaningful([stable, dependent]) == Metric("stability_meaningful", 1.0)
    assert stability_meaningful([stable]) is None and stability_meaningful([independent]) is None
    assert stability_meaningful([Metric("attribution_rank_correlation", math.nan), independent]) is None


def row(method: str, component: str, metric: str, value: float) -> ResultRow:
    return ResultRow("task", "model", method, 0, "explain", component, metric, value)


def test_the_comparison_table_flags_stability_and_never_calls_it_best():
    rows = [row("full", "word-length", "attribution_rank_correlation", 0.99),
            row("full", "word-length", "randomization_rank_correlation", 1.0),
            row("lora", "word-length", "attribution_rank_correlation", 0.5),
            row("lora", "word-length", "randomization_rank_correlation", 0.1),
            row("ia3", "word-length", "attribution_rank_correlation", 0.4),
            row("ia3", "word-length", "randomization_rank_correlation", 0.2),
            row("full", "ig", "attribution_rank_correlation", 0.7),
            row("full", "ig", "randomization_rank_correlation", 0.1)]
    table = comparison_table(rows, ["full", "lora", "ia3"])
    columns = {column.key: column for column in table.columns}
    word_length = columns[("explain", "word-length", "attribution_rank_correlation")]
    assert "not meaningful" in table.caveat("full", word_length)
    assert table.caveat("lora", word_length) is None
    assert table.best(word_length) == "lora"  # not the flagged 0.99
    assert table.caveat("full", columns[("explain", "ig", "attribution_rank_correlation")]) is None
    assert table.caveat("full", columns[("explain", "ig", "randomization_rank_correlation")]) is None


# ------------------------------------------------------------------------------------------ a run


class WordLengthExplainer:
    """Scores each word by its length: the same explanation whatever the model, so perfectly "stable"."""

    def __init__(self, config):
        self.config = config

    def explain(self, classifier, examples, env):
        attributions = []
        for example in examples:
            spans = tuple(match.span() for match in re.finditer(r"\S+", example.text))
            words = tuple(example.text[start:end] for start, end in spans)
            attributions.append(WordAttribution(example.id, words, tuple(float(len(word)) for word in words), 0,
                                                example.label, spans=spans))
        return ExplainOutcome(tuple(attributions))


class InTestPlugins:
    @hookimpl
    def register_explainers(self, register):
        register("word-length", WordLengthExplainer, description="scores = word lengths (ignores the model)")

    @hookimpl
    def register_attacks(self, register):
        register("first-word", SwapFirstWordAttack, description="replaces the first word")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir, sst2_files) -> Path:
    directory = tmp_path_factory.mktemp("stability")
    output = directory / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 2, "batch_size": 16}],
                       attacks=["first-word"],
                       # randomization_check is on by default; spelt out because this test is about it.
                       explainers=[{"use": "word-length"},
                                   {"use": "integrated-gradients", "n_steps": 8, "randomization_check": True}],
                       reports=["html", "json"])
    suite["budgets"] = {"max_attack_examples": 8, "max_explain_examples": 8}
    path = dump_suite(suite, directory / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[InTestPlugins()]) == 0
    return max((output / "tiny").iterdir(), key=lambda path: path.stat().st_mtime_ns)


def explain_values(run_dir: Path, component: str) -> dict[str, float]:
    return {row.metric: row.value for row in read_run(run_dir).results
            if row.stage == "explain" and row.component == component}


def test_a_model_independent_explainer_is_flagged_and_integrated_gradients_is_not(run_dir):
    word_length = explain_values(run_dir, "word-length")
    assert word_length["attribution_rank_correlation"] > 0.9  # "perfectly stable" on its own
    assert word_length["randomization_rank_correlation"] > STABILITY_RANDOMIZATION_LIMIT
    assert word_length["stability_meaningful"] == 0.0
    gradients = explain_values(run_dir, "integrated-gradients")
    assert gradients["randomization_rank_correlation"] <= STABILITY_RANDOMIZATION_LIMIT, gradients
    assert gradients["stability_meaningful"] == 1.0


def test_the_scorecard_strikes_out_the_flagged_stability_with_its_reason(run_dir):
    page = (run_dir / "scorecard.html").read_text(encoding="utf-8")
    comparison = page.split('<table id="comparison"', 1)[1].split("</table>", 1)[0]
    head, body = comparison.split("<tbody>", 1)
    keys = ["method"] + [html.unescape(key) for key in re.findall(r'<th data-type="number" title="([^"]*)"', head)]
    cells = re.findall(r"<td[^>]*>.*?</td>", body, re.DOTALL)  # one method: one row
    assert len(cells) == len(keys)
    flagged = {key: cell for key, cell in zip(keys, cells) if 'class="caveat"' in cell}
    assert list(flagged) == ["explain / word-length / attribution_rank_correlation"], list(flagged)
    cell = flagged["explain / word-length / attribution_rank_correlation"]
    [title] = re.findall(r'title="([^"]*)"', cell)
    assert "not meaningful" in html.unescape(title) and "randomised-model correlation" in html.unescape(title)
    assert "<s>" in cell  # the value struck out
    stability = dict(zip(keys, cells))["explain / integrated-gradients / attribution_rank_correlation"]
    assert "<s>" not in stability and "title=" not in stability
    assert "Stability struck out" in page and "above 0.5" in page  # the legend says why
