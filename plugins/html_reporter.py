"""Reporter `html`: scorecard.html, one self-contained page comparing the methods (no CDN, works offline)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ReportRequest, ReportView, hookimpl, segment_diff


@dataclass(frozen=True)
class HtmlReportConfig:
    examples_per_attack: int = 25
    """Successful adversarial examples shown per method and attack in the drill-down."""
    examples_per_explainer: int = 10
    """Attribution heatmaps shown per method and explainer."""

    def __post_init__(self):
        if self.examples_per_attack < 0 or self.examples_per_explainer < 0:
            raise ValueError("examples_per_attack and examples_per_explainer must be >= 0")


def heat(scores: tuple[float, ...]) -> list[float]:
    """Scores scaled to [-1, 1] by the largest magnitude, for the heatmap's colour intensity."""
    largest = max((abs(score) for score in scores), default=0.0) or 1.0
    return [score / largest for score in scores]


def cells(words: list[str], scores: list[float]) -> list[tuple[str, float, float]]:
    """(word, heat in [-1, 1], raw score) for a heatmap."""
    return list(zip(words, heat(tuple(scores)), scores))


def scorecard_charts(run: Any, table: Any, training_score_name: str = "validation accuracy") -> list[Any]:
    """Robustness vs clean accuracy, accuracy under each attack, training curves (their y axis
    `training_score_name`, what the task kind scores epochs by), cost vs robustness."""
    from harness import grouped_bars, line_chart, scatter

    def value(method: str, key: tuple[str, str, str]) -> float:
        cell = table.cells.get((method, key))
        return cell.value if cell is not None else float("nan")

    attacks = [column.key[1] for column in table.columns if column.key[2] == "accuracy_under_attack"]
    clean = {method: value(method, ("evaluate", "", "accuracy")) for method in table.methods}
    under_attack = {}
    for method in table.methods:
        values = [value(method, ("attack", attack, "accuracy_under_attack")) for attack in attacks]
        values = [v for v in values if math.isfinite(v)]
        under_attack[method] = sum(values) / len(values) if values else float("nan")
    robustness = "accuracy under attack" + (" (mean over attacks)" if len(attacks) > 1 else "")
    curves = []
    for stage in run.stages:
        if stage.kind == "finetune" and stage.status in ("computed", "cached"):
            history = run.records(stage.stage_id, "history")
            label = stage.method + (f" (seed {stage.seed})" if len(run.manifest.get("seeds") or []) > 1 else "")
            if label not in {name for name, _ in curves}:
                curves.append((label, [(record["epoch"], record["validation_accuracy"]) for record in history
                                       if record.get("validation_accuracy") is not None]))
    return [
        scatter("Robustness vs clean accuracy", "clean accuracy", robustness,
                [(m, clean[m], under_attack[m]) for m in table.methods], True, True),
        grouped_bars("Accuracy under each attack", "accuracy under attack", attacks, table.methods,
                     {(attack, m): value(m, ("attack", attack, "accuracy_under_attack"))
                      for attack in attacks for m in table.methods}, True),
        line_chart("Training curves", "epoch", training_score_name, curves, True),
        scatter("Cost vs robustness", "train time (s)", robustness,
                [(m, value(m, ("finetune", "", "train_seconds")), under_attack[m]) for m in table.methods],
                False, True),
    ]


class HtmlReporter:
    def __init__(self, config: HtmlReportConfig):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text, comparison_table, format_value, render_template, stored_methods

        run = request.run
        # What the run's task kind adds (its charts, sections and training score); None: nothing.
        view = request.view if request.view is not None else ReportView()
        methods = stored_methods(run)
        table = comparison_table(run.results, methods)
        label_names = self._label_names(run)
        finished = [stage for stage in run.stages if stage.status in ("computed", "cached")]
        # Attribution pairs (original, adversarial) the explain stages computed for their stability metrics.
        stability: dict[tuple[str, int, str, str], list[dict[str, Any]]] = {}
        for stage in finished:
            if stage.kind == "explain":
                for record in run.records(stage.stage_id, "stability"):
                    key = (stage.method, stage.seed, record["attack"], record["example_id"])
                    stability.setdefault(key, []).append({"explainer": stage.component, **record,
                                                          "original_cells": cells(record["original_words"],
                                                                                  record["original_scores"]),
                                                          "adversarial_cells": cells(record["adversarial_words"],
                                                                                     record["adversarial_scores"])})
        # The judges' verdicts on each adversarial example (judge stages, one per attack).
        verdicts: dict[tuple[str, int, str, str], dict[str, Any]] = {
            (stage.method, stage.seed, stage.component, record["example_id"]): record
            for stage in finished if stage.kind == "judge" for record in run.records(stage.stage_id, "verdicts")}
        attack_examples = []
        explain_examples = []
        for stage in finished:
            if stage.kind == "attack":
                records = run.records(stage.stage_id, "attack")
                shown = [r for r in records if r["status"] == "successful"][: self.config.examples_per_attack]
                for record in shown:
                    left, right = segment_diff(record["original_text"], record["perturbed_text"])
                    attack_examples.append({
                        "stage": stage, "record": record, "left": left, "right": right,
                        "judged": verdicts.get((stage.method, stage.seed, stage.component, record["example_id"])),
                        "attributions": stability.get((stage.method, stage.seed, stage.component,
                                                       record["example_id"]), [])})
            if stage.kind == "explain":
                for record in run.records(stage.stage_id, "attributions")[: self.config.examples_per_explainer]:
                    explain_examples.append({"stage": stage, "record": record,
                                             "cells": cells(record["words"], record["scores"])})
        html = render_template(
            "scorecard.html",
            run=run,
            manifest=run.manifest,
            table=table,
            methods=methods,
            format_value=format_value,
            failed_stages=[stage for stage in run.stages if stage.status == "error"],
            attack_examples=attack_examples,
            explain_examples=explain_examples,
            label_names=label_names,
            charts=[chart for chart in scorecard_charts(run, table, view.training_score_name) if chart is not None],
            view=view,
        )
        path = request.output_dir / "scorecard.html"
        atomic_write_text(path, html)
        return [path]

    @staticmethod
    def _label_names(run: Any) -> list[str]:
        return list(run.manifest.get("label_names") or [])


@hookimpl
def register_reporters(register):
    register("html", HtmlReporter, config=HtmlReportConfig,
             description="scorecard.html: a self-contained page comparing methods, with example drill-downs")
