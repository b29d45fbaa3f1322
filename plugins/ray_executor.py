"""Executor `ray`: each cell is a Ray task on a local Ray instance or a cluster; results come back to the driver.

Resources per cell (`num_cpus`, `num_gpus`; fractions share a GPU) come from the CLI (`--num-cpus`, `--num-gpus`)
or `--executor-option`. A cell whose worker process dies (killed, out of memory, lost node) is rerun up to
`max_retries` times; its finished stages are in the shared stage cache, so a rerun resumes, not restarts. A
cell that still fails is recorded as failed and the others go on.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Optional

from harness import CellJob, ExecutionPlan, HarnessError, hookimpl


@dataclass(frozen=True)
class RayExecutorConfig:
    address: Optional[str] = None
    """A cluster to join ("auto", "ray://host:10001"); None starts a local Ray instance."""
    num_cpus: float = 1.0
    """CPUs each cell's task reserves."""
    num_gpus: float = 0.0
    """GPUs each cell's task reserves (fractions share a GPU)."""
    max_retries: int = 2
    """Times Ray reruns a cell whose worker process died; finished stages are reused."""
    local_cpus: Optional[int] = None
    """CPUs of the local Ray instance started when no address is given (default: all)."""

    def __post_init__(self):
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError("num_cpus and num_gpus must not be negative")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")


def _compute(compute_cell, cell: CellJob):
    # A module-level function: Ray pickles it by reference; `compute_cell` arrives once through the object store.
    return compute_cell(cell)


class RayExecutor:
    """Each cell a Ray task; the driver records the results in cell order."""

    ships_cells = True

    def __init__(self, config: RayExecutorConfig):
        self.config = config

    def run(self, plan: ExecutionPlan) -> None:
        if plan.not_shippable:
            raise HarnessError(f"--executor ray: {plan.not_shippable}")
        try:
            import ray
        except ImportError as error:
            raise HarnessError("--executor ray needs Ray: pip install 'ray>=2.9'") from error
        started_here = not ray.is_initialized()
        if started_here:
            options = {"include_dashboard": False, "log_to_driver": True, "ignore_reinit_error": True}
            if self.config.address:
                options["address"] = self.config.address
            else:
                if self.config.local_cpus is not None:
                    options["num_cpus"] = self.config.local_cpus
                # Local workers import the plugins the driver loaded by module name, from the same paths.
                options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            try:
                ray.init(**options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise HarnessError(f"--executor ray could not start or join Ray "
                                   f"(address {self.config.address or 'local'}): {error}") from error
        try:
            task = ray.remote(num_cpus=self.config.num_cpus, num_gpus=self.config.num_gpus,
                              max_retries=self.config.max_retries)(_compute)
            compute_cell = ray.put(plan.compute_cell)
            pending = {task.remote(compute_cell, cell): cell for cell in plan.cells}
            while pending:  # record each cell as it finishes; the driver keeps the store in cell order
                done, _ = ray.wait(list(pending), num_returns=1)
                for future in done:
                    cell = pending.pop(future)
                    try:
                        plan.record(ray.get(future))
                    except Exception as error:  # the worker died more than max_retries times, or the task raised
                        plan.record_failure(cell, f"{type(error).__name__}: the cell's Ray task failed after "
                                                  f"{self.config.max_retries} retries: {error}")
        finally:
            if started_here:
                ray.shutdown()


@hookimpl
def register_executors(register):
    register("ray", RayExecutor, config=RayExecutorConfig,
             description="each cell a Ray task on a local instance or a cluster (--address auto)")
