"""Plugin manager construction: a fresh manager per run, entry points loaded one by one.

A plugin module that raises at import is remembered as broken (with its error) instead of taking the
whole harness down: only suites that use one of its names fail, with that error in the message.
"""

from __future__ import annotations

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
"""Comma-separated plugin (entry point) names that are never imported, e.g. a slow or broken one."""


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    module: str
    error: str
    traceback: str


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


def blocked_plugin_names(environ: Optional[dict[str, str]] = None) -> frozenset[str]:
    value = (environ if environ is not None else os.environ).get(BLOCK_ENV_VAR, "")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def make_plugin_manager(
    extra_plugins: Iterable[object] = (),
    plugin_modules: Iterable[str] = (),
    load_entry_points: bool = True,
    environ: Optional[dict[str, str]] = None,
) -> HarnessPluginManager:
    """Build a new plugin manager.

    :param extra_plugins: plugin objects (modules or instances with hookimpls) registered directly, as a
        test or an embedding application does.
    :param plugin_modules: importable module names loaded like `pytest -p` (CLI `--plugin`).
    :param load_entry_points: load the `harness` entry-point group (built-ins and installed third parties).
    """
    manager = HarnessPluginManager()
    manager.blocked_names = blocked_plugin_names(environ)
    if load_entry_points:
        for entry_point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
            if entry_point.name in manager.blocked_names or manager.has_plugin(entry_point.name):
                continue
            distribution = entry_point.dist.name if entry_point.dist else ""
            version = entry_point.dist.version if entry_point.dist else ""
            _load_one(manager, entry_point.name, entry_point.value, entry_point.load, distribution, version)
    for module_name in plugin_modules:
        if module_name in manager.blocked_names:
            continue
        _load_one(manager, module_name, module_name, lambda m=module_name: importlib.import_module(m), "", "")
    manager.plugin_modules = tuple(plugin_modules)
    for plugin in extra_plugins:
        manager.in_process_plugins += 1
        name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in manager.blocked_names:
            continue
        manager.register_plugin(plugin, name=name)
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
