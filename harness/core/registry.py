"""The registry: which component names exist, of which kind, and which plugin gave each.

Each plugin's contribution hooks are called on their own (not through pluggy's fan-out) so the registry
knows exactly which plugin registered which name. A name two plugins register is settled without stopping the
harness: the built-in keeps it, the other plugin is marked broken, and a suite that names it fails with a message
naming both (commands that do not need the name work, `harness plugins` and `harness doctor` included).
"""

from __future__ import annotations

import dataclasses
import difflib
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

from harness.core.components import COMPONENT_KINDS
from harness.core.errors import PluginError
from harness.core.plugin_manager import BLOCK_ENV_VAR, BUILTIN_DISTRIBUTION, BrokenPlugin, HarnessPluginManager

HOOK_FOR_KIND = {
    "task": "register_tasks",
    "finetuner": "register_finetuners",
    "attack": "register_attacks",
    "augmenter": "register_augmenters",
    "explainer": "register_explainers",
    "reporter": "register_reporters",
    "executor": "register_executors",
    "task-kind": "register_task_kinds",
    "judge": "register_judges",
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
    """Part of every stage key of the component: `register(..., version=)`, else its distribution's version."""
    module: str = ""
    """The plugin's module, for messages that must say where a component comes from."""

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
        self.collisions: dict[tuple[str, str], str] = {}
        """(kind, name) that several plugins registered -> the message naming them; `get` refuses such a name."""
        claims: dict[tuple[str, str], list[Component]] = {}
        for kind in COMPONENT_KINDS:
            self._collect(kind, claims)
        self._settle(claims)

    def _collect(self, kind: str, claims: dict[tuple[str, str], list[Component]]) -> None:
        hook = getattr(self.manager.hook, HOOK_FOR_KIND[kind])
        for implementation in reversed(hook.get_hookimpls()):  # registration order
            plugin_name = implementation.plugin_name
            if plugin_name in self.broken:
                continue
            origin = self.manager.origins.get(plugin_name)

            def register(name, factory, config=None, description="", version=None, _plugin=plugin_name,
                         _origin=origin):
                component = _component(kind, name, factory, config, description, version, _plugin, _origin)
                claims.setdefault((kind, name), []).append(component)

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

    def _settle(self, claims: dict[tuple[str, str], list[Component]]) -> None:
        """Names claimed more than once: a built-in keeps its name and the others are broken (without a built-in
        among them, all are), so one bad package cannot take a name, nor the harness, away from anyone."""
        for (kind, name), claimants in claims.items():
            claimants = [component for component in claimants if component.plugin not in self.broken]
            if len(claimants) < 2:
                continue
            if len({component.plugin for component in claimants}) == 1:
                plugin = claimants[0]
                self.broken[plugin.plugin] = BrokenPlugin(plugin.plugin, plugin.module, f"registers the {kind} "
                                                          f"{name!r} {len(claimants)} times: give each a name", "")
                continue
            builtins = [component for component in claimants if component.distribution == BUILTIN_DISTRIBUTION]
            keeper = builtins[0] if len(builtins) == 1 else None
            message = _collision_message(kind, name, claimants, keeper, self.manager.origins)
            self.collisions[(kind, name)] = message
            for component in claimants:
                if component is not keeper:
                    self.broken[component.plugin] = BrokenPlugin(component.plugin, component.module, message, "")
        for claimants in claims.values():
            for component in claimants:
                if component.plugin not in self.broken:
                    self.components[component.kind][component.name] = component

    def get(self, kind: str, name: str) -> Optional[Component]:
        """The component `name` of `kind`; None for a name nobody provides, or several plugins do (a suite must not
        silently get the built-in when it may have meant the other: `unknown_name_message` says so)."""
        if (kind, name) in self.collisions:
            return None
        return self.components[kind].get(name)

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def unknown_name_message(self, kind: str, name: str) -> str:
        """The error text for a name no plugin provides: did-you-mean, the available names, broken plugins."""
        if (kind, name) in self.collisions:
            return self.collisions[(kind, name)]
        available = self.names(kind)
        message = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, available, n=1)
        message += f"; did you mean {close[0]!r}?" if close else "."
        message += f" Available {kind}s: {', '.join(available) if available else '(none)'}."
        broken = self.broken.get(name)
        if broken is not None:
            message += f" Plugin {name!r} is installed but failed to load: {broken.error}"
        elif name in self.manager.blocked_names:
            message += f" Plugin {name!r} is blocked by {BLOCK_ENV_VAR}."
        else:  # a plugin whose misspelt hook meant this kind's hook first: the likeliest to provide it
            likely = sorted(self.broken.values(), key=lambda plugin: HOOK_FOR_KIND[kind] not in plugin.meant_hooks)
            message += "".join(f" Plugin {plugin.name!r} ({plugin.module}) might provide it but failed to load: "
                               f"{plugin.error}" for plugin in likely)
        return message

    def all_components(self) -> list[Component]:
        return [component for kind in COMPONENT_KINDS for component in self.components[kind].values()]


def _component(kind, name, factory, config, description, version, plugin_name, origin) -> Component:
    """One `register(...)` call checked: a malformed call is the plugin's bug, reported with its name."""
    if not isinstance(name, str) or not name:
        raise PluginError(plugin_name, f"registered a {kind} with an invalid name {name!r}")
    if not callable(factory):
        raise PluginError(plugin_name, f"{kind} {name!r}: factory is not callable")
    if config is not None and not (dataclasses.is_dataclass(config) and isinstance(config, type)):
        raise PluginError(plugin_name, f"{kind} {name!r}: config must be a dataclass type, got {config!r}")
    if version is not None and not (isinstance(version, str) and version.strip()):
        raise PluginError(plugin_name, f"{kind} {name!r}: version must be a non-empty string such as '2', "
                                       f"got {version!r}")
    return Component(
        name=name,
        kind=kind,
        plugin=plugin_name,
        factory=factory,
        config_class=config,
        description=description or (factory.__doc__ or "").strip().split("\n")[0],
        distribution=origin.distribution if origin else "(not installed)",
        version=version if version is not None else origin.version if origin else "",
        module=origin.module if origin else plugin_name,
    )


def _collision_message(kind: str, name: str, claimants: list[Component], keeper: Optional[Component],
                       origins: dict) -> str:
    def describe(component: Component) -> str:
        built_in = "built-in, " if component.distribution == BUILTIN_DISTRIBUTION else ""
        origin = origins.get(component.plugin)
        return (f"plugin {component.plugin!r} ({built_in}module {component.module}, distribution "
                f"{component.distribution} {origin.version if origin else ''})").replace(" )", ")")

    message = f"{kind} {name!r} is registered by {len(claimants)} plugins: " + " and ".join(map(describe, claimants))
    if keeper is not None:
        newcomers = [component for component in claimants if component is not keeper]
        message += (f". The built-in keeps the name; {', '.join(repr(c.plugin) for c in newcomers)} is marked broken "
                    f"and its components are not registered, and a suite that names {name!r} must say which one it "
                    f"means. Rename the {kind} in {', '.join(c.module for c in newcomers)}, or set "
                    f"{BLOCK_ENV_VAR}={','.join(c.plugin for c in newcomers)} to use the built-in, or "
                    f"{BLOCK_ENV_VAR}={keeper.plugin} to use the other.")
        return message
    choices = [f"{BLOCK_ENV_VAR}={','.join(o.plugin for o in claimants if o is not c)} uses {c.plugin!r}'s"
               for c in claimants]
    return (message + f". None of them is built in, so all are marked broken and their components are not registered. "
            f"Rename the {kind} in all but one, or choose: " + "; ".join(choices) + ".")
