"""Where a suite's cells run: this process (`local`, the default) or a Ray cluster (`ray`).

The driver (the `harness run` process) loads the task, hands cells to the executor and alone writes the run's
store, in cell order, so a run's results table is the same whichever executor computed it. Workers compute
stages into the stage cache, which must be on a filesystem the driver and the workers share (one machine, NFS,
a cluster volume); the cache is content-addressed and written by atomic rename, so a retried or duplicated task
cannot corrupt it, and a restarted driver finds every finished stage there.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Mapping, Protocol, Sequence

from harness.errors import HarnessError
from harness.types import StageRecord

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    def check(self, manager: Any) -> None:
        """Raise HarnessError before anything runs if this executor cannot run with these plugins."""

    def run(self, runner: Any, cells: Sequence[Any]) -> None:
        """Run every cell; every finished stage must reach `runner.record_locally`, in cell order."""


class LocalExecutor:
    """Cells one after another in this process (the GPU if there is one)."""

    @staticmethod
    def check(manager: Any) -> None:
        pass

    def run(self, runner: Any, cells: Sequence[Any]) -> None:
        for cell in cells:
            runner.run_cell(cell)


@dataclasses.dataclass(frozen=True)
class RaySettings:
    address: str | None = None
    """A cluster to join ("auto", "ray://host:10001"); None starts a local Ray instance."""
    num_cpus: float = 1.0
    """CPUs each cell's task reserves."""
    num_gpus: float = 0.0
    """GPUs each cell's task reserves (fractions share a GPU)."""
    max_retries: int = 2
    """Times Ray reruns a cell whose worker process died (killed, out of memory); finished stages are reused."""
    local_cpus: int | None = None
    """CPUs of the local Ray instance started when no address is given (default: all)."""


class RayExecutor:
    """Each cell is a Ray task; results come back to the driver, which writes the store."""

    def __init__(self, settings: RaySettings):
        self.settings = settings

    @staticmethod
    def check(manager: Any) -> None:
        """Refuse, before anything runs, what the workers could not rebuild."""
        if manager.in_process_plugins:
            raise HarnessError("--executor ray cannot ship plugin objects registered in this process to its workers; "
                               "install the plugin (entry point) or load it by module name with --plugin MODULE")

    def run(self, runner: Any, cells: Sequence[Any]) -> None:
        try:
            import ray
        except ImportError as error:
            raise HarnessError("--executor ray needs Ray: pip install 'ray>=2.9'") from error
        self.check(runner.manager)
        started_here = not ray.is_initialized()
        if started_here:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True,
                                       "ignore_reinit_error": True}
            if self.settings.address:
                options["address"] = self.settings.address
            else:
                if self.settings.local_cpus is not None:
                    options["num_cpus"] = self.settings.local_cpus
                # Local workers import the plugins the driver loaded by module name, from the same paths.
                options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            ray.init(**options)
        try:
            remote_cell = ray.remote(num_cpus=self.settings.num_cpus, num_gpus=self.settings.num_gpus,
                                     max_retries=self.settings.max_retries)(run_cell_in_worker)
            suite, task_data = ray.put(runner.suite), ray.put(runner.task_data)
            worker_options = dataclasses.replace(runner.options, progress=False, executor="local",
                                                 executor_options={}, baseline=None,
                                                 cache_dir=runner.cache.root)
            futures = [remote_cell.remote(suite, task_data, cell, worker_options, runner.manager.plugin_modules)
                       for cell in cells]
            for cell, future in zip(cells, futures):  # in cell order: the store reads as a local run's
                try:
                    outcomes = ray.get(future)
                except Exception as error:  # the task's worker died more than max_retries times
                    runner.record_locally(_failed_cell(runner, cell, error))
                    continue
                for outcome in outcomes:
                    runner.record_locally(outcome)
        finally:
            if started_here:
                ray.shutdown()


def run_cell_in_worker(suite: Any, task_data: Any, cell: Any, options: Any, plugin_modules: Sequence[str]) -> list:
    """A Ray task: rebuild the plugin manager, run one cell's stages into the shared stage cache, and return
    the finished stages for the driver to record."""
    from harness.models import resolve_device
    from harness.plugins import make_plugin_manager
    from harness.registry import Registry
    from harness.resources import prepare_offline_resources
    from harness.runner import Runner

    manager = make_plugin_manager(plugin_modules=plugin_modules)
    runner = Runner(suite, Registry(manager), manager, options)
    runner.device = resolve_device(options.device)
    prepare_offline_resources(needs_hub=False)
    runner.task_data = task_data
    finished: list = []
    runner.record_stage = finished.append
    runner.run_cell(cell)
    # Exceptions may not pickle; the driver gets their message and traceback in the stage record.
    return [dataclasses.replace(outcome, exception=None) for outcome in finished]


def _failed_cell(runner: Any, cell: Any, error: BaseException) -> Any:
    from harness.runner import StageOutcome

    method = runner.suite.methods[cell.method_index]
    message = f"{type(error).__name__}: the cell's task failed after {runner.executor.settings.max_retries} " \
              f"retries: {error}"
    record = StageRecord(f"{method.label}/seed{cell.seed}/cell", "cell", method.label, method.plugin, "", "error",
                         0.0, method.label, cell.seed, error=message, traceback=str(error))
    return StageOutcome(record, error=message)


def make_executor(name: str, options: Mapping[str, Any]) -> Executor:
    if name == "local":
        if options:
            raise HarnessError(f"the local executor takes no options, got {', '.join(options)}")
        return LocalExecutor()
    if name == "ray":
        fields = {field.name for field in dataclasses.fields(RaySettings)}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise HarnessError(f"unknown Ray executor option(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
        return RayExecutor(RaySettings(**options))
    raise HarnessError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
