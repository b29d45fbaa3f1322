"""Reporter `csv`: comparison.csv, the scorecard's method-by-metric table for spreadsheets and pandas.

One row per method (per train size in a data-efficiency sweep); for each compared metric three columns: the value
and the bounds of its 95% confidence interval. The tidy table (one row per cell x stage x metric) is always in the
run's results.csv.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from harness import ReportRequest, hookimpl


class CsvReporter:
    def __init__(self, config=None):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text, comparison_table, spreadsheet_safe, stored_methods

        table = comparison_table(request.run.results, stored_methods(request.run))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        header = ["method"]
        for column in table.columns:
            name = "/".join(part for part in column.key if part)
            header += [name, f"{name}:ci_low", f"{name}:ci_high"]
        # Labels come from suites; a spreadsheet must not run one as a formula.
        writer.writerow([spreadsheet_safe(name) for name in header])
        for method in table.methods:
            row = [spreadsheet_safe(method)]
            for column in table.columns:
                cell = table.cell(method, column)
                row += ["", "", ""] if cell is None else [cell.value, _blank(cell.ci_low), _blank(cell.ci_high)]
            writer.writerow(row)
        path = request.output_dir / "comparison.csv"
        atomic_write_text(path, buffer.getvalue())
        return [path]


def _blank(value):
    return "" if value is None else value


@hookimpl
def register_reporters(register):
    register("csv", CsvReporter, description="comparison.csv: one row per method, value and CI per compared metric")
