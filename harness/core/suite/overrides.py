"""Command-line overrides of a loaded suite: `--set KEY.PATH=VALUE`, applied before validation."""

from __future__ import annotations

from typing import Any

import yaml

from harness.core.errors import SourceLocation, SuiteError, SuiteErrors
from harness.core.suite.checker import kind_of
from harness.core.suite.yaml_loading import LocatedDict, LocatedList


def apply_override(document: LocatedDict, override: str) -> None:
    """Set one `a.b.0.c=value` path in a loaded suite; errors (and later validation errors) point at the flag."""
    where = SourceLocation(f"--set {override}", 1, 1, from_command_line=True)
    dotted, separator, raw = override.partition("=")
    keys = [key.strip() for key in dotted.split(".")]
    if not separator or not all(keys):
        raise SuiteErrors([SuiteError("--set takes KEY.PATH=VALUE, e.g. budgets.max_train_examples=4000", where)])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise SuiteErrors([SuiteError(f"the value is not valid YAML: {error}", where)]) from error
    value = _located_copy(value, where)
    container: Any = document
    for depth, key in enumerate(keys):
        path = ".".join(keys[:depth + 1])
        if isinstance(container, list):
            if not key.isdigit() or int(key) >= len(container):
                raise SuiteErrors([SuiteError(f"{path}: the list has {len(container)} item(s); use an index from 0",
                                              where)])
            index: Any = int(key)
            locations = container.item_locations
        elif isinstance(container, dict):
            index, locations = key, container.value_locations
        else:
            raise SuiteErrors([SuiteError(f"{'.'.join(keys[:depth])}: cannot set a key inside "
                                          f"{kind_of(container)}", where)])
        if depth == len(keys) - 1:
            container[index] = value
            locations[index] = where
            return
        if isinstance(container, dict) and index not in container:
            container[index], locations[index] = _located_copy({}, where), where
        elif isinstance(container[index], str):
            # `methods.0.epochs=1` on a bare component name (`- full`) sets it on `{use: full}`.
            container[index] = _located_copy({"use": container[index]}, where)
        container = container[index]


def _located_copy(value: Any, where: SourceLocation) -> Any:
    """Plain YAML data as the located containers the checker reads, every location the command-line flag."""
    if isinstance(value, dict):
        located = LocatedDict({key: _located_copy(item, where) for key, item in value.items()})
        located.location, located.value_locations = where, {key: where for key in value}
        return located
    if isinstance(value, list):
        located_list = LocatedList(_located_copy(item, where) for item in value)
        located_list.location, located_list.item_locations = where, [where for _ in value]
        return located_list
    return value
