"""Deprecated import path, kept so that code written against earlier docs keeps working: the plugin template is
harness.authoring.plugin_template (or `harness new-plugin KIND NAME`)."""

from harness.authoring.plugin_template import write_plugin_package  # noqa: F401
