"""What a name a user chooses may contain: suite names, run ids, the `name:` of methods, attacks, perturbations,
explainers and gates. Names reach file names, terminals, JUnit XML and CSV cells, so they hold no control or
formatting characters (an ESC sequence would reach the terminal raw; XML 1.0 cannot carry most C0 controls), and a
name that becomes a directory is one safe path component that fits every file system."""

from __future__ import annotations

import unicodedata
from typing import Any, Optional

from harness.core.errors import HarnessError

MAX_NAME_CHARACTERS = 128
MAX_PATH_COMPONENT_BYTES = 200
"""File systems allow 255 bytes per path component (UTF-8); the harness adds suffixes to some names."""
FORBIDDEN_CATEGORIES = {"Cc": "a control character", "Cf": "a formatting character (e.g. a bidirectional override)",
                        "Cs": "a lone surrogate", "Zl": "a line separator", "Zp": "a paragraph separator"}


def name_problem(value: Any) -> Optional[str]:
    """Why `value` cannot be a name (a non-empty string of at most 128 characters without control or formatting
    characters), or None."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > MAX_NAME_CHARACTERS:
        return f"must be at most {MAX_NAME_CHARACTERS} characters, got {len(value)}"
    for position, character in enumerate(value):
        what = FORBIDDEN_CATEGORIES.get(unicodedata.category(character))
        if what is not None:
            return f"must not contain {what}: U+{ord(character):04X} at character {position + 1}"
    return None


def path_component_problem(value: Any) -> Optional[str]:
    """Why `value` cannot name a directory of its own (a name, without / \\ or a leading dot, of at most 200 UTF-8
    bytes), or None."""
    problem = name_problem(value)
    if problem is not None:
        return problem
    if any(character in value for character in "/\\"):
        return "must not contain / or \\"
    if value.startswith("."):
        return "must not start with a dot"
    if value != value.strip():
        return "must not start or end with whitespace"
    size = len(value.encode("utf-8"))
    if size > MAX_PATH_COMPONENT_BYTES:
        return f"must be at most {MAX_PATH_COMPONENT_BYTES} bytes in UTF-8 (a file name limit), got {size}"
    return None


def check_run_id(run_id: Optional[str]) -> None:
    """Raise HarnessError (exit code 2) unless `run_id` (`--run-id`; None: generated) is one safe path component:
    the run must land in its suite's directory, never beside it or in the stage cache."""
    problem = path_component_problem(run_id) if run_id is not None else None
    if problem is not None:
        raise HarnessError(f"--run-id {run_id!r:.80}: a run id names the run's directory; it {problem}")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a CSV cell."""


def reads_as_formula(text: str) -> bool:
    """Whether a spreadsheet would run `text` as a formula in a CSV cell (text that is a number is a number)."""
    if not text.startswith(FORMULA_STARTS):
        return False
    try:
        float(text)
        return False
    except ValueError:
        return True


def escape_csv_text(text: str) -> str:
    """A name for a CSV cell the harness reads back: a leading apostrophe (OWASP's advice) before text a spreadsheet
    would run as a formula, and before text that starts with an apostrophe, so `unescape_csv_text` is exact."""
    return "'" + text if reads_as_formula(text) or text.startswith("'") else text


def unescape_csv_text(cell: str) -> str:
    """The name `escape_csv_text` wrote."""
    return cell[1:] if cell.startswith("'") else cell
