"""The core side of executors: the plan a runner hands to an executor plugin, and building the executor.

Executors are plugins (hook `register_executors`): the built-in `local` (cells one after another in this
process, the default) and `ray` (each cell a Ray task) register exactly like a third-party one would.

The driver (the `harness run` process) loads the task, hands the cells to the executor and alone writes the
run's store, in cell order, so a run's results table is the same whichever executor computed it. Workers compute
stages into the stage cache, which must be on a filesystem the driver and the workers share (one machine, NFS,
a cluster volume) or be mirrored to object storage (`--artifacts URL`); the cache is content-addressed and
written by atomic rename, so a retried or duplicated task cannot corrupt it, and a restarted driver finds every
finished stage there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol, Sequence

from harness.core.config import build_config
from harness.core.errors import HarnessError
from harness.core.types import CellJob, CellResult, ExecutionPlan, ResultRow, StageRecord

if TYPE_CHECKING:
    from harness.core.registry import Registry

DEFAULT_EXECUTOR = "local"
NOT_SHIPPABLE = ("plugin objects registered in this process cannot be rebuilt in another process; install the plugin "
                 "(entry point) or load it by module name with --plugin MODULE")


@dataclass(frozen=True)
class StageOutcome:
    """A finished stage as a worker hands it to the driver, which alone writes the run's store."""

    record: StageRecord
    rows: tuple[ResultRow, ...] = ()
    records_dir: Optional[Path] = None
    """Per-example records (in the stage cache) to copy into the run directory."""
    error: str = ""
    """For a failed stage: the message the driver prints."""
    exception: Optional[BaseException] = field(default=None, compare=False)
    """The exception itself, when the stage ran in this process (a remote one arrives as its message)."""


class CellComputer(Protocol):
    """What the executors need of the driver (harness.core.runner.Runner): computing one cell, recording stages."""

    suite: Any
    task_data: Any
    options: Any
    manager: Any
    cache: Any
    record_stage: Callable[[StageOutcome], None]

    def run_cell(self, job: CellJob) -> None: ...

    def record_locally(self, outcome: StageOutcome) -> None: ...


def build_executor(registry: "Registry", name: str, options: Mapping[str, Any]) -> Any:
    """The executor plugin `name` configured with `options` (from the CLI), with errors naming the plugin."""
    component = registry.get("executor", name)
    if component is None:
        raise HarnessError(f"--executor: {registry.unknown_name_message('executor', name)}")
    config, errors = build_config(component.config_class, options, {}, None, "executor", name, component.plugin)
    if errors:
        raise HarnessError("; ".join(error.message for error in errors))
    try:
        return component.factory(config) if component.config_class is not None else component.factory()
    except HarnessError:
        raise
    except Exception as error:
        raise HarnessError(f"executor {name!r} (plugin {component.plugin!r}) failed to start: "
                           f"{type(error).__name__}: {error}") from error


class CellRecorder:
    """Takes cell results in any order and writes them to the store in cell order, as soon as every earlier
    cell is in: what is written never depends on which worker finished first."""

    def __init__(self, runner: "CellComputer", cells: Sequence[CellJob]):
        self.runner = runner
        self.cells = tuple(cells)
        self.waiting: dict[int, list] = {}
        self.next_index = 0
        self.seen: set[int] = set()

    def record(self, result: CellResult) -> None:
        self._accept(result.cell, list(result.stages))

    def record_failure(self, cell: CellJob, message: str) -> None:
        self._accept(cell, [failed_cell_outcome(self.runner, cell, message)])

    def _accept(self, cell: CellJob, outcomes: list) -> None:
        if cell.index in self.seen:
            raise HarnessError(f"the executor recorded cell {cell.label} twice")
        self.seen.add(cell.index)
        self.waiting[cell.index] = outcomes
        while self.next_index < len(self.cells) and self.next_index in self.waiting:
            for outcome in self.waiting.pop(self.next_index):
                self.runner.record_locally(outcome)
            self.next_index += 1

    def finish(self, executor_name: str) -> None:
        """Record cells the executor never reported as failed, so nothing is silently missing."""
        for cell in self.cells:
            if cell.index not in self.seen:
                self.record_failure(cell, f"executor {executor_name!r} returned without computing this cell")


class LocalCellRunner:
    """`ExecutionPlan.run_in_process`: computes a cell here, each stage recorded as it finishes."""

    def __init__(self, runner: "CellComputer", recorder: CellRecorder):
        self.runner = runner
        self.recorder = recorder

    def __call__(self, cell: CellJob) -> None:
        finished: list = []
        self.runner.record_stage = finished.append
        try:
            self.runner.run_cell(cell)
        finally:
            self.runner.record_stage = self.runner.record_locally
        # Earlier cells are all in (this is the only path that records), so these are written at once.
        self.recorder.record(CellResult(cell, tuple(finished)))


@dataclasses.dataclass(frozen=True)
class RemoteCell:
    """`ExecutionPlan.compute_cell`: everything a fresh process needs to compute a cell (picklable)."""

    suite: Any
    task_data: Any
    options: Any
    """The driver's harness.core.runner.RunOptions, as a worker runs with them."""
    plugin_modules: tuple[str, ...]

    compute: Callable[["RemoteCell", CellJob], CellResult]
    """How a worker computes it: a module-level function (it pickles by name), harness.core.runner's."""

    def __call__(self, cell: CellJob) -> CellResult:
        return self.compute(self, cell)


def make_plan(runner: "CellComputer", cells: Sequence[CellJob], recorder: CellRecorder,
              compute_remote_cell: Callable[[RemoteCell, CellJob], CellResult]) -> ExecutionPlan:
    manager = runner.manager
    worker_options = dataclasses.replace(runner.options, progress=False, executor=DEFAULT_EXECUTOR,
                                         executor_options={}, baseline=None, cache_dir=runner.cache.root)
    not_shippable = NOT_SHIPPABLE if manager.in_process_plugins else ""
    return ExecutionPlan(
        cells=tuple(cells),
        run_in_process=LocalCellRunner(runner, recorder),
        compute_cell=RemoteCell(runner.suite, runner.task_data, worker_options, tuple(manager.plugin_modules),
                                compute_remote_cell),
        record=recorder.record,
        record_failure=recorder.record_failure,
        cache_dir=str(runner.cache.root),
        not_shippable=not_shippable,
    )


def failed_cell_outcome(runner: "CellComputer", cell: CellJob, message: str) -> StageOutcome:
    method = runner.suite.cell_method(cell.model_index, cell.method_index)
    record = StageRecord(f"{cell.label}/cell", "cell", method.label, method.plugin, "", "error", 0.0, cell.method,
                         cell.seed, error=message, traceback=message)
    return StageOutcome(record, error=message)


def executor_option_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """`--executor-option KEY=VALUE` values as a mapping; VALUE is parsed as YAML (numbers, booleans)."""
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise HarnessError(f"--executor-option takes KEY=VALUE, got {pair!r}")
        options[key.strip().replace("-", "_")] = yaml.safe_load(value) if value.strip() else None
    return options
