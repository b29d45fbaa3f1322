"""What the reports show of a token-classification (NER) run, beyond the comparison table: the kind's ReportView.

`ner_report(run)` gathers the entity tables, highlighted spans and entity attributions the scorecard shows (built
from the store's records alone, like everything in a report); `ner_charts` the NER versions of the accuracy charts;
`report_view(run)` renders them (harness/kinds/token/templates/ner_sections.html, with the environment of the
harness's own templates) into the sections the HTML reporter places.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from harness.core.types import ResultRow, StoredRun
from harness.kinds.base import ReportView
from harness.kinds.token.training import TokenTraining
from harness.report.reporting import comparison_table, format_value, stored_methods, template_environment

NER_EXAMPLES_PER_STAGE = 8
"""Sentences shown per evaluate, attack and perturb stage in a NER scorecard; entity attributions: twice that."""

TEMPLATES_PACKAGE = "harness.kinds.token"
"""The package whose templates/ holds ner_sections.html."""


@dataclass(frozen=True)
class SpanChunk:
    """A run of words of a sentence drawn as one piece: an entity (kind "correct", "wrong" or "missed") or the
    words between entities (kind ""). `words` are (word, changed) pairs; changed words are marked."""

    words: tuple[tuple[str, bool], ...]
    kind: str = ""
    type: str = ""


def entity_line(tokens: Sequence[str], tags: Sequence[str], reference: Sequence[str], role: str,
                changed: Optional[Sequence[bool]] = None) -> list[SpanChunk]:
    """A sentence with the entities of `tags` highlighted. role "gold": each gold entity is "correct" when the
    prediction (`reference`) has it (type and span), else "missed"; role "predicted": each predicted entity is
    "correct" when gold (`reference`) has it, else "wrong"."""
    from harness.kinds.token.entity_metrics import extract_entities

    flags = list(changed) if changed is not None else [False] * len(tokens)
    others = set(extract_entities(reference)) if len(reference) == len(tokens) else set()
    chunks: list[SpanChunk] = []
    position = 0

    def plain(start: int, end: int) -> None:
        if end > start:
            chunks.append(SpanChunk(tuple(zip(tokens[start:end], flags[start:end]))))

    for entity in extract_entities(tags):
        plain(position, entity.start)
        kind = "correct" if entity in others else ("missed" if role == "gold" else "wrong")
        chunks.append(SpanChunk(tuple(zip(tokens[entity.start:entity.end], flags[entity.start:entity.end])), kind,
                                entity.type))
        position = entity.end
    plain(position, len(tokens))
    return chunks


def changed_words(before: Sequence[str], after: Sequence[str]) -> list[bool]:
    """For each word of `after`, whether it is not in `before` at its place (a substitution or an insertion)."""
    import difflib

    flags = [True] * len(after)
    for block in difflib.SequenceMatcher(a=list(before), b=list(after), autojunk=False).get_matching_blocks():
        for index in range(block.b, block.b + block.size):
            flags[index] = False
    return flags


def _decoded(indices: Sequence[Any], label_names: Sequence[str]) -> list[str]:
    """Tags as names: records store them as names (evaluate, perturb) or indices (attack)."""
    return [label_names[tag] if isinstance(tag, int) and 0 <= tag < len(label_names) else str(tag)
            for tag in indices]


def _sentence_pair(tokens_before: Sequence[str], gold_before: Sequence[str], predicted_before: Sequence[str],
                   tokens_after: Sequence[str], gold_after: Sequence[str], predicted_after: Sequence[str]
                   ) -> dict[str, Any]:
    flags = changed_words(tokens_before, tokens_after)
    return {"original_gold": entity_line(tokens_before, gold_before, predicted_before, "gold"),
            "original_predicted": entity_line(tokens_before, predicted_before, gold_before, "predicted"),
            "perturbed_gold": entity_line(tokens_after, gold_after, predicted_after, "gold", flags),
            "perturbed_predicted": entity_line(tokens_after, predicted_after, gold_after, "predicted", flags)}


def _mean_cell(rows: Sequence[ResultRow]) -> Optional[float]:
    values = [row.value for row in rows if not math.isnan(row.value)]
    return sum(values) / len(values) if values else None


def ner_report(run: StoredRun) -> dict[str, Any]:
    """What the scorecard shows of a token-classification run:

    - `types`, `type_rows`: per method (and attack / perturbation), entity F1 per type on the clean test set and
      the flip rate per type under each attack and perturbation;
    - `predictions`: test sentences with gold and predicted entities highlighted (correct / wrong / missed),
      sentences with a mistake first;
    - `attacks`, `perturbations`: successful adversarial sentences and perturbed sentences whose entities the model
      lost, before and after, changed words marked;
    - `attributions`: per predicted entity, its attribution heatmap over the sentence;
    - `charts`: clean entity F1 against entity F1 under attack, and entity F1 under each attack / perturbation."""
    label_names = list((run.manifest or {}).get("label_names") or [])
    methods = stored_methods(run)
    rows = [row for row in run.results if row.method]
    types = sorted({row.metric.split("/", 1)[1] for row in rows
                    if row.stage == "evaluate" and row.metric.startswith("entity_f1/")})
    type_rows = []
    sources = [("evaluate", "", "entity_f1/", "entity F1 (clean)")]
    for stage in ("attack", "perturb"):
        for component in dict.fromkeys(row.component for row in rows if row.stage == stage):
            sources.append((stage, component, "entity_flip_rate/", f"flip rate under {component}"))
    for method in methods:
        for stage, component, family, what in sources:
            values = {entity_type: _mean_cell([row for row in rows if row.method == method and row.stage == stage
                                               and row.component == component
                                               and row.metric == family + entity_type]) for entity_type in types}
            if any(value is not None for value in values.values()):
                type_rows.append({"method": method, "what": what, "scores": [values[t] for t in types],
                                  "higher_is_better": family == "entity_f1/"})
    finished = [stage for stage in run.stages if stage.status in ("computed", "cached")]
    predictions, attacks, perturbations, attributions = [], [], [], []
    for stage in finished:
        if stage.kind == "evaluate":
            records = run.records(stage.stage_id, "predictions")
            # Sentences with a mistake first: they are what a reader opens the drill-down for.
            records = sorted(records, key=lambda r: r.get("gold_tags") == r.get("predicted_tags"))
            for record in records[:NER_EXAMPLES_PER_STAGE]:
                tokens, gold, predicted = record["tokens"], record["gold_tags"], record["predicted_tags"]
                predictions.append({"stage": stage, "record": record, "right": gold == predicted,
                                    "gold": entity_line(tokens, gold, predicted, "gold"),
                                    "predicted": entity_line(tokens, predicted, gold, "predicted")})
        elif stage.kind == "attack":
            records = [r for r in run.records(stage.stage_id, "ner-attack") if r.get("status") == "successful"]
            for record in records[:NER_EXAMPLES_PER_STAGE]:
                attacks.append({"stage": stage, "record": record, **_sentence_pair(
                    record["original_tokens"], _decoded(record["original_tags"], label_names),
                    _decoded(record["original_prediction"], label_names), record["perturbed_tokens"],
                    _decoded(record["perturbed_tags"], label_names),
                    _decoded(record["perturbed_prediction"], label_names))})
        elif stage.kind == "perturb":
            records = run.records(stage.stage_id, "ner-perturb")
            # Sentences where the model lost an entity it had found, then any whose prediction changed.
            records = sorted(records, key=lambda r: (
                not any(entity["correct_before"] and not entity["correct_after"] for entity in r["entities"] or ()),
                r["original_prediction"] == r["perturbed_prediction"]))
            for record in records[:NER_EXAMPLES_PER_STAGE]:
                perturbations.append({"stage": stage, "record": record, **_sentence_pair(
                    record["original_tokens"], record["original_tags"], record["original_prediction"],
                    record["perturbed_tokens"], record["perturbed_tags"], record["perturbed_prediction"])})
        elif stage.kind == "explain":
            for record in run.records(stage.stage_id, "entity-attributions")[:2 * NER_EXAMPLES_PER_STAGE]:
                largest = max((abs(score) for score in record["scores"]), default=0.0) or 1.0
                attributions.append({"stage": stage, "record": record, "cells": [
                    (word, score / largest, score, record["start"] <= index < record["end"])
                    for index, (word, score) in enumerate(zip(record["words"], record["scores"]))]})
    return {"types": types, "type_rows": type_rows, "predictions": predictions,
            "attacks": attacks, "perturbations": perturbations, "attributions": attributions,
            "charts": ner_charts(run, methods)}


def ner_charts(run: StoredRun, methods: Sequence[str]) -> list[Any]:
    """Clean entity F1 against entity F1 under attack (mean over attacks), and entity F1 under each attack and
    perturbation: the NER versions of the scorecard's accuracy charts."""
    from harness.report.charts import robustness_charts

    return robustness_charts(comparison_table(run.results, methods), "entity_f1",
                             ("entity_f1_under_attack", "perturbed_entity_f1"), "entity F1")


def _sections(*parts: Any) -> tuple[str, ...]:
    """Rendered macro outputs as sections, the blank ones left out."""
    return tuple(str(part) for part in parts if str(part).strip())


def report_view(run: StoredRun) -> ReportView:
    """The scorecard's NER parts: the entity-types table (after the comparison table), the entity drill-downs
    (after the adversarial examples), their CSS, the NER charts, and the training curves scored by entity F1."""
    ner = ner_report(run)
    template = template_environment(TEMPLATES_PACKAGE).get_template("ner_sections.html")
    sections = template.make_module({"ner": ner, "format_value": format_value})
    return ReportView(charts=tuple(ner["charts"]),
                      html_sections=_sections(sections.entity_types()),
                      html_drilldowns=_sections(sections.drilldowns()),
                      html_styles=_sections(sections.styles()),
                      training_score_name=TokenTraining.score_name)
