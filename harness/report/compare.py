"""`harness compare RUN_A RUN_B`: what changed between two runs, metric by metric, and whether it is real.

For every method and compared metric (the scorecard's columns) present in both runs: A, B, the difference B - A,
and, where per-example outcomes are stored, a paired test (McNemar on examples both runs saw; for text generation's
BLEU, chrF, ROUGE and exact match, sacreBLEU's paired bootstrap test on the stored outputs); a difference is
called better or worse only when that test is significant at `alpha`. The tests are many (every method x metric),
so by default their p-values are adjusted together with Holm-Bonferroni and the adjusted p-value decides; both are
shown ("p", "p (Holm)"). Written as compare.html and compare.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from harness.core.errors import HarnessError
from harness.core.files import atomic_write_text
from harness.core.store import data_mismatch, read_run
from harness.core.types import StoredRun
from harness.explain.significance import (
    GENERATED_OUTPUTS,
    PairedTest,
    corrected,
    is_binary,
    paired_generations,
    paired_outcomes,
    stage_generations,
    stage_outcomes,
)
from harness.report.reporting import comparison_table, format_value, markdown_escape, render_template, stored_methods


@dataclass(frozen=True)
class MetricChange:
    method: str
    title: str
    key: tuple[str, str, str]
    """(stage, component, metric)"""
    percent: bool
    higher_is_better: Optional[bool]
    a: Optional[float]
    b: Optional[float]
    test: Optional[PairedTest]
    alpha: float
    adjusted_p_value: Optional[float] = None
    """The test's p-value adjusted (Holm-Bonferroni) for every test of the comparison; None without a test or with
    the correction turned off."""

    @property
    def delta(self) -> Optional[float]:
        if self.a is None or self.b is None or math.isnan(self.a) or math.isnan(self.b):
            return None
        return self.b - self.a

    @property
    def significant(self) -> bool:
        """The (adjusted, where adjusted) p-value is below alpha."""
        if self.test is None:
            return False
        return (self.adjusted_p_value if self.adjusted_p_value is not None else self.test.p_value) < self.alpha

    @property
    def verdict(self) -> str:
        """"better", "worse", "no significant change", or "" where no test applies."""
        if self.delta is None or self.test is None:
            return ""
        if not self.significant or self.delta == 0 or self.higher_is_better is None:
            return "no significant change"
        return "better" if (self.delta > 0) == self.higher_is_better else "worse"


def paired_test(run_a: StoredRun, run_b: StoredRun, method: str, stage_kind: str, component: str,
                metric: str) -> Optional[PairedTest]:
    """The paired test of one metric of one method across the two runs, pooling seeds (examples keyed by seed)."""

    def pooled(run: StoredRun, read) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for stage in run.stages:
            if (stage.kind == stage_kind and stage.method == method and stage.status in ("computed", "cached")
                    and (stage_kind == "evaluate" or stage.component == component)):
                for example_id, value in (read(run, stage, metric) or {}).items():
                    values[f"{stage.seed}:{example_id}"] = value
        return values

    if (stage_kind, metric) in GENERATED_OUTPUTS:  # text generation: sacreBLEU's paired test on the outputs
        a, b = pooled(run_a, stage_generations), pooled(run_b, stage_generations)
        return paired_generations(stage_kind, metric, a, b) if a and b else None
    if not is_binary(stage_kind, metric):
        return None
    a, b = pooled(run_a, stage_outcomes), pooled(run_b, stage_outcomes)
    return paired_outcomes(a, b, binary=True) if a and b else None


def compare_runs(run_a: StoredRun, run_b: StoredRun, alpha: float = 0.05, paired: bool = True,
                 correction: str = "holm") -> list[MetricChange]:
    """Every method x compared metric of the two runs, each with its paired test where one applies; `correction`
    ("holm" or "none") adjusts the p-values of all those tests together."""
    methods = list(dict.fromkeys(stored_methods(run_a) + stored_methods(run_b)))
    table_a, table_b = comparison_table(run_a.results, methods), comparison_table(run_b.results, methods)
    # B's columns in the scorecard's order, then any that only A has.
    columns = {column.key: column for column in table_b.columns}
    columns.update({column.key: column for column in table_a.columns if column.key not in columns})
    changes = []
    for method in methods:
        for key, column in columns.items():
            cell_a, cell_b = table_a.cells.get((method, key)), table_b.cells.get((method, key))
            if cell_a is None and cell_b is None:
                continue
            stage, component, metric = key
            test = (paired_test(run_a, run_b, method, stage, component, metric)
                    if cell_a and cell_b and paired else None)
            changes.append(MetricChange(method, column.title, key, column.percent, column.higher_is_better,
                                        cell_a.value if cell_a else None, cell_b.value if cell_b else None, test,
                                        alpha))
    tested = [index for index, change in enumerate(changes) if change.test is not None]
    for index, adjusted in zip(tested, corrected([changes[index].test.p_value for index in tested], correction)):
        changes[index] = replace(changes[index], adjusted_p_value=adjusted)
    return changes


def format_delta(change: MetricChange) -> str:
    if change.delta is None:
        return "–"
    text = format_value(change.delta, change.percent)
    return ("+" + text) if change.delta > 0 else text


def write_comparison(run_a_dir: Path, run_b_dir: Path, output_dir: Path, alpha: float = 0.05,
                     allow_different_data: bool = False, correction: str = "holm") -> list[Path]:
    """compare.html and compare.md of two runs. HarnessError when they used a different task or test set (their
    examples cannot be paired), unless `allow_different_data`: then the numbers are compared without paired tests."""
    run_a, run_b = read_run(run_a_dir), read_run(run_b_dir)
    problem = data_mismatch(run_a.manifest, run_b.manifest, f"run A ({run_a_dir})", f"run B ({run_b_dir})")
    if problem is not None and not allow_different_data:
        raise HarnessError(f"{problem}; their per-example outcomes cannot be paired. Pass --allow-different-data to "
                           f"compare the numbers anyway (no paired test is run then)")
    changes = compare_runs(run_a, run_b, alpha, paired=problem is None, correction=correction)
    output_dir.mkdir(parents=True, exist_ok=True)
    html_path, markdown_path = output_dir / "compare.html", output_dir / "compare.md"
    atomic_write_text(html_path, render_template("compare.html", run_a=run_a, run_b=run_b, changes=changes,
                                                 alpha=alpha, format_value=format_value, format_delta=format_delta,
                                                 format_p=format_p, holm=correction == "holm",
                                                 tests=sum(change.test is not None for change in changes)))
    atomic_write_text(markdown_path, _markdown(run_a, run_b, changes, alpha, correction == "holm"))
    return [html_path, markdown_path]


def format_p(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3g}"


def _markdown(run_a: StoredRun, run_b: StoredRun, changes: Sequence[MetricChange], alpha: float, holm: bool) -> str:
    name = lambda run: markdown_escape(run.manifest.get("run_id", run.run_dir.name))  # noqa: E731
    tests = sum(change.test is not None for change in changes)
    adjusted = (f" after Holm-Bonferroni adjustment over the {tests} paired tests (\"p (Holm)\"; \"p\" is each "
                f"test's own)" if holm else " (no multiple-comparison correction)")
    lines = [f"## Comparison: {name(run_a)} (A) → {name(run_b)} (B)", "",
             f"B - A per method and metric; better/worse only where a paired test on the examples both runs saw "
             f"is significant at alpha = {alpha:g}{adjusted} (McNemar for per-example outcomes; sacreBLEU's paired "
             f"bootstrap for generated text).", "",
             "| method | metric | A | B | B - A | p | p (Holm) | verdict |" if holm
             else "| method | metric | A | B | B - A | p | verdict |",
             "|---|---|---|---|---|---|---|---|" if holm else "|---|---|---|---|---|---|---|"]
    for change in changes:
        p_value = format_p(change.test.p_value if change.test else None)
        if holm:
            p_value += f" | {format_p(change.adjusted_p_value)}"
        verdict = {"better": "✅ better", "worse": "❌ worse"}.get(change.verdict, change.verdict)
        lines.append(f"| {markdown_escape(change.method)} | {markdown_escape(change.title)} | "
                     f"{format_value(change.a, change.percent)} | {format_value(change.b, change.percent)} | "
                     f"{format_delta(change)} | {p_value} | {verdict} |")
    return "\n".join(lines) + "\n"
