"""Hook specifications: the permanent plugin API. Arguments may be added, never renamed or removed.

Contribution hooks receive a `register` callable: `register(name, factory, config=ConfigDataclass,
description="...", version="...")`. `name` is what users write in suites; `factory(config)` builds the component
(import heavy libraries inside it, not at module import); `config` is a frozen dataclass whose fields are the
component's parameters, checked by `harness validate` before anything runs; `version` (default: the version of the
distribution that provides the plugin) is part of the component's stage cache keys: bump it when its results change.

Lifecycle hooks let loggers (MLflow, W&B, a Slack notifier) follow a run without touching the core.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "harness"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_tasks(register):
    """Contribute tasks: factories of objects with `load(env) -> TaskData`.

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_finetuners(register):
    """Contribute fine-tuning methods: factories of objects with `train(TrainRequest) -> TrainedModel`.

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_attacks(register):
    """Contribute attacks: factories of objects with `attack(classifier, examples, env) -> AttackOutcome`, or the
    method a task kind asks of its attacks (harness.kinds: e.g. `attack_tokens` for taggers).

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_augmenters(register):
    """Contribute augmenters / perturbations: factories of objects with `augment(texts, env) -> list[str]`
    (one output text per input text; used for data augmentation and for the perturbation stage), or the method a
    task kind asks of its perturbations (harness.kinds: e.g. `perturb_tokens` for taggers).

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_explainers(register):
    """Contribute explainers: factories of objects with `explain(classifier, examples, env) -> ExplainOutcome`.

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_judges(register):
    """Contribute judges (`judges:`): factories of objects with `judge(records, env) -> [Verdict, ...]`, one verdict
    per successful adversarial example (an `AttackRecord`): is it still a valid example of its label?

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_reporters(register):
    """Contribute reporters: factories of objects with `render(ReportRequest) -> list[Path]`.

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_executors(register):
    """Contribute executors: factories of objects with `run(ExecutionPlan) -> None` that decide where a suite's
    cells run (this process, a Ray cluster, a batch scheduler). `harness run --executor NAME` picks one.

    :param register: `register(name, factory, config=None, description="", version=None)`.
    """


@hookspec
def register_task_kinds(register):
    """Contribute task kinds: factories (no config) of harness.TaskKind objects, everything that differs between
    kinds of task: the example type, encoding, predictor, metrics, stages, accepted components and report sections.
    A task plugin's `TaskData.kind` names one. The built-in kinds (harness.kinds) are registered this way too.

    :param register: `register(name, factory, description="", version=None)`.
    """


@hookspec
def before_suite(suite, run_dir):
    """Called once before the first stage runs.

    :param suite: the validated `harness.core.suite.Suite`.
    :param run_dir: `pathlib.Path` of the run directory (manifest.json already written).
    """


@hookspec
def after_stage(stage, results):
    """Called after each stage finished, whether computed now or taken from the cache.

    :param stage: the `harness.StageRecord` of the stage (status "computed" or "cached").
    :param results: tuple of `harness.ResultRow` the stage produced.
    """


@hookspec
def on_stage_error(stage, error):
    """Called when a stage raised; the run goes on with stages that do not depend on it.

    :param stage: the `harness.StageRecord` (status "error", traceback filled).
    :param error: the exception the stage raised.
    """


@hookspec
def after_suite(run):
    """Called once after every stage and reporter ran (also when some stages failed).

    :param run: the `harness.StoredRun` as written to disk.
    """
