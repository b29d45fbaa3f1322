"""A component named in another component's config: the `prompted` task poses a registered classification task as a
prompt, and its config holds that task's name and parameters.

`inner_component(kind, name, params, parameter)` finds the component among the installed plugins (a registry of its
own, built from the `harness` entry points, as every run builds one) and checks `params` against its config
dataclass as `harness validate` checks a suite entry: unknown names with "did you mean", wrong types, the config's
own checks. A relative path in `params` is relative to the suite file, as everywhere in a suite: the suite's reader
gives a nested mapping its keys' locations, which resolve it.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class InnerComponent:
    """A registered component and its config, built from the parameters another component's config holds."""

    kind: str
    name: str
    plugin: str
    factory: Callable[[Any], Any]
    """What the plugin registered: its attributes say what it declares (a task's `task_kind`)."""
    config: Any
    params: dict[str, Any]
    """The parameters as given, relative paths resolved: what the outer config keeps, so that building the component
    again (when the task loads) reads the same files."""

    def build(self) -> Any:
        """The component object, as a run builds it: `factory(config)`."""
        return self.factory(self.config)


def inner_component(kind: str, name: str, params: Mapping[str, Any], parameter: str) -> InnerComponent:
    """The installed component `name` of `kind`, its config built from `params` (the value of the outer config's
    field `parameter`). Raises ValueError: for an unknown name one that starts with `kind` and says "did you mean"
    and the available names; for bad parameters one that starts with `parameter`, with each problem (at its suite
    line where the suite gave the parameters)."""
    from harness.core.config import build_config, is_suite_path
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.suite.yaml_loading import plain

    registry = Registry(make_plugin_manager())
    component = registry.get(kind, name) if isinstance(name, str) else None
    if component is None:
        message = registry.unknown_name_message(kind, str(name))
        unknown = f"unknown {kind} {name!r}"
        raise ValueError(f"{kind} {name!r} is not installed{message[len(unknown):]}" if message.startswith(unknown)
                         else f"{kind} {name!r}: {message}")
    if not isinstance(params, Mapping):
        raise ValueError(f"{parameter} must be a mapping of the parameters of {kind} {name!r}, got {params!r}")
    locations = dict(getattr(params, "value_locations", {}))  # a mapping read from a suite knows its keys' lines
    config, errors = build_config(component.config_class, dict(params), locations, None, kind, name,
                                  component.plugin)
    if errors:
        raise ValueError(f"{parameter} for {kind} {name!r}: " + "; ".join(str(error) for error in errors))
    hints = typing.get_type_hints(component.config_class, include_extras=True) if component.config_class else {}
    resolved = {key: getattr(config, key) if is_suite_path(hints[key]) else value
                for key, value in plain(dict(params)).items()}
    return InnerComponent(kind, name, component.plugin, component.factory, config, resolved)
