"""Checking suite parameters against a component's config dataclass, with file:line:col errors."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from typing import Annotated, Any, Mapping, Optional

from harness.core.errors import SourceLocation, SuiteError

# PyYAML follows YAML 1.1, where `5e-5` (no dot) is a string, not a float: the most common surprise in
# learning-rate fields. A float field accepts such a string; any other string is still an error.
_FLOAT_LITERAL = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


class _RelativeToSuite:
    """Marks a config field as a filesystem path (see SuitePath)."""

    def __repr__(self) -> str:
        return "path"


SuitePath = Annotated[str, _RelativeToSuite()]
"""A config field holding a file or directory path, e.g. `train: SuitePath` or `path: Optional[SuitePath] = None`.

A relative path written in a suite is relative to the suite file's directory (as in most configuration formats);
one given on the command line (`--set task.path=DIR`) is relative to the current directory. `~` and `$VARS` are
expanded. The config receives the resolved, absolute path, so its own errors show where it looked."""


def is_suite_path(annotation: Any) -> bool:
    """Whether a type hint (taken with include_extras=True) is, or contains, SuitePath."""
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(extra, _RelativeToSuite) for extra in annotation.__metadata__) or is_suite_path(
            typing.get_args(annotation)[0])
    return any(is_suite_path(argument) for argument in typing.get_args(annotation))


def resolve_suite_path(value: str, location: Optional[SourceLocation]) -> str:
    """`value` as an absolute path: expanded, and joined to the directory it is relative to (see SuitePath)."""
    expanded = os.path.expanduser(os.path.expandvars(value))
    if not expanded.strip() or "\0" in expanded or os.path.isabs(expanded):
        return expanded  # empty and NUL-containing paths are left for the plugin to refuse by name
    base = location.base_directory() if location is not None else os.getcwd()
    return os.path.normpath(os.path.join(base, expanded))


def _resolve_paths(value: Any, location: Optional[SourceLocation]) -> Any:
    if isinstance(value, str):
        return resolve_suite_path(value, location)
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_paths(item, location) for item in value)
    return value


def describe_type(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return "path" if is_suite_path(annotation) else describe_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe_type(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(annotation))
    if origin in (tuple, list):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        return f"list of {describe_type(args[0])}" if args else "list"
    return getattr(annotation, "__name__", str(annotation))


def config_field_summary(config_class: Optional[type]) -> tuple[tuple[str, str, str], ...]:
    if config_class is None:
        return ()
    hints = typing.get_type_hints(config_class, include_extras=True)
    summary = []
    for field in dataclasses.fields(config_class):
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        summary.append((field.name, describe_type(hints[field.name]), default))
    return tuple(summary)


def coerce(value: Any, annotation: Any) -> Any:
    """Return `value` as `annotation` or raise TypeError with a readable reason."""
    if annotation is Any:
        return value
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return coerce(value, option)
            except TypeError:
                continue
        raise TypeError(f"expected {describe_type(annotation)}, got {_describe_value(value)}")
    if origin is typing.Literal:
        if value in typing.get_args(annotation):
            return value
        raise TypeError(f"expected one of {describe_type(annotation)}, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected {describe_type(annotation)}, got {_describe_value(value)}")
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        items = [coerce(item, args[0]) if args else item for item in value]
        return tuple(items) if origin is tuple else items
    if annotation is type(None):
        if value is None:
            return None
        raise TypeError(f"expected null, got {_describe_value(value)}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(f"expected true or false, got {_describe_value(value)}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(f"expected an integer, got {_describe_value(value)}")
    if annotation is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # a 400-digit integer
                number = math.inf
        elif isinstance(value, str) and _FLOAT_LITERAL.match(value.strip()):
            number = float(value)
        if number is None:
            raise TypeError(f"expected a number, got {_describe_value(value)}")
        if not math.isfinite(number):  # .nan, .inf and 1e400 are never a meaningful setting
            raise TypeError(f"expected a finite number, got {_describe_value(value)}")
        return number
    if annotation is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"expected a string, got {_describe_value(value)}")
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise TypeError(f"expected {describe_type(annotation)}, got {_describe_value(value)}")


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (dict,)):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def build_config(
    config_class: Optional[type],
    params: Mapping[str, Any],
    locations: Mapping[str, SourceLocation],
    where: Optional[SourceLocation],
    kind: str,
    name: str,
    plugin: str,
) -> tuple[Any, list[SuiteError]]:
    """Instantiate `config_class` from suite params; return (config or None, errors)."""
    errors: list[SuiteError] = []
    subject = f"{kind} {name!r} (plugin {plugin!r})"
    if config_class is None:
        for key in params:
            errors.append(SuiteError(f"{subject} takes no parameters, got {key!r}", locations.get(key, where), plugin))
        return None, errors
    hints = typing.get_type_hints(config_class)
    path_fields = {name for name, hint in typing.get_type_hints(config_class, include_extras=True).items()
                   if is_suite_path(hint)}
    fields = {field.name: field for field in dataclasses.fields(config_class) if field.init}
    values = {}
    for key, value in params.items():
        location = locations.get(key, where)
        if key not in fields:
            message = f"{subject} has no parameter {key!r}"
            close = difflib.get_close_matches(key, list(fields), n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
            message += f" Its parameters: {', '.join(fields) if fields else '(none)'}."
            errors.append(SuiteError(message, location, plugin))
            continue
        try:
            values[key] = coerce(value, hints[key])
            if key in path_fields:
                values[key] = _resolve_paths(values[key], location)
        except TypeError as error:
            errors.append(SuiteError(f"{subject} parameter {key!r}: {error}", location, plugin))
    for field_name, field in fields.items():
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and field_name not in params:
            errors.append(SuiteError(f"{subject} requires parameter {field_name!r}", where, plugin))
    if errors:
        return None, errors
    try:
        config = config_class(**values)
    except (TypeError, ValueError) as error:
        # A config's own __post_init__ checks (e.g. "r must be positive") surface here; point at the
        # parameter the message starts with, if any, else at the component.
        location = next((locations[key] for key in params if str(error).startswith(f"{key} ") and key in locations),
                        where)
        return None, [SuiteError(f"{subject}: {error}", location, plugin)]
    return config, []
