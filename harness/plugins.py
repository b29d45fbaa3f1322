"""Deprecated import path, kept so that code written against earlier docs keeps working: the plugin manager is
harness.core.plugin_manager; plugin tests import `make_plugin_manager` from harness.testing."""

from harness.core.plugin_manager import (  # noqa: F401
    BLOCK_ENV_VAR,
    ENTRY_POINT_GROUP,
    BrokenPlugin,
    HarnessPluginManager,
    PluginOrigin,
    make_plugin_manager,
)
