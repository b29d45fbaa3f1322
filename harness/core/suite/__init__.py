"""Suites: strict YAML in, a validated `Suite` out, every problem reported as file:line:col.

YAML is composed with PyYAML's safe loader (no tags that build objects, no code) and walked node by node
so that every value keeps its position. All problems found in one pass are reported together.

The package, by concern (each module imports only the ones above it):

- `spec`: the keys a suite may have and the frozen dataclasses validation produces (`Suite`, `ComponentRef`, ...);
- `yaml_loading`: located YAML (`load_yaml_with_locations`);
- `checker`: `Checker`, which collects problems, and the checks of components (`{use: NAME, ...params}`);
- `model_checks`, `gate_checks`, `overrides`: the `model:` and `gates:` sections (and the warning that a
  significant gate's budgets are too small to detect its allowed move), and `--set KEY.PATH=VALUE`;
- `kind_checks`: the suite against the task kind its task plugin declares (`task_kind`), before any data loads;
- `parsing`: `parse_suite`, `load_suite`, `read_suite_text` and `hub_downloads`.
"""

from harness.core.suite.gate_checks import parse_gates, underpowered_gate_warnings
from harness.core.suite.model_checks import resolve_model_location
from harness.core.suite.overrides import apply_override
from harness.core.suite.parsing import hub_downloads, load_suite, parse_suite, read_suite_text
from harness.core.suite.spec import (
    AdversarialSpec,
    AugmentSpec,
    BaselineRule,
    ComponentRef,
    GateSpec,
    ModelSpec,
    Suite,
)
from harness.core.suite.yaml_loading import load_yaml_with_locations

__all__ = [
    "AdversarialSpec",
    "AugmentSpec",
    "BaselineRule",
    "ComponentRef",
    "GateSpec",
    "ModelSpec",
    "Suite",
    "apply_override",
    "hub_downloads",
    "load_suite",
    "load_yaml_with_locations",
    "parse_gates",
    "parse_suite",
    "read_suite_text",
    "resolve_model_location",
    "underpowered_gate_warnings",
]
