"""Reporter `html`: scorecard.html, one self-contained page comparing the methods (no CDN, works offline)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from harness import ReportRequest, hookimpl


@dataclass(frozen=True)
class HtmlReportConfig:
    examples_per_attack: int = 5
    """Adversarial examples shown per method and attack in the drill-down."""
    examples_per_explainer: int = 5


def word_diff(original: str, perturbed: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Words of both texts, each flagged True where it changed (for highlighting)."""
    before, after = original.split(), perturbed.split()
    left = [(word, False) for word in before]
    right = [(word, False) for word in after]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag != "equal":
            for index in range(i1, i2):
                left[index] = (before[index], True)
            for index in range(j1, j2):
                right[index] = (after[index], True)
    return left, right


def heat(scores: tuple[float, ...]) -> list[float]:
    """Scores scaled to [-1, 1] by the largest magnitude, for the heatmap's colour intensity."""
    largest = max((abs(score) for score in scores), default=0.0) or 1.0
    return [score / largest for score in scores]


def format_value(value: Optional[float], percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if percent:
        return f"{100 * value:.1f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


class HtmlReporter:
    def __init__(self, config: HtmlReportConfig):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text, comparison_table, render_template, stored_methods

        run = request.run
        methods = stored_methods(run)
        table = comparison_table(run.results, methods)
        label_names = self._label_names(run)
        attack_examples = []
        explain_examples = []
        for stage in run.stages:
            if stage.kind == "attack" and stage.status in ("computed", "cached"):
                records = run.records(stage.stage_id, "attack")
                shown = [r for r in records if r["status"] == "successful"][: self.config.examples_per_attack]
                for record in shown:
                    left, right = word_diff(record["original_text"], record["perturbed_text"])
                    attack_examples.append({"stage": stage, "record": record, "left": left, "right": right})
            if stage.kind == "explain" and stage.status in ("computed", "cached"):
                for record in run.records(stage.stage_id, "attributions")[: self.config.examples_per_explainer]:
                    explain_examples.append({"stage": stage, "record": record,
                                             "cells": list(zip(record["words"], heat(tuple(record["scores"]))))})
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
