"""Driving the harness from Python: `harness.run(suite)` runs a suite (a path, YAML text or a dict) exactly as
`harness run` does and returns a `Run`; `harness.evaluate(model, task, ...)` tests one trained model as it is.

Errors are exceptions, never exit codes: a malformed suite raises `harness.SuiteErrors` (each error at its file,
line and column, or, for a dict, at its key path such as `methods[0].epochs`); a failed stage is recorded in the
run (`Run.failed_stages`) as on the command line, so one crashed plugin loses nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from harness.core.errors import HarnessError, SourceLocation, SuiteError, SuiteErrors

if TYPE_CHECKING:
    import pandas

    from harness.core.suite import Suite
    from harness.core.types import GateOutcome, StageRecord

SuiteSource = Union[str, "os.PathLike[str]", Mapping[str, Any]]
DICT_SUITE = "suite (dict)"
"""The file name a suite given as a dict is checked under; its errors name key paths instead of lines."""


@dataclass(frozen=True)
class Run:
    """A finished run: where it is, its exit code as `harness run` would return it, and what it computed."""

    run_dir: Path
    exit_code: int
    """0 passed, 1 a gate failed, 3 a stage or reporter crashed (the command line's codes)."""
    stages: tuple["StageRecord", ...]
    gates: tuple["GateOutcome", ...]
    report_paths: tuple[Path, ...]

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def results(self) -> "pandas.DataFrame":
        """The tidy results table (one row per cell x stage x metric), as `harness.results_frame` reads it."""
        from harness.report.results_table import results_frame

        return results_frame(self.run_dir)

    @property
    def failed_stages(self) -> tuple["StageRecord", ...]:
        return tuple(stage for stage in self.stages if stage.status == "error")

    def records(self, stage_id: str, name: str) -> list[dict[str, Any]]:
        """A stage's per-example records, e.g. `run.records("full/seed0/attack/deepwordbug", "attack")`."""
        from harness.core.store import read_run

        return read_run(self.run_dir).records(stage_id, name)

    @property
    def scorecard(self) -> Optional[Path]:
        return next((path for path in self.report_paths if path.suffix == ".html"), None)


def run(suite: SuiteSource, *, output: Optional[Union[str, "os.PathLike[str]"]] = None,
        overrides: Sequence[str] = (), run_id: Optional[str] = None, device: str = "auto",
        baseline: Optional[Union[str, "os.PathLike[str]"]] = None, allow_different_data: bool = False,
        cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None, progress: bool = False,
        trust_remote_code: bool = False, offline: bool = False, plugins: Iterable[object] = (),
        correction: str = "holm") -> Run:
    """Run a suite as `harness run` does and return the `Run`.

    :param suite: a suite file's path, a suite's YAML text, or a dict of the same keys (relative paths in a dict or
        in text are relative to the current directory).
    :param overrides: `KEY.PATH=VALUE` settings, as `--set`.
    :param trust_remote_code: confirms a suite's `trust_remote_code: true`, as `--trust-remote-code`.
    :param offline: never open a network connection, as `harness --offline`.
    :param plugins: plugin objects or modules to register besides the installed ones (in-process plugins).
    :param correction: the multiple-comparison correction of the significant baseline gates' paired tests, as
        `--correction`: "holm" (Holm-Bonferroni, the default) or "none".
    """
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import Runner, RunOptions
    from harness.explain.significance import CORRECTIONS

    if correction not in CORRECTIONS:
        raise HarnessError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if offline:
        from harness.core.resources import OFFLINE_FLAGS

        os.environ.update({flag: "1" for flag in OFFLINE_FLAGS})
    manager = make_plugin_manager(extra_plugins=plugins)
    registry = Registry(manager)
    checked = load(suite, registry, overrides=overrides,
                   output=Path(output) if output is not None else None)
    for model in checked.models:
        if model.source.trust_remote_code and not trust_remote_code:
            raise SuiteErrors([SuiteError(f"the suite sets `trust_remote_code: true`, which runs Python code shipped "
                                          f"with the model {model.source.name!r}; confirm with "
                                          f"harness.run(..., trust_remote_code=True) if you trust its author",
                                          model.location)])
    options = RunOptions(output=Path(output) if output is not None else None,
                         cache_dir=Path(cache_dir) if cache_dir is not None else None, device=device,
                         progress=progress, run_id=run_id, baseline=Path(baseline) if baseline is not None else None,
                         allow_different_data=allow_different_data, correction=correction)
    summary = Runner(checked, registry, manager, options).run()
    return Run(summary.run_dir, summary.exit_code, summary.stages, summary.gates, summary.report_paths)


def load(suite: SuiteSource, registry: Any, overrides: Sequence[str] = (), output: Optional[Path] = None) -> "Suite":
    """A checked Suite from a path, YAML text or a dict; SuiteErrors (with lines, or key paths for a dict)."""
    from harness.core.suite import load_suite, parse_suite

    if isinstance(suite, Mapping):
        import yaml

        text = yaml.safe_dump(_plain(suite), sort_keys=False, allow_unicode=True)
        try:
            return parse_suite(text, DICT_SUITE, registry, output, overrides)
        except SuiteErrors as errors:
            raise SuiteErrors([_at_key_path(error, text) for error in errors.errors]) from None
    if isinstance(suite, os.PathLike) or (isinstance(suite, str) and "\n" not in suite and Path(suite).is_file()):
        return load_suite(suite, registry, output, overrides)
    if isinstance(suite, str) and "\n" in suite:
        return parse_suite(suite, "suite (text)", registry, output, overrides)
    raise SuiteErrors([SuiteError(f"suite file not found: {suite} (give a path, YAML text or a dict)")])


def _plain(value: Any) -> Any:
    """A dict suite as YAML can write it: paths as strings, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _at_key_path(error: SuiteError, text: str) -> SuiteError:
    """A dict suite's error at the key path of the value it points at (its YAML line means nothing to the caller)."""
    from harness.core.suite.yaml_loading import key_paths, load_yaml_with_locations

    if error.location is None or error.location.file != DICT_SUITE:
        return error
    try:
        paths = key_paths(load_yaml_with_locations(text, DICT_SUITE))
    except SuiteErrors:
        return error
    path = paths.get((error.location.line, error.location.column), "")
    return SuiteError(error.message, SourceLocation(DICT_SUITE, error.location.line, error.location.column,
                                                    key_path=path or "(top level)"), error.plugin)


def evaluate(model: Union[str, "os.PathLike[str]"], task: Union[str, Mapping[str, Any]], *,
             attacks: Sequence[Any] = (), perturbations: Sequence[Any] = (), explainers: Sequence[Any] = (),
             gates: Sequence[Mapping[str, Any]] = (), reports: Sequence[Any] = ("json", "html"),
             label_map: Optional[Mapping[str, str]] = None, max_length: int = 128, name: str = "evaluate",
             budgets: Optional[Mapping[str, Any]] = None, output: Union[str, "os.PathLike[str]"] = "reports",
             **run_options: Any) -> Run:
    """Test one trained model as it is: evaluate it on `task`, attack, perturb and explain it, gate and report.

    `model` is a model directory, a PEFT adapter directory or a hub id; `task` a task plugin's name or its entry
    (`{"use": "local", "train": ..., "test": ...}`); attacks, perturbations, explainers and reports are plugin
    names or `{use: ..., ...}` entries, as in a suite. Further keyword arguments go to `harness.run`.
    """
    entry: dict[str, Any] = {"source": os.fspath(model), "as_is": True, "max_length": max_length}
    if label_map:
        entry["label_map"] = dict(label_map)
    suite: dict[str, Any] = {
        "name": name,
        "task": {"use": task} if isinstance(task, str) else dict(task),
        "models": [entry],
        "attacks": list(attacks), "perturbations": list(perturbations), "explainers": list(explainers),
        "gates": list(gates), "reports": list(reports), "output": os.fspath(output),
    }
    if budgets:
        suite["budgets"] = dict(budgets)
    return run(suite, **run_options)
