"""The plugin contract kit, for a plugin's own tests (documented in docs/plugins.md): the checks the built-in
components pass, small inputs, a tiny offline model, and two pytest fixtures. Each check raises AssertionError with
a message that names the component and the rule it broke, and returns what it checked.

    import my_plugin
    from harness.testing import build_component, check_attack, check_config, sample_examples, tiny_classifier

    def test_my_attack(tmp_path):
        check_config(my_plugin, "attack", "my-attack", rejects=[{"query_budget": 0}])
        attack = build_component(my_plugin, "attack", "my-attack", {"query_budget": 50})
        check_attack(attack, tiny_classifier(tmp_path), sample_examples())

pytest fixtures: with pytest installed this module also defines `harness_tiny_classifier` (session-scoped) and
`harness_environment`; a conftest.py makes them available by importing them:

    from harness.testing import harness_environment, harness_tiny_classifier  # noqa: F401 (pytest fixtures)

Importing this module is cheap; torch and transformers are imported only by the helpers that build models. The
kit itself lives in harness.authoring (contract_kit: the checks; samples: the inputs and the tiny model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from harness.authoring.contract_kit import (
    HEAVY_MODULES,
    build_component,
    check_alongside_installed,
    check_attack,
    check_augmenter,
    check_config,
    check_explainer,
    check_finetuner,
    check_import_is_light,
    check_reporter,
    check_task,
    component_from,
)
from harness.authoring.samples import (
    SAMPLE_TEXTS,
    sample_examples,
    sample_run_dir,
    sample_task_data,
    silent_progress,
    stage_environment,
    tiny_classifier,
    tiny_model_dir,
    tiny_train_request,
)
from harness.core.plugin_manager import make_plugin_manager
from harness.core.types import StageEnvironment

__all__ = [
    "HEAVY_MODULES", "SAMPLE_TEXTS", "build_component", "check_alongside_installed", "check_attack", "check_augmenter",
    "check_config", "check_explainer", "check_finetuner", "check_import_is_light", "check_reporter", "check_task",
    "component_from", "make_plugin_manager", "sample_examples", "sample_run_dir", "sample_task_data", "silent_progress",
    "stage_environment", "tiny_classifier", "tiny_model_dir", "tiny_train_request",
]

try:
    import pytest
except ImportError:  # the checks work without pytest; only the fixtures need it
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def harness_tiny_classifier(tmp_path_factory: Any) -> Any:
        """tiny_classifier(), built once per test session."""
        return tiny_classifier(tmp_path_factory.mktemp("harness-tiny-classifier"))

    @pytest.fixture
    def harness_environment(tmp_path: Path) -> Iterator[StageEnvironment]:
        """stage_environment(tmp_path): a StageEnvironment for one test, seed 0, CPU, no progress bars."""
        yield stage_environment(tmp_path / "stage")
