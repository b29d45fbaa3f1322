"""Located YAML: suites are composed with PyYAML's safe loader and walked node by node, so that every value keeps
its position (file:line:col) for the messages that point at it.
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.core.errors import SourceLocation, SuiteError, SuiteErrors


class LocatedDict(dict):
    location: SourceLocation
    value_locations: dict[str, SourceLocation]


class LocatedList(list):
    location: SourceLocation
    item_locations: list[SourceLocation]


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _location(file: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(file, node.start_mark.line + 1, node.start_mark.column + 1)


MAX_YAML_VALUES = 100_000
"""More values than any suite needs: YAML aliases can expand a small file exponentially ("billion laughs")."""
MAX_YAML_DEPTH = 100
MAX_INTEGER = 2**63 - 1
"""Larger integers are never meaningful in a suite and overflow where they become floats or seeds."""


def _offset_location(text: str, file: str, offset: int) -> SourceLocation:
    line_start = text.rfind("\n", 0, offset) + 1
    return SourceLocation(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def load_yaml_with_locations(text: str, file: str) -> Any:
    """Parse YAML strictly: safe tags only, string keys only, no duplicate keys; keep every position."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character first
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file, 1, 1)
        raise SuiteErrors([SuiteError(f"invalid YAML: {error.problem or error}", location)]) from error
    except yaml.reader.ReaderError as error:  # a control character
        raise SuiteErrors([SuiteError(f"invalid YAML: character {chr(error.character)!r} (#x{error.character:04x}) is "
                                      f"not allowed in YAML", _offset_location(text, file, error.position))]) from error
    except yaml.YAMLError as error:
        raise SuiteErrors([SuiteError(f"invalid YAML: {error}", SourceLocation(file, 1, 1))]) from error
    except RecursionError as error:
        raise SuiteErrors([SuiteError("invalid YAML: the suite nests too deeply",
                                      SourceLocation(file, 1, 1))]) from error
    if root is None:
        raise SuiteErrors([SuiteError("the suite is empty", SourceLocation(file, 1, 1))])
    errors: list[SuiteError] = []
    try:
        value = _convert(root, loader, file, errors, _Walk())
    except _TooLarge as error:
        raise SuiteErrors([SuiteError(str(error), _location(file, error.node))]) from None
    finally:
        loader.dispose()
    if errors:
        raise SuiteErrors(errors)
    return value


class _TooLarge(Exception):
    def __init__(self, message: str, node: yaml.Node):
        super().__init__(message)
        self.node = node


class _Walk:
    """What _convert tracks across the tree: values made so far, and the collections being converted."""

    def __init__(self):
        self.values = 0
        self.open: set[int] = set()


def _convert(node: yaml.Node, loader: yaml.SafeLoader, file: str, errors: list[SuiteError], walk: _Walk) -> Any:
    walk.values += 1
    if walk.values > MAX_YAML_VALUES:
        raise _TooLarge(f"the suite expands to more than {MAX_YAML_VALUES} values (YAML aliases?)", node)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            # Tags such as !!python/object/apply build objects or run code: never in a suite.
            errors.append(SuiteError(f"unsupported YAML value: tag {node.tag!r} is not allowed", _location(file, node)))
            return None
        if id(node) in walk.open:
            errors.append(SuiteError("a YAML alias refers to a collection that contains it", _location(file, node)))
            return None
        if len(walk.open) >= MAX_YAML_DEPTH:
            raise _TooLarge(f"the suite nests more than {MAX_YAML_DEPTH} levels deep", node)
        walk.open.add(id(node))
        try:
            return _convert_collection(node, loader, file, errors, walk)
        finally:
            walk.open.discard(id(node))
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        errors.append(SuiteError(f"unsupported YAML value: {error.problem}", _location(file, node)))
        return None
    except Exception as error:  # e.g. `!!int abc`, a 5000-digit number: the scalar's fault, not the harness's
        if isinstance(error, ValueError) and "digits" in str(error):  # beyond Python's int-from-string limit
            errors.append(SuiteError(_too_large(node.value), _location(file, node)))
        else:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            errors.append(SuiteError(f"invalid {tag} value {node.value[:40]!r}: {error}", _location(file, node)))
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        errors.append(SuiteError(_too_large(node.value), _location(file, node)))
        return None
    return value


def _too_large(literal: str) -> str:
    shown = literal if len(literal) <= 24 else f"{literal[:20]}... ({len(literal)} characters)"
    return f"the number {shown} is too large (at most {MAX_INTEGER})"


def _convert_collection(node: yaml.Node, loader: yaml.SafeLoader, file: str, errors: list[SuiteError],
                        walk: _Walk) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = LocatedDict()
        result.location = _location(file, node)
        result.value_locations = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                errors.append(SuiteError("YAML merge keys (<<) are not supported in suites", _location(file, key_node)))
                continue
            key = _convert(key_node, loader, file, errors, walk)
            if not isinstance(key, str):
                errors.append(SuiteError(f"keys must be strings, got {key!r}", _location(file, key_node)))
                continue
            if key in result:
                first = result.value_locations[key]
                errors.append(
                    SuiteError(f"duplicate key {key!r} (first defined at line {first.line})", _location(file, key_node))
                )
                continue
            result[key] = _convert(value_node, loader, file, errors, walk)
            result.value_locations[key] = _location(file, value_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        result_list = LocatedList(_convert(item, loader, file, errors, walk) for item in node.value)
        result_list.location = _location(file, node)
        result_list.item_locations = [_location(file, item) for item in node.value]
        return result_list
    raise TypeError(f"not a collection node: {node!r}")  # unreachable: _convert passes collections only


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def key_paths(document: Any, prefix: str = "") -> dict[tuple[int, int], str]:
    """(line, column) of every value of a located document -> its key path (`methods[0].epochs`); the first path
    wins where two values start at one place."""
    paths: dict[tuple[int, int], str] = {}
    if isinstance(document, LocatedDict):
        for key, location in document.value_locations.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.setdefault((location.line, location.column), path)
            for place, inner in key_paths(document[key], path).items():
                paths.setdefault(place, inner)
    elif isinstance(document, LocatedList):
        for number, location in enumerate(document.item_locations):
            path = f"{prefix}[{number}]"
            paths.setdefault((location.line, location.column), path)
            for place, inner in key_paths(document[number], path).items():
                paths.setdefault(place, inner)
    return paths
