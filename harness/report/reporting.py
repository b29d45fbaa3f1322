"""Helpers reporters share: a method-by-column summary of the results table, and template rendering.

Templates get two helpers for sentence pairs (records with `original_text_pair` / `segments`, see
harness.core.pairs): `segment_diff(original, perturbed)`, the changed words of a pair's second segment, and
`segment_name(index, manifest)`, how a drill-down labels a segment; and `stability_limit`, the randomised-model
correlation above which a stability value is struck out (ComparisonTable.caveats). What a task kind adds to a
report (the entity tables of a NER run, say) comes from the kind (`TaskKind.report_view`, harness.kinds), rendered
from the kind's own templates with the same environment (`template_environment(package)`).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from harness.core.names import reads_as_formula
from harness.core.types import ResultRow, StoredRun
from harness.explain.quality import STABILITY_RANDOMIZATION_LIMIT, stability_caveat

# Which way is better for each metric the scorecard compares (True: higher is better).
HIGHER_IS_BETTER = {
    "accuracy": True,
    "macro_f1": True,
    "accuracy_under_attack": True,
    "attack_success_rate": False,
    "valid_success_rate": False,
    "valid_accuracy_under_attack": True,
    "valid_adversarial_share": False,
    "human_acceptance": False,
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
    # Extractive question answering.
    "exact_match": True,
    "f1": True,
    "has_answer_exact_match": True,
    "has_answer_f1": True,
    "no_answer_exact_match": True,
    "no_answer_f1": True,
    "f1_under_attack": True,
    "answer_in_distractor_rate": False,
    "perturbed_f1": True,
    "answer_change_rate": False,
    "answer_faithfulness_gain": True,
    # Text generation.
    "bleu": True,
    "chrf": True,
    "rouge1": True,
    "rouge2": True,
    "rougeL": True,
    "perturbed_chrf": True,
    "score_drop": False,
    "performance_drop_rate": False,
    "output_change_rate": False,
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
    caveats: dict[tuple[str, tuple[str, str, str]], str] = field(default_factory=dict)
    """(method, column key) -> why the cell's value does not mean what its column says (struck out in reports)."""

    def cell(self, method: str, column: Column) -> Optional[Cell]:
        return self.cells.get((method, column.key))

    def caveat(self, method: str, column: Column) -> Optional[str]:
        return self.caveats.get((method, column.key))

    def best(self, column: Column) -> Optional[str]:
        if column.higher_is_better is None:
            return None
        # A value with a caveat is no winner: a meaningless 0.99 must not outrank a meaningful 0.6.
        candidates = [(cell.value, method) for method in self.methods
                      if (cell := self.cell(method, column)) is not None and not math.isnan(cell.value)
                      and self.caveat(method, column) is None]
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
    ("evaluate", "exact_match", "Exact match", True),
    ("evaluate", "f1", "F1", True),
    ("evaluate", "bleu", "BLEU", False),
    ("evaluate", "chrf", "chrF", False),
    ("evaluate", "rougeL", "ROUGE-L", True),
    ("attack", "accuracy_under_attack", "Accuracy under attack", True),
    ("attack", "entity_f1_under_attack", "Entity F1 under attack", True),
    ("attack", "f1_under_attack", "F1 under attack", True),
    ("attack", "answer_in_distractor_rate", "Answers in the distractor", True),
    ("attack", "performance_drop_rate", "PDR", True),
    ("attack", "attack_success_rate", "Attack success rate", True),
    ("judge", "valid_success_rate", "Valid success rate", True),
    ("judge", "judge_acceptance/*", "Accepted by", True),
    ("rating", "human_acceptance", "Valid by human raters", True),
    ("attack", "entity_flip_rate", "Entity flip rate", True),
    ("attack", "perturbed_word_percentage", "Words perturbed %", False),
    ("attack", "mean_queries", "Queries / example", False),
    ("attack", "queries", "Queries / sentence", False),
    ("perturb", "perturbed_accuracy", "Accuracy perturbed", True),
    ("perturb", "flip_rate", "Flip rate", True),
    ("perturb", "perturbed_entity_f1", "Entity F1 perturbed", True),
    ("perturb", "entity_flip_rate", "Entity flip rate", True),
    ("perturb", "perturbed_f1", "F1 perturbed", True),
    ("perturb", "answer_change_rate", "Answer change rate", True),
    ("perturb", "score_drop", "Score drop", False),
    ("perturb", "output_change_rate", "Output change rate", True),
    ("explain", "entity_faithfulness_gain", "Entity faithfulness gain", False),
    ("explain", "answer_faithfulness_gain", "Answer faithfulness gain", False),
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
        components = present_components[stage] if stage in ("attack", "judge", "rating", "perturb", "explain") else [""]
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
    table.caveats.update(stability_caveats(table))
    return table


def stability_caveats(table: ComparisonTable) -> dict[tuple[str, tuple[str, str, str]], str]:
    """The stability cells whose explainer barely depends on the model (harness.explain.quality.stability_caveat),
    judged by the randomised-model correlation of the same method and explainer (the mean over seeds, as shown)."""
    caveats = {}
    for (method, (stage, component, metric)) in table.cells:
        if stage == "explain" and metric == "attribution_rank_correlation":
            randomization = table.cells.get((method, (stage, component, "randomization_rank_correlation")))
            reason = stability_caveat(randomization.value if randomization is not None else None)
            if reason is not None:
                caveats[(method, (stage, component, metric))] = reason
    return caveats


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


_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    """`text` without the characters XML 1.0 cannot carry (most C0 controls, lone surrogates, U+FFFE/U+FFFF), so
    that an error message or a name holding one still gives a well-formed document."""
    return _XML_FORBIDDEN.sub("", str(text))


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe, as OWASP advises; numbers, and text that is a number, stay as they are."""
    return "'" + value if isinstance(value, str) and reads_as_formula(value) else value


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


def template_environment(package: str = "harness.report") -> Any:
    """The jinja2 environment of the templates/ directory of `package` ("harness.report", or a task kind's package such
    as "harness.kinds.token"), which also finds harness.report's templates (a kind's sections import its tables.html):
    autoescaping on (every text in a report is untrusted), and the helpers above as globals."""
    import jinja2

    loaders = [jinja2.PackageLoader(package, "templates")]
    if package != "harness.report":
        loaders.append(jinja2.PackageLoader("harness.report", "templates"))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(segment_diff=segment_diff, segment_name=segment_name,
                               stability_limit=STABILITY_RANDOMIZATION_LIMIT)
    return environment


def render_template(name: str, /, package: str = "harness.report", **context: Any) -> str:
    """Render one of harness/report/templates (or of the templates/ of `package`) with autoescaping on."""
    return template_environment(package).get_template(name).render(**context)


def stored_methods(run: StoredRun) -> list[str]:
    return list(run.manifest.get("methods") or dict.fromkeys(row.method for row in run.results if row.method))


PlannedColumn = tuple[str, str, bool, bool]
"""(metric, title, higher is better, printed as a percentage) of a kind's own methods table; a component column's
title has a "{}" for the attack's or perturbation's label."""


def kind_table(run: StoredRun, evaluate_columns: Sequence[PlannedColumn],
               component_columns: dict[str, Sequence[PlannedColumn]]) -> ComparisonTable:
    """A kind's methods table: methods (x train sizes in a sweep; seeds averaged, as in the comparison table) x the
    evaluate stage's `evaluate_columns` and, per attack and perturbation found (`component_columns` by stage), its
    columns; only the columns and the methods with a value."""
    full = comparison_table(run.results, stored_methods(run))
    planned = [(("evaluate", "", metric), title, better, percent)
               for metric, title, better, percent in evaluate_columns]
    for stage, metrics in component_columns.items():
        components = dict.fromkeys(row.component for row in run.results if row.method and row.stage == stage)
        planned += [((stage, component, metric), title.format(component), better, percent)
                    for component in components for metric, title, better, percent in metrics]
    columns = [Column(key, title, key[0], better, percent) for key, title, better, percent in planned
               if any((method, key) in full.cells for method in full.methods)]
    keys = {column.key for column in columns}
    methods = [method for method in full.methods if any((method, key) in full.cells for key in keys)]
    return ComparisonTable(methods, columns, {(method, key): cell for (method, key), cell in full.cells.items()
                                              if key in keys and method in methods})


def kind_markdown_table(table: ComparisonTable, heading: str, legend: str) -> str:
    """A kind's methods table in Markdown under `heading` (values with their 95% intervals, best of each column in
    bold), then `legend`; "" for a table without columns or methods."""
    if not table.columns or not table.methods:
        return ""
    lines = [f"### {heading}", "",
             "| method | " + " | ".join(markdown_escape(column.title) for column in table.columns) + " |",
             "|---|" + "---|" * len(table.columns)]
    for method in table.methods:
        values = []
        for column in table.columns:
            cell = table.cell(method, column)
            text = "–" if cell is None else format_value(cell.value, column.percent)
            if cell is not None and cell.ci_low is not None and cell.ci_high is not None:
                text += f" ({format_value(cell.ci_low, column.percent)}–{format_value(cell.ci_high, column.percent)})"
            values.append(f"**{text}**" if cell is not None and table.best(column) == method else text)
        lines.append(f"| {markdown_escape(method)} | " + " | ".join(values) + " |")
    return "\n".join([*lines, "", legend, ""])


def record_text(record: Mapping[str, Any], name: str) -> str:
    """A per-example record's text field, or "" where it is missing or not text (a report never fails on one)."""
    value = record.get(name)
    return value if isinstance(value, str) else ""


def record_number(record: Mapping[str, Any], name: str) -> Optional[float]:
    """A per-example record's finite number, or None where it is missing, not a number or not finite."""
    value = record.get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
