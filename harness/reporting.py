"""Helpers reporters share: a method-by-column summary of the results table, and template rendering.

Templates get two helpers for sentence pairs (records with `original_text_pair` / `segments`, see
harness.pairs): `segment_diff(original, perturbed)`, the changed words of a pair's second segment, and
`segment_name(index, manifest)`, how a drill-down labels a segment. And one for token-classification (NER) runs:
`ner_report(run)`, the entity tables, highlighted spans and entity attributions the scorecard shows (built from
the store's records alone, like everything in a report).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from harness.types import ResultRow, StoredRun

# Which way is better for each metric the scorecard compares (True: higher is better).
HIGHER_IS_BETTER = {
    "accuracy": True,
    "macro_f1": True,
    "accuracy_under_attack": True,
    "attack_success_rate": False,
    "mean_abs_convergence_delta": False,
    "perturbed_accuracy": True,
    "flip_rate": False,
    "comprehensiveness_aopc": True,
    "sufficiency_aopc": False,
    "loo_correlation": True,
    "token_f1": True,
    "attribution_rank_correlation": True,
    "randomization_rank_correlation": False,
    "mean_infidelity": False,
    "trainable_parameters": False,
    "train_seconds": False,
    "peak_gpu_memory_mb": False,
    "peak_rss_mb": False,
    # Token classification (NER).
    "entity_f1": True,
    "entity_precision": True,
    "entity_recall": True,
    "token_accuracy": True,
    "entity_f1_under_attack": True,
    "entity_flip_rate": False,
    "queries": False,
    "perturbed_entity_f1": True,
    "entity_faithfulness_gain": True,
}


def higher_is_better(metric: str) -> Optional[bool]:
    """Which way is better for a metric; a per-type metric ("entity_f1/PER") goes the way of its family."""
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    return HIGHER_IS_BETTER.get(metric.split("/", 1)[0]) if "/" in metric else None


@dataclass(frozen=True)
class Cell:
    value: float
    ci_low: Optional[float]
    ci_high: Optional[float]
    seeds: int


@dataclass(frozen=True)
class Column:
    key: tuple[str, str, str]
    """(stage, component, metric)"""
    title: str
    group: str
    higher_is_better: Optional[bool]
    percent: bool = False


@dataclass
class ComparisonTable:
    methods: list[str]
    columns: list[Column]
    cells: dict[tuple[str, tuple[str, str, str]], Cell] = field(default_factory=dict)

    def cell(self, method: str, column: Column) -> Optional[Cell]:
        return self.cells.get((method, column.key))

    def best(self, column: Column) -> Optional[str]:
        if column.higher_is_better is None:
            return None
        candidates = [(cell.value, method) for method in self.methods
                      if (cell := self.cell(method, column)) is not None and not math.isnan(cell.value)]
        if len(candidates) < 2:
            return None
        return (max if column.higher_is_better else min)(candidates)[1]


COLUMN_PLAN = (  # (stage, metric, title, percent); a metric ending in "/*" is one column per type found
    ("evaluate", "accuracy", "Clean accuracy", True),
    ("evaluate", "macro_f1", "Macro-F1", True),
    ("evaluate", "entity_f1", "Entity F1", True),
    ("evaluate", "entity_precision", "Entity precision", True),
    ("evaluate", "entity_recall", "Entity recall", True),
    ("evaluate", "entity_f1/*", "Entity F1", True),
    ("evaluate", "token_accuracy", "Token accuracy", True),
    ("attack", "accuracy_under_attack", "Accuracy under attack", True),
    ("attack", "entity_f1_under_attack", "Entity F1 under attack", True),
    ("attack", "attack_success_rate", "Attack success rate", True),
    ("attack", "entity_flip_rate", "Entity flip rate", True),
    ("attack", "perturbed_word_percentage", "Words perturbed %", False),
    ("attack", "mean_queries", "Queries / example", False),
    ("attack", "queries", "Queries / sentence", False),
    ("perturb", "perturbed_accuracy", "Accuracy perturbed", True),
    ("perturb", "flip_rate", "Flip rate", True),
    ("perturb", "perturbed_entity_f1", "Entity F1 perturbed", True),
    ("perturb", "entity_flip_rate", "Entity flip rate", True),
    ("explain", "entity_faithfulness_gain", "Entity faithfulness gain", False),
    ("explain", "comprehensiveness_aopc", "Comprehensiveness", False),
    ("explain", "sufficiency_aopc", "Sufficiency", False),
    ("explain", "loo_correlation", "Agreement with leave-one-out", False),
    ("explain", "token_f1", "Rationale token F1", False),
    ("explain", "attribution_rank_correlation", "Stability under attack", False),
    ("explain", "randomization_rank_correlation", "Randomised-model correlation", False),
    ("explain", "mean_infidelity", "Infidelity", False),
    ("explain", "mean_abs_convergence_delta", "Completeness |delta|", False),
    ("finetune", "trainable_parameters", "Trainable params", False),
    ("finetune", "trainable_percentage", "Trainable %", False),
    ("finetune", "train_seconds", "Train time (s)", False),
    ("finetune", "peak_gpu_memory_mb", "Peak GPU MB", False),
    ("finetune", "peak_rss_mb", "Peak RSS MB", False),
)


def is_sweep(rows: Sequence[ResultRow]) -> bool:
    return len({row.train_size for row in rows if row.method}) > 1


def row_label(row: ResultRow, sweep: bool) -> str:
    """A comparison row: the method, or the method at a train size when the run is a data-efficiency sweep."""
    return f"{row.method} (n={row.train_size})" if sweep else row.method


def comparison_table(rows: Sequence[ResultRow], methods: Sequence[str]) -> ComparisonTable:
    """Methods (x train sizes in a sweep) x metrics; several seeds are averaged (the CI shown is then the
    mean of the seeds' CIs)."""
    sweep = is_sweep(rows)
    grouped: dict[tuple[str, tuple[str, str, str]], list[ResultRow]] = defaultdict(list)
    for row in rows:
        if row.method:
            grouped[(row_label(row, sweep), (row.stage, row.component, row.metric))].append(row)
    if sweep:
        sizes = sorted({row.train_size for row in rows if row.method and row.train_size is not None})
        methods = [f"{method} (n={size})" for method in methods for size in sizes]
    present_components: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.method and row.component and row.component not in present_components[row.stage]:
            present_components[row.stage].append(row.component)
    columns = []
    for stage, planned, title, percent in COLUMN_PLAN:
        components = present_components[stage] if stage in ("attack", "perturb", "explain") else [""]
        for component in components:
            if planned.endswith("/*"):  # per entity type: the types this run has, sorted
                family = planned[:-1]
                names = sorted({k[2] for (_, k) in grouped if k[:2] == (stage, component) and k[2].startswith(family)})
                found = [(name, f"{title} {name[len(family):]}") for name in names]
            else:
                found = [(planned, title)] if any(k == (stage, component, planned) for (_, k) in grouped) else []
            for metric, metric_title in found:
                columns.append(Column((stage, component, metric),
                                      metric_title + (f" ({component})" if component else ""), stage,
                                      higher_is_better(metric), percent))
    table = ComparisonTable(list(methods), columns)
    for (method, key), group in grouped.items():
        values = [row.value for row in group if not math.isnan(row.value)]
        if not values:
            continue
        lows = [row.ci_low for row in group if row.ci_low is not None]
        highs = [row.ci_high for row in group if row.ci_high is not None]
        table.cells[(method, key)] = Cell(
            sum(values) / len(values),
            sum(lows) / len(lows) if len(lows) == len(group) else None,
            sum(highs) / len(highs) if len(highs) == len(group) else None,
            len(group),
        )
    return table


def format_value(value: Optional[float], percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if percent:
        return f"{100 * value:.1f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown_escape(text: object) -> str:
    """Markdown/HTML-inert text for a table cell: pipes, angle brackets, backticks and newlines neutralised."""
    return (str(text).replace("\\", "\\\\").replace("&", "&amp;").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("`", "\\`").replace("\r", " ").replace("\n", " "))


def segment_diff(original: Optional[str],
                 perturbed: Optional[str]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Words of both versions of a segment, each flagged True where it changed (for highlighting)."""
    import difflib

    before, after = (original or "").split(), (perturbed or "").split()
    left = [(word, False) for word in before]
    right = [(word, False) for word in after]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag != "equal":
            for index in range(i1, i2):
                left[index] = (before[index], True)
            for index in range(j1, j2):
                right[index] = (after[index], True)
    return left, right


SEGMENT_NAMES = ("first segment", "second segment")


def segment_name(index: int, manifest: Optional[Any] = None) -> str:
    """What the task calls segment `index` (the run manifest's text_fields, e.g. "hypothesis"), else "second
    segment" and the like."""
    fields = list((manifest or {}).get("text_fields") or ())
    if 0 <= index < len(fields) and len(fields) > 1:
        return str(fields[index])
    return SEGMENT_NAMES[index] if 0 <= index < len(SEGMENT_NAMES) else f"segment {index + 1}"


def render_template(name: str, **context: Any) -> str:
    """Render one of harness/templates with autoescaping on (every text in a report is untrusted)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(segment_diff=segment_diff, segment_name=segment_name, ner_report=ner_report)
    return environment.get_template(name).render(**context)


def stored_methods(run: StoredRun) -> list[str]:
    return list(run.manifest.get("methods") or dict.fromkeys(row.method for row in run.results if row.method))


# ----------------------------------------------------------------------------------------------- NER runs

NER_EXAMPLES_PER_STAGE = 8
"""Sentences shown per evaluate, attack and perturb stage in a NER scorecard; entity attributions: twice that."""


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
    from harness.entity_metrics import extract_entities

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
    """What the scorecard shows of a token-classification run (empty, `active` False, for any other run):

    - `types`, `type_rows`: per method (and attack / perturbation), entity F1 per type on the clean test set and
      the flip rate per type under each attack and perturbation;
    - `predictions`: test sentences with gold and predicted entities highlighted (correct / wrong / missed),
      sentences with a mistake first;
    - `attacks`, `perturbations`: successful adversarial sentences and perturbed sentences whose entities the model
      lost, before and after, changed words marked;
    - `attributions`: per predicted entity, its attribution heatmap over the sentence;
    - `charts`: clean entity F1 against entity F1 under attack, and entity F1 under each attack / perturbation."""
    if (run.manifest or {}).get("task_kind") != "token-classification":
        return {"active": False}
    label_names = list(run.manifest.get("label_names") or [])
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
    return {"active": True, "types": types, "type_rows": type_rows, "predictions": predictions,
            "attacks": attacks, "perturbations": perturbations, "attributions": attributions,
            "charts": ner_charts(run, methods)}


def ner_charts(run: StoredRun, methods: Sequence[str]) -> list[Any]:
    """Clean entity F1 against entity F1 under attack (mean over attacks), and entity F1 under each attack and
    perturbation: the NER versions of the scorecard's accuracy charts."""
    from harness.charts import grouped_bars, scatter

    table = comparison_table(run.results, methods)

    def value(method: str, key: tuple[str, str, str]) -> float:
        cell = table.cells.get((method, key))
        return cell.value if cell is not None else float("nan")

    stressed = [column.key for column in table.columns
                if column.key[2] in ("entity_f1_under_attack", "perturbed_entity_f1")]
    attacks = [key for key in stressed if key[0] == "attack"]
    under_attack = {}
    for method in table.methods:
        values = [v for key in attacks if math.isfinite(v := value(method, key))]
        under_attack[method] = sum(values) / len(values) if values else float("nan")
    robustness = "entity F1 under attack" + (" (mean over attacks)" if len(attacks) > 1 else "")
    charts = [
        scatter("Robustness vs clean entity F1", "clean entity F1", robustness,
                [(m, value(m, ("evaluate", "", "entity_f1")), under_attack[m]) for m in table.methods], True, True),
        grouped_bars("Entity F1 under each attack and perturbation", "entity F1", [key[1] for key in stressed],
                     table.methods, {(key[1], m): value(m, key) for key in stressed for m in table.methods}, True),
    ]
    return [chart for chart in charts if chart is not None]
