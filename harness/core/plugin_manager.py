"""Plugin manager construction: a fresh manager per run, entry points loaded one by one.

A plugin module that raises at import is remembered as broken (with its error) instead of taking the
whole harness down: only suites that use one of its names fail, with that error in the message. The same holds
for the mistakes pluggy alone would let pass silently: a hook implementation whose name is no hook (a misspelt
`register_augmenter`, never called) and two entry points of one name (only one of them could load).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import traceback
from dataclasses import dataclass
from typing import Iterable, Optional

import pluggy

from harness.core import hookspecs

ENTRY_POINT_GROUP = "harness"
BLOCK_ENV_VAR = "HARNESS_BLOCK_PLUGINS"
"""Comma-separated plugin (entry point) names that are never imported, e.g. a slow or broken one; an item
`DISTRIBUTION:NAME` blocks only that distribution's entry point of that name (two distributions may declare one)."""
BUILTIN_DISTRIBUTION = "nlp-robustness-harness"
"""The distribution of the built-in plugins: where two plugins claim one name, the built-in one keeps it."""


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    module: str
    error: str
    traceback: str
    meant_hooks: tuple[str, ...] = ()
    """The hooks its misspelt hook implementations probably meant: what it would have contributed."""


@dataclass(frozen=True)
class PluginOrigin:
    """Where a loaded plugin came from, for `harness plugins`."""

    name: str
    module: str
    distribution: str
    version: str


class HarnessPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers broken and blocked plugins and where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.broken: dict[str, BrokenPlugin] = {}
        self.blocked_names: frozenset[str] = frozenset()
        self.origins: dict[str, PluginOrigin] = {}
        self.plugin_modules: tuple[str, ...] = ()
        """Modules loaded by name (`--plugin`): what another process needs to rebuild this manager."""
        self.in_process_plugins = 0
        """Plugin objects registered directly (tests, embedding applications): another process cannot rebuild them."""

    def register_plugin(self, plugin: object, name: str, distribution: str = "", version: str = "") -> None:
        self.register(plugin, name=name)
        module = getattr(plugin, "__name__", type(plugin).__module__)
        self.origins[name] = PluginOrigin(name, module, distribution or "(not installed)", version or "")

    def is_blocked(self, name: str, distribution: str = "") -> bool:
        return name in self.blocked_names or (bool(distribution) and f"{distribution}:{name}" in self.blocked_names)


def blocked_plugin_names(environ: Optional[dict[str, str]] = None) -> frozenset[str]:
    value = (environ if environ is not None else os.environ).get(BLOCK_ENV_VAR, "")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def plugin_name_of(plugin: object) -> str:
    """The name a plugin object registered directly gets: its `name`, else its module's name, else its class's."""
    return getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or type(plugin).__name__


def make_plugin_manager(
    extra_plugins: Iterable[object] = (),
    plugin_modules: Iterable[str] = (),
    load_entry_points: bool = True,
    environ: Optional[dict[str, str]] = None,
) -> HarnessPluginManager:
    """Build a new plugin manager.

    :param extra_plugins: plugin objects (modules or instances with hookimpls) registered directly, as a
        test or an embedding application does; one already loaded from its entry point is not registered twice.
    :param plugin_modules: importable module names loaded like `pytest -p` (CLI `--plugin`).
    :param load_entry_points: load the `harness` entry-point group (built-ins and installed third parties).
    """
    manager = HarnessPluginManager()
    manager.blocked_names = blocked_plugin_names(environ)
    if load_entry_points:
        _load_entry_points(manager)
    for module_name in plugin_modules:
        if manager.is_blocked(module_name):
            continue
        _load_one(manager, module_name, module_name, lambda m=module_name: importlib.import_module(m), "", "")
    manager.plugin_modules = tuple(plugin_modules)
    for plugin in extra_plugins:
        name = plugin_name_of(plugin)
        if manager.is_blocked(name) or manager.is_registered(plugin):  # registered: loaded from its entry point
            continue
        manager.in_process_plugins += 1
        manager.register_plugin(plugin, name=name)
    _reject_unknown_hooks(manager)
    return manager


def _load_one(manager, name, module, loader, distribution, version) -> None:
    try:
        plugin = loader()
        manager.register_plugin(plugin, name=name, distribution=distribution, version=version)
    except Exception as error:  # import-time failure or invalid hookimpls: the plugin's bug, not ours
        manager.broken[name] = BrokenPlugin(
            name=name,
            module=module,
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(),
        )


# ------------------------------------------------------------------------------------------ entry points


def _distribution(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str]:
    return (entry_point.dist.name, entry_point.dist.version) if entry_point.dist else ("", "")


def _load_entry_points(manager: HarnessPluginManager) -> None:
    """Every entry point of the group, by name. One name declared by several distributions loads the built-in
    one only (none when no built-in is among them): pluggy knows plugins by name, so the others could not load, and
    which one would win otherwise depends on the order of sys.path."""
    by_name: dict[str, list[importlib.metadata.EntryPoint]] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if not manager.is_blocked(entry_point.name, _distribution(entry_point)[0]):
            claimants = by_name.setdefault(entry_point.name, [])
            if all(entry_point.value != other.value for other in claimants):  # one module seen twice: no clash
                claimants.append(entry_point)
    for name in sorted(by_name):
        claimants = by_name[name]
        builtins = [entry_point for entry_point in claimants if _distribution(entry_point)[0] == BUILTIN_DISTRIBUTION]
        keeper = claimants[0] if len(claimants) == 1 else builtins[0] if len(builtins) == 1 else None
        for entry_point in claimants:
            if entry_point is keeper:
                _load_one(manager, name, entry_point.value, entry_point.load, *_distribution(entry_point))
                continue
            distribution = _distribution(entry_point)[0]
            manager.broken[f"{distribution}:{name}"] = BrokenPlugin(
                name=f"{distribution}:{name}", module=entry_point.value,
                error=_entry_point_clash(name, entry_point, claimants, keeper), traceback="")


def _describe_entry_point(entry_point: importlib.metadata.EntryPoint) -> str:
    distribution, version = _distribution(entry_point)
    built_in = "built-in, " if distribution == BUILTIN_DISTRIBUTION else ""
    return f"{entry_point.value} ({built_in}distribution {distribution or '?'} {version})".rstrip()


def _entry_point_clash(name: str, newcomer: importlib.metadata.EntryPoint,
                       claimants: list[importlib.metadata.EntryPoint], keeper) -> str:
    others = [entry_point for entry_point in claimants if entry_point is not newcomer]
    described = "; ".join(_describe_entry_point(entry_point) for entry_point in others)
    distribution = _distribution(newcomer)[0]
    message = (f"entry point {name!r} of {_describe_entry_point(newcomer)} has the name of another entry point in "
               f"group {ENTRY_POINT_GROUP!r}: {described}. ")
    if keeper is not None:
        message += f"The built-in keeps the name; {newcomer.value} is not loaded."
    else:
        message += "Neither is loaded: which one would win depends on the order of sys.path."
    keeper_blocks = ",".join(f"{_distribution(other)[0]}:{name}" for other in others)
    return (message + f" Rename the entry point in {distribution}'s [project.entry-points.{ENTRY_POINT_GROUP}]; until "
            f"then {BLOCK_ENV_VAR}={distribution}:{name} hides this one, and {BLOCK_ENV_VAR}={keeper_blocks} loads "
            f"it instead.")


# ------------------------------------------------------------------------------------------ unknown hooks


def _reject_unknown_hooks(manager: HarnessPluginManager) -> None:
    """pluggy's `check_pending`, plugin by plugin and with "did you mean": an implementation of a hook that does not
    exist is never called, so a misspelt `register_augmenter` would silently register nothing. Such a plugin is
    unregistered and marked broken, like one that fails to import."""
    hooks = {name: caller for name, caller in vars(manager.hook).items() if not name.startswith("_")}
    specs = sorted(name for name, caller in hooks.items() if caller.has_spec())
    unknown: dict[str, list[tuple[str, pluggy.HookImpl]]] = {}
    for name, caller in sorted(hooks.items()):
        if not caller.has_spec():
            for implementation in caller.get_hookimpls():
                if not implementation.optionalhook:
                    unknown.setdefault(implementation.plugin_name, []).append((name, implementation))
    for plugin_name, implementations in unknown.items():
        problems, meant = [], []
        for name, implementation in implementations:
            close = difflib.get_close_matches(name, specs, n=1)
            meant += close
            suggestion = f"did you mean {close[0]}?" if close else "the hooks are listed in docs/plugins.md"
            problems.append(f"{name} is not a harness hook ({suggestion}) at {_where(implementation.function)}")
        origin = manager.origins.pop(plugin_name, None)
        manager.unregister(name=plugin_name)
        manager.broken[plugin_name] = BrokenPlugin(
            name=plugin_name, module=origin.module if origin else plugin_name,
            error="; ".join(problems) + ". The harness never calls a hook it does not know, so the plugin is not "
                  "loaded: rename the function (or pass specname= to hookimpl).",
            traceback="", meant_hooks=tuple(meant))


def _where(function: object) -> str:
    """module.function (file:line) of a hook implementation, so the author finds the misspelt line."""
    code = getattr(function, "__code__", None)
    name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"
    return f"{name} ({code.co_filename}:{code.co_firstlineno})" if code is not None else name
