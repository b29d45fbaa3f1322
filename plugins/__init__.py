"""Built-in plugins, installed under the import name `harness_plugins`.

Each module is one plugin, registered through the `harness` entry-point group exactly like a third-party
plugin. Modules import only from `harness`; heavy libraries are imported inside factories.
"""
