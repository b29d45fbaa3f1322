"""The registry: which component names exist, of which kind, and which plugin gave each.

Each plugin's contribution hooks are called on their own (not through pluggy's fan-out) so the registry
knows exactly which plugin registered which name; a duplicate name is an error naming both plugins.
"""

from __future__ import annotations

import dataclasses
import difflib
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

from harness.core.components import COMPONENT_KINDS
from harness.core.errors import PluginError
from harness.core.plugin_manager import BrokenPlugin, HarnessPluginManager

HOOK_FOR_KIND = {
    "task": "register_tasks",
    "finetuner": "register_finetuners",
    "attack": "register_attacks",
    "augmenter": "register_augmenters",
    "explainer": "register_explainers",
    "reporter": "register_reporters",
    "executor": "register_executors",
    "task-kind": "register_task_kinds",
}


@dataclass(frozen=True)
class Component:
    name: str
    kind: str
    plugin: str
    factory: Callable[[Any], Any]
    config_class: Optional[type]
    description: str
    distribution: str
    version: str

    def build(self, config: Any) -> Any:
        """The component object for a suite entry: `factory(config)`; a component without a config class gets None.
        A task kind takes no config: `factory()`, with the registered name as its `name`."""
        if self.kind == "task-kind":
            kind = self.factory()
            kind.name = self.name
            return kind
        return self.factory(config if self.config_class is not None else None)


class Registry:
    """All components contributed by the plugins of one plugin manager."""

    def __init__(self, manager: HarnessPluginManager):
        self.manager = manager
        self.components: dict[str, dict[str, Component]] = {kind: {} for kind in COMPONENT_KINDS}
        self.broken: dict[str, BrokenPlugin] = dict(manager.broken)
        for kind in COMPONENT_KINDS:
            self._collect(kind)

    def _collect(self, kind: str) -> None:
        hook = getattr(self.manager.hook, HOOK_FOR_KIND[kind])
        for implementation in reversed(hook.get_hookimpls()):  # registration order
            plugin_name = implementation.plugin_name
            if plugin_name in self.broken:
                continue
            origin = self.manager.origins.get(plugin_name)

            def register(name, factory, config=None, description="", _plugin=plugin_name, _origin=origin):
                self._add(kind, name, factory, config, description, _plugin, _origin)

            try:
                implementation.function(register=register)
            except PluginError:
                raise
            except Exception as error:
                self.broken[plugin_name] = BrokenPlugin(
                    name=plugin_name,
                    module=origin.module if origin else plugin_name,
                    error=f"{HOOK_FOR_KIND[kind]} raised {type(error).__name__}: {error}",
                    traceback=traceback.format_exc(),
                )

    def _add(self, kind, name, factory, config, description, plugin_name, origin) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(plugin_name, f"registered a {kind} with an invalid name {name!r}")
        if not callable(factory):
            raise PluginError(plugin_name, f"{kind} {name!r}: factory is not callable")
        if config is not None and not (dataclasses.is_dataclass(config) and isinstance(config, type)):
            raise PluginError(plugin_name, f"{kind} {name!r}: config must be a dataclass type, got {config!r}")
        existing = self.components[kind].get(name)
        if existing is not None:
            raise PluginError(
                plugin_name,
                f"{kind} {name!r} is already registered by plugin {existing.plugin!r}; rename one of them",
            )
        self.components[kind][name] = Component(
            name=name,
            kind=kind,
            plugin=plugin_name,
            factory=factory,
            config_class=config,
            description=description or (factory.__doc__ or "").strip().split("\n")[0],
            distribution=origin.distribution if origin else "(not installed)",
            version=origin.version if origin else "",
        )

    def get(self, kind: str, name: str) -> Optional[Component]:
        return self.components[kind].get(name)

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def unknown_name_message(self, kind: str, name: str) -> str:
        """The error text for a name no plugin provides: did-you-mean, the available names, broken plugins."""
        available = self.names(kind)
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, available, n=1)
        message += f"; did you mean {close[0]!r}?" if close else "."
        message += f" Available {kind}s: {', '.join(available) if available else '(none)'}."
        broken = self.broken.get(name)
        if broken is not None:
            message += f" Plugin {name!r} is installed but failed to load: {broken.error}"
        elif name in self.manager.blocked_names:
            message += f" Plugin {name!r} is blocked by HARNESS_BLOCK_PLUGINS."
        elif self.broken:
            message += " Plugins that failed to load and might provide it: " + ", ".join(sorted(self.broken)) + "."
        return message

    def all_components(self) -> list[Component]:
        return [component for kind in COMPONENT_KINDS for component in self.components[kind].values()]
