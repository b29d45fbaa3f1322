"""The suite against the task kind its task will load, before any data loads: a task plugin may declare the kind of
the TaskData it returns (`task_kind = "..."` on its factory, as components declare the kinds they serve with
`task_kinds`). Then `harness validate` (and `harness run`, before the task loads) asks that kind which suite entries
it cannot serve (`TaskKind.check_components`, and the training strategies it has no stage for), each at its suite
line. A task that declares nothing is checked when its data has loaded (harness.core.runner), as before."""

from __future__ import annotations

from typing import Any

from harness.core.errors import SuiteError
from harness.core.registry import Registry
from harness.core.suite.spec import Suite
from harness.core.types import TaskData


def declared_kind(registry: Registry, suite: Suite) -> Any:
    """The task kind (a harness.TaskKind) the suite's task declares, or None (none declared, or not registered: the
    task stage reports an unknown kind when the task has loaded)."""
    task = registry.get("task", suite.task.name)
    name = getattr(task.factory, "task_kind", None) if task is not None else None
    component = registry.get("task-kind", name) if isinstance(name, str) else None
    return component.build(None) if component is not None else None


def declared_kind_problems(suite: Suite, registry: Registry) -> list[SuiteError]:
    """What the declared kind refuses in the suite, at the entries' lines ([] when the task declares no kind)."""
    from harness.kinds.base import unsupported_strategies

    kind = declared_kind(registry, suite)
    if kind is None:
        return []
    # No data yet: the kind's checks read the task's name and the suite, not the examples.
    task = TaskData(name=getattr(suite.task.config, "name", None) or suite.task.name, label_names=(), train=(),
                    validation=(), test=(), kind=kind.name)
    problems = kind.check_components(suite, registry, task)
    return problems + unsupported_strategies(kind, suite, task, problems)
