"""Errors the harness raises. Each names where the problem is: the suite file and line, or the plugin."""

from __future__ import annotations

import errno
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence


class HarnessError(Exception):
    """Base class: an error the CLI reports in one line (exit code 2), never as a traceback."""


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int
    from_command_line: bool = False
    """The value came from a command-line flag (`--set`), not from the suite file: a relative path in it is
    relative to the current directory, not to the suite file."""
    key_path: Optional[str] = None
    """A suite given as a dict (`harness.run({...})`): where the value is, e.g. `methods[0].epochs`."""

    def __str__(self) -> str:
        if self.key_path is not None:
            return f"{self.file} at {self.key_path}"
        return f"{self.file}:{self.line}:{self.column}"

    def base_directory(self) -> Path:
        """The directory a relative path written here is relative to: the suite file's, or the current one."""
        if self.from_command_line:
            return Path.cwd()
        return Path(os.path.abspath(self.file)).parent


class SuiteError(HarnessError):
    """A suite is malformed. Rendered as `file:line:col: message`."""

    def __init__(self, message: str, location: Optional[SourceLocation] = None, plugin: Optional[str] = None):
        self.message = message
        self.location = location
        self.plugin = plugin
        super().__init__(str(self))

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return prefix + self.message


class SuiteErrors(HarnessError):
    """Several suite errors found in one validation pass (users fix them all at once, not one per run)."""

    def __init__(self, errors: list[SuiteError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


class PluginError(HarnessError):
    """A plugin misbehaved: failed to import, registered a duplicate name, or returned the wrong type."""

    def __init__(self, plugin: str, message: str):
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class StageError(HarnessError):
    """A stage raised; the runner records it and goes on with the stages that do not depend on it."""

    def __init__(self, stage_id: str, plugin: str, message: str):
        self.stage_id = stage_id
        self.plugin = plugin
        super().__init__(f"stage {stage_id} (plugin {plugin!r}): {message}")


def describe_stage_error(error: BaseException) -> str:
    """A stage's failure as one readable line; resource exhaustion says what to change."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" while writing {error.filename}" if error.filename else ""
        return (f"disk full{where}: no space left on the device. The stage's partial files were removed and every "
                f"finished stage is kept; free space (or point --out / --cache-dir at a larger disk) and rerun "
                f"to resume. ({text})")
    if type(error).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError, without importing torch here
        return (f"GPU out of memory: lower the method's batch_size, the model's max_length, or enable "
                f"gradient_checkpointing; finished stages are kept. ({text})")
    if isinstance(error, MemoryError):
        return (f"out of memory: lower the method's batch_size or the model's max_length, or the budgets; "
                f"finished stages are kept. ({text})")
    return text


_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$', re.M)


def innermost_frame_in(traceback_text: str, places: Sequence[str]) -> Optional[str]:
    """`file:line (function)` of the innermost frame of a formatted traceback whose file lies under one of `places`
    (a plugin's package directories or module file), or None: where in the plugin's own code a stage failed."""
    roots = [os.path.abspath(place) for place in places if place]
    found = None
    for match in _FRAME.finditer(traceback_text):
        file = os.path.abspath(match["file"])
        if any(file == root or file.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            found = f"{match['file']}:{match['line']} ({match['function'].strip()})"
    return found


def code_places(obj: Any) -> list[str]:
    """Where an object's top-level package lives (its directories, or the file of a single-module plugin)."""
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    if module is None:
        return []
    top = sys.modules.get(module.__name__.split(".")[0], module)
    places = list(getattr(top, "__path__", []) or [])
    return places or [getattr(top, "__file__", "") or ""]
