"""Executor `local`: every cell one after another in this process (and on its GPU, if it has one). The default."""

from __future__ import annotations

from harness import ExecutionPlan, hookimpl


class LocalExecutor:
    """Cells one after another in this process, stages recorded as they finish."""

    def run(self, plan: ExecutionPlan) -> None:
        for cell in plan.cells:
            plan.run_in_process(cell)


@hookimpl
def register_executors(register):
    register("local", LocalExecutor, description="every cell in this process, one after another (the default)")
