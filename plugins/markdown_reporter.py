"""Reporter `markdown`: summary.md, the run in a few lines of Markdown for CI step summaries and PR comments.

Gates first (what decides the build; p-values raw and Holm-adjusted; underpowered gates flagged), then the
comparison table (values with 95% CIs, the best of each column in bold), then what the run's task kind adds
(`ReportView.markdown_sections`, Markdown the kind escaped itself), then failed stages. Text from suites and
plugins is escaped so it cannot break the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness import GateOutcome, ReportRequest, ReportView, hookimpl


@dataclass(frozen=True)
class MarkdownConfig:
    max_columns: int = 12
    """Compared metrics shown (the most important first); the rest are in the HTML scorecard."""


class MarkdownReporter:
    def __init__(self, config: MarkdownConfig):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text, comparison_table, format_value, stored_methods
        from harness import markdown_escape as escape

        run = request.run
        manifest = run.manifest
        lines = [f"## Scorecard: {escape(manifest.get('suite', ''))}", "",
                 f"task **{escape(manifest.get('task', ''))}** · model **{escape(manifest.get('model', ''))}** · "
                 f"seeds {escape(', '.join(str(seed) for seed in manifest.get('seeds', [])))} · "
                 f"device {escape(manifest.get('device', ''))} · run `{escape(manifest.get('run_id', ''))}`", ""]
        if run.gates:
            lines += _gate_lines(run.gates)
        table = comparison_table(run.results, stored_methods(run))
        columns = table.columns[: self.config.max_columns]
        if columns:
            lines += ["### Methods compared", "",
                      "| method | " + " | ".join(escape(column.title) for column in columns) + " |",
                      "|---|" + "---|" * len(columns)]
            for method in table.methods:
                values = []
                for column in columns:
                    cell = table.cell(method, column)
                    if cell is None:
                        values.append("–")
                        continue
                    text = format_value(cell.value, column.percent)
                    if cell.ci_low is not None and cell.ci_high is not None:
                        text += (f" ({format_value(cell.ci_low, column.percent)}"
                                 f"–{format_value(cell.ci_high, column.percent)})")
                    values.append(f"**{text}**" if table.best(column) == method else text)
                lines.append(f"| {escape(method)} | " + " | ".join(values) + " |")
            lines += ["", "Percentages for accuracies and rates; 95% CIs in brackets (Wilson score for accuracies "
                          "and rates, percentile bootstrap otherwise); best of each column in bold.", ""]
        view = request.view if request.view is not None else ReportView()
        for section in view.markdown_sections:
            lines += [section.rstrip("\n"), ""]
        failed_stages = [stage for stage in run.stages if stage.status == "error"]
        if failed_stages:
            lines += ["### Failed stages", ""]
            lines += [f"- `{escape(stage.stage_id)}` (plugin {escape(stage.plugin)}): {escape(stage.error)}"
                      for stage in failed_stages]
            lines.append("")
        path = request.output_dir / "summary.md"
        atomic_write_text(path, "\n".join(lines))
        return [path]


VERDICTS = {"passed": "✅ pass", "failed": "❌ FAIL", "skipped": "⏭ skipped", "underpowered": "⚠️ underpowered"}


def _gate_lines(gates: Sequence[GateOutcome]) -> list[str]:
    """The gates table: verdict, measured value, p-values (raw and Holm-adjusted) where a gate tested, detail."""
    from harness import format_value
    from harness import markdown_escape as escape

    failed = sum(gate.verdict == "failed" for gate in gates)
    underpowered = sum(gate.verdict == "underpowered" for gate in gates)
    title = "all passed" if not failed else f"{failed} of {len(gates)} failed"
    title += f", {underpowered} underpowered" if underpowered else ""
    p_value = lambda value: "–" if value is None else f"{value:.3g}"  # noqa: E731
    lines = [f"### Gates: {title}", ""]
    if underpowered:
        lines += ["⚠️ An underpowered gate held only because its sample is too small to detect the move it allows "
                  "(its detail says the sample that would suffice); it does not fail the build.", ""]
    lines += ["| gate | result | measured | p | p (Holm) | detail |", "|---|---|---|---|---|---|"]
    lines += [f"| {escape(gate.description)} | {VERDICTS[gate.verdict]} | {format_value(gate.measured, False)} | "
              f"{p_value(gate.p_value)} | {p_value(gate.adjusted_p_value)} | {escape(gate.detail)} |"
              for gate in gates]
    return lines + [""]


@hookimpl
def register_reporters(register):
    register("markdown", MarkdownReporter, config=MarkdownConfig,
             description="summary.md: gates and the comparison table in Markdown (CI step summaries, PR comments)")
