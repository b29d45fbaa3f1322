"""What the reports show of a text-generation run: the kind's ReportView.

`generation_table(run)` is the generation methods table (BLEU, chrF, ROUGE, exact match, verbaliser accuracy, and
under each adversarial prompt and perturbation its performance drop rate and score drop, with intervals);
`generation_report(run)` adds the drill-downs, built from the store's records alone like everything in a report:
the worst outputs of each cell with their references, each adversarial prompt beside the original instruction
(changed words marked) and the outputs it changed, and each perturbed input beside the original and both outputs
(changed words marked). `report_view(run)` renders them (templates/generation_sections.html) into the sections the
HTML and Markdown reporters place. Explained outputs are heatmaps over the prompt's words, the instruction's words
set apart from the input's.

The records read (as harness.kinds.generation.stages writes them): evaluate `generations`, attack `prompt-attack`
and `prompt-attack-outputs`, perturb `generation-perturb`, explain `generation-attributions`. A stage that did not
run, or a record without a field, leaves its part out rather than failing the report.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from harness.core.types import StoredRun
from harness.kinds.base import ReportView
from harness.kinds.generation.training import GenerationTraining
from harness.kinds.qa.report import changed_spans, chunk_text
from harness.report.reporting import (
    ComparisonTable,
    format_value,
    kind_markdown_table,
    kind_table,
    record_number,
    record_text,
    template_environment,
)

EXAMPLES_PER_STAGE = 6
"""Examples shown per evaluate, attack and perturb stage of a cell."""
TEMPLATES_PACKAGE = "harness.kinds.generation"

# (metric, title, higher is better, printed as a percentage): BLEU and chrF are sacreBLEU's 0-100 points, the rest
# shares. A column shows only when some method has a value.
EVALUATE_COLUMNS = (("bleu", "BLEU", True, False), ("chrf", "chrF", True, False), ("rouge1", "ROUGE-1", True, True),
                    ("rouge2", "ROUGE-2", True, True), ("rougeL", "ROUGE-L", True, True),
                    ("exact_match", "Exact match", True, True), ("accuracy", "Accuracy", True, True))
COMPONENT_COLUMNS = {
    "attack": (("performance_drop_rate", "PDR ({})", False, True), ("score_drop", "score drop ({})", False, False)),
    "perturb": (("performance_drop_rate", "PDR ({})", False, True), ("score_drop", "score drop ({})", False, False)),
}


def _references(record: Mapping[str, Any]) -> list[str]:
    return [reference for reference in record.get("references") or () if isinstance(reference, str)]


def _diff(before: str, after: str) -> tuple[list[Any], list[Any]]:
    """Both texts as chunks with the words that differ marked "changed"."""
    left, right = changed_spans(before, after)
    return chunk_text(before, left), chunk_text(after, right)


def evaluate_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """An output beside its first reference, the words that differ marked in both."""
    references = _references(record)
    reference, output = _diff(references[0] if references else "", record_text(record, "output"))
    return {"example_id": str(record.get("example_id", "")), "prompt": record_text(record, "prompt"),
            "reference": reference, "other_references": references[1:], "output": output,
            "chrf": record_number(record, "chrf"), "bleu": record_number(record, "bleu"),
            "exact_match": record_number(record, "exact_match"), "correct": record_number(record, "correct")}


def attack_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """An example of the attack sample: its output under the original and the adversarial instruction."""
    before, after = _diff(record_text(record, "output_before"), record_text(record, "output_after"))
    return {"example_id": str(record.get("example_id", "")), "input": record_text(record, "input"),
            "references": _references(record), "output_before": before, "output_after": after,
            "changed": bool(record.get("output_changed"))}


def perturb_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """A perturbed example: input (or instruction) before and after, and the outputs before and after."""
    target = record_text(record, "target")
    fields = {"instruction": ("instruction",), "input": ("input",)}.get(target, ("instruction", "input"))
    input_before, input_after = _diff("".join(record_text(record, f"original_{field}") for field in fields),
                                      "".join(record_text(record, f"perturbed_{field}") for field in fields))
    output_before, output_after = _diff(record_text(record, "output_before"), record_text(record, "output_after"))
    return {"example_id": str(record.get("example_id", "")), "target": target, "references": _references(record),
            "input_before": input_before, "input_after": input_after, "output_before": output_before,
            "output_after": output_after, "changed": bool(record.get("output_changed"))}


def attribution_item(record: Mapping[str, Any]) -> dict[str, Any]:
    """An explained output as a heatmap over the prompt's words: (word, weight in [-1, 1], score, segment)."""
    words, segments = list(record.get("words") or ()), list(record.get("segments") or ())
    scores = [float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0.0
              for value in record.get("scores") or ()]
    largest = max((abs(score) for score in scores), default=0.0) or 1.0
    return {"example_id": str(record.get("example_id", "")), "output": record_text(record, "output"),
            "log_prob": record_number(record, "target_log_prob"), "delta": record_number(record, "convergence_delta"),
            "cells": [(str(word), score / largest, score, str(segment))
                      for word, score, segment in zip(words, scores, segments)]}


def _informative(stage_kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records shown first: the lowest sentence chrF (evaluate), changed outputs (attack, perturb)."""
    if stage_kind == "evaluate":
        return sorted(records, key=lambda record: record_number(record, "chrf") or 0.0)
    if stage_kind == "explain":
        return records
    return sorted(records, key=lambda record: not record.get("output_changed"))


def attack_summary(run: StoredRun, stage: Any) -> Optional[dict[str, Any]]:
    """The original and the adversarial instruction of an attack stage (changed words marked), from its trace."""
    trace = run.records(stage.stage_id, "prompt-attack")
    outputs = run.records(stage.stage_id, "prompt-attack-outputs")
    if not outputs:
        return None
    original = record_text(outputs[0], "original_instruction")
    adversarial = record_text(outputs[0], "adversarial_instruction")
    before, after = _diff(original, adversarial)
    scores = {record_text(record, "instruction"): record_number(record, "score") for record in trace}
    return {"original": before, "adversarial": after, "changed": original != adversarial,
            "score_before": scores.get(original), "score_after": scores.get(adversarial), "candidates": len(trace)}


def generation_report(run: StoredRun) -> dict[str, Any]:
    """`table` (generation_table) and the drill-down items of each finished evaluate, attack, perturb and explain
    stage."""
    finished = [stage for stage in run.stages if stage.status in ("computed", "cached")]
    several_seeds = len({stage.seed for stage in finished}) > 1
    builders = {"evaluate": ("generations", evaluate_item), "attack": ("prompt-attack-outputs", attack_item),
                "perturb": ("generation-perturb", perturb_item),
                "explain": ("generation-attributions", attribution_item)}
    items: dict[str, list[dict[str, Any]]] = {kind: [] for kind in builders}
    for stage in finished:
        if stage.kind not in builders:
            continue
        name, build = builders[stage.kind]
        records = run.records(stage.stage_id, name)
        if not records:
            continue
        entry = {"cell": f"{stage.method} · seed {stage.seed}" if several_seeds else stage.method,
                 "component": stage.component,
                 "examples": [build(record) for record in _informative(stage.kind, records)[:EXAMPLES_PER_STAGE]]}
        if stage.kind == "attack":
            entry["prompt"] = attack_summary(run, stage)
        items[stage.kind].append(entry)
    return {"table": generation_table(run), **items}


def generation_table(run: StoredRun, evaluate_columns: Any = EVALUATE_COLUMNS,
                     component_columns: Any = COMPONENT_COLUMNS) -> ComparisonTable:
    """Methods (seeds averaged, as in the comparison table) x the generation columns (`evaluate_columns`, and
    `component_columns` per attack and perturbation); only the columns and methods with a value."""
    return kind_table(run, evaluate_columns, component_columns)


CHART_COLUMNS = ((("rougeL", "ROUGE-L", True, True),),
                 {"attack": (("attacked_rougeL", "{}", True, True),),
                  "perturb": (("perturbed_rougeL", "{}", True, True),)})
"""The charts' score: ROUGE-L, a share every generation task has (BLEU and chrF are points, not shares)."""


def markdown_table(table: ComparisonTable) -> str:
    """The generation methods table in Markdown; "" for a run without generation results."""
    return kind_markdown_table(table, "Text generation", "BLEU and chrF in sacreBLEU's points (0-100), ROUGE, exact "
                               "match and accuracy in percent; PDR: PromptBench's performance drop rate of the "
                               "task's headline metric under each adversarial prompt and perturbation (lower is more "
                               "robust); 95% intervals in brackets; best of each column in bold.")


def _sections(*parts: Any) -> tuple[str, ...]:
    return tuple(str(part) for part in parts if str(part).strip())


def report_view(run: StoredRun) -> ReportView:
    """The scorecard's generation parts: the methods table, the drill-downs, their CSS, the ROUGE-L charts, the same
    table in Markdown, and the training curves scored by the task's headline metric."""
    from harness.report.charts import robustness_charts

    report = generation_report(run)
    if not report["table"].columns and not any(report[kind] for kind in ("evaluate", "attack", "perturb", "explain")):
        return ReportView(training_score_name=GenerationTraining.score_name)
    template = template_environment(TEMPLATES_PACKAGE).get_template("generation_sections.html")
    sections = template.make_module({"generation": report, "format_value": format_value})
    markdown = markdown_table(report["table"])
    charts = robustness_charts(generation_table(run, *CHART_COLUMNS), "rougeL",
                               ("attacked_rougeL", "perturbed_rougeL"), "ROUGE-L")
    return ReportView(charts=tuple(charts), html_sections=_sections(sections.methods_table()),
                      html_drilldowns=_sections(sections.drilldowns()), html_styles=_sections(sections.styles()),
                      markdown_sections=(markdown,) if markdown else (),
                      training_score_name=GenerationTraining.score_name)
