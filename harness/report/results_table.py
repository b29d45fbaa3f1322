"""A run's tidy results table as a pandas DataFrame: one row per cell x stage x metric, typed columns.

What the README promises ("a tidy results table pandas reads") as one call, so that users need not know the
file layout or re-type the columns a plain `pd.read_csv` leaves as text or floats (missing confidence intervals,
counts). pandas is imported here only, when the function is called.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

from harness.core.types import RESULT_COLUMNS, ResultRow

if TYPE_CHECKING:
    import pandas

COLUMN_TYPES = {"task": "string", "model": "string", "method": "string", "seed": "int64", "stage": "string",
                "component": "string", "metric": "string", "value": "float64", "ci_low": "float64",
                "ci_high": "float64", "n": "Int64", "stage_key": "string", "train_size": "Int64"}
"""pandas dtypes of the columns: missing confidence bounds are NaN, missing counts <NA>."""


def _rows_from_json(path: Path) -> list[ResultRow]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [ResultRow(**{key: (float("nan") if key == "value" and value is None else value)
                             for key, value in row.items() if key in RESULT_COLUMNS})
                for row in document["results"]]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a harness results.json: {error}") from error


def results_frame(source: Union[str, "os.PathLike[str]"]) -> "pandas.DataFrame":
    """Load a run's results table as a pandas DataFrame with the columns of `harness.ResultRow`, in order.

    `source` is a run directory (its results.csv, written as the run goes), a results.csv, or a results.json (the
    json reporter's document). Raises FileNotFoundError when there is no table there, ValueError when the file is
    not a harness results table.
    """
    import pandas

    from harness.core.store import read_results

    path = Path(source)
    if path.is_dir():
        if (path / "results.csv").is_file():
            path = path / "results.csv"
        elif (path / "results.json").is_file():
            path = path / "results.json"
        else:
            raise FileNotFoundError(f"{path} holds no results table (no results.csv or results.json)")
    elif not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (give a run directory, its results.csv or results.json)")
    if path.suffix == ".json":
        rows = _rows_from_json(path)
    else:
        try:
            rows = read_results(path)
        except (KeyError, ValueError) as error:
            raise ValueError(f"{path} is not a harness results table: {error}") from error
    frame = pandas.DataFrame([dataclasses.astuple(row) for row in rows], columns=list(RESULT_COLUMNS))
    return frame.astype(COLUMN_TYPES)
