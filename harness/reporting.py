"""Helpers reporters share: a method-by-column summary of the results table, and template rendering.

Templates get two helpers for sentence pairs (records with `original_text_pair` / `segments`, see
harness.pairs): `segment_diff(original, perturbed)`, the changed words of a pair's second segment, and
`segment_name(index, manifest)`, how a drill-down labels a segment.
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
}


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


COLUMN_PLAN = (  # (stage, metric, title, percent)
    ("evaluate", "accuracy", "Clean accuracy", True),
    ("evaluate", "macro_f1", "Macro-F1", True),
    ("attack", "accuracy_under_attack", "Accuracy under attack", True),
    ("attack", "attack_success_rate", "Attack success rate", True),
    ("attack", "perturbed_word_percentage", "Words perturbed %", False),
    ("attack", "mean_queries", "Queries / example", False),
    ("perturb", "perturbed_accuracy", "Accuracy perturbed", True),
    ("perturb", "flip_rate", "Flip rate", True),
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
    for stage, metric, title, percent in COLUMN_PLAN:
        components = present_components[stage] if stage in ("attack", "perturb", "explain") else [""]
        for component in components:
            key = (stage, component, metric)
            if any(k == key for (_, k) in grouped):
                columns.append(Column(key, f"{title}" + (f" ({component})" if component else ""),
                                      stage, HIGHER_IS_BETTER.get(metric), percent))
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


def segment_diff(original: Optional[str], perturbed: Optional[str]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
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
    environment.globals.update(segment_diff=segment_diff, segment_name=segment_name)
    return environment.get_template(name).render(**context)


def stored_methods(run: StoredRun) -> list[str]:
    return list(run.manifest.get("methods") or dict.fromkeys(row.method for row in run.results if row.method))
