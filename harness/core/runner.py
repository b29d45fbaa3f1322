"""The runner: a suite becomes cells (model x method x seed x train size), each cell the chain of cached stages its
task kind declares (harness.kinds), scheduled here:

    task -> [the kind's stages per cell, e.g. finetune -> evaluate -> attack (each) -> ...]    then gates -> reports

The task's kind is found in the registry by `TaskData.kind`; it also refuses, before anything trains, the
components that cannot serve it.

Every stage's key hashes its configuration, the keys of its inputs, the plugin's name and version, library
versions and the schema version. A stage whose key is in the cache is not recomputed, so a rerun after a
crash, a kill or an edit redoes only what changed. A stage that raises is recorded with its traceback; the
stages that need its output are recorded as skipped, all others go on.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import secrets
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from harness.core.artifacts import ArtifactMirror
from harness.core.components import Classifier
from harness.core.errors import (
    HarnessError,
    PluginError,
    StageError,
    SuiteErrors,
    code_places,
    describe_stage_error,
    innermost_frame_in,
)
from harness.core.executors import (
    NOT_SHIPPABLE,
    CellRecorder,
    RemoteCell,
    StageOutcome,
    build_executor,
    make_plan,
)
from harness.core.files import content_key, remove_stale_temporaries
from harness.core.gates import evaluate_gates, load_baseline
from harness.core.manifest import library_versions, now, run_manifest
from harness.core.names import check_run_id
from harness.core.plugin_manager import HarnessPluginManager
from harness.core.registry import Registry
from harness.core.sampling import resolve_count, sample, stratified_order
from harness.core.seeding import set_seed
from harness.core.store import CACHE_DIR_NAME, RunStore, StageCache, read_run
from harness.core.suite import ComponentRef, ModelSpec, Suite, underpowered_gate_warnings
from harness.core.types import (
    DEFAULT_TASK_KIND,
    SCHEMA_VERSION,
    CellJob,
    CellResult,
    Example,
    GateOutcome,
    ReportRequest,
    ResultRow,
    StageEnvironment,
    StageRecord,
    TaskData,
)
from harness.kinds.base import CellState, FinishedStage, StageContext, TaskKind, unsupported_strategies
from harness.kinds.standard import config_key
from harness.modeling.as_is import as_is_problems

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE_ERROR = 2
EXIT_STAGE_CRASHED = 3

VALIDATION_FRACTION = 0.1
"""Share of the training split held out for validation when a task provides no validation split."""


@dataclass(frozen=True)
class RunOptions:
    output: Optional[Path] = None
    """Overrides the suite's `output:` directory."""
    cache_dir: Optional[Path] = None
    """Stage cache; default <output>/.stage-cache, shared by every suite writing to that output."""
    device: str = "auto"
    progress: bool = True
    run_id: Optional[str] = None
    executor: str = "local"
    """The executor plugin that runs the cells: "local" (this process), "ray" (Ray tasks), or a third party's."""
    executor_options: Mapping[str, Any] = field(default_factory=dict)
    """The executor's config, e.g. {"address": "auto", "num_cpus": 1, "num_gpus": 0, "max_retries": 2} for Ray."""
    baseline: Optional[Path] = None
    """A run directory or results.json that baseline gates compare against."""
    allow_different_data: bool = False
    debug: bool = False
    """Print a failed stage's traceback to the console (`harness --debug run`), not only into stages.jsonl."""
    """Compare with a baseline of another task or test set (its numbers only: no paired test)."""
    correction: str = "holm"
    """Multiple-comparison correction of the significant baseline gates' paired tests: "holm" or "none"."""
    artifacts: Optional[str] = None
    """fsspec URL of a mirror of the stage cache (s3://bucket/prefix, file:///shared): machines that share no
    filesystem share finished stages through it (see harness.core.artifacts)."""


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    exit_code: int
    stages: tuple[StageRecord, ...]
    gates: tuple[GateOutcome, ...]
    report_paths: tuple[Path, ...]


def make_progress(enabled: bool) -> Callable[..., Any]:
    from tqdm.auto import tqdm

    # In a CI log (no terminal) every refresh is a new line, so refresh rarely there.
    refresh_seconds = 0.5 if sys.stderr.isatty() else 30.0

    def progress(iterable=None, **kwargs):
        return tqdm(iterable, disable=not enabled, file=sys.stderr, dynamic_ncols=True, mininterval=refresh_seconds,
                    **kwargs)

    return progress


class Runner:
    def __init__(self, suite: Suite, registry: Registry, manager: HarnessPluginManager, options: RunOptions):
        self.suite = suite
        self.registry = registry
        self.manager = manager
        self.options = options
        self.output = Path(options.output or suite.output)
        mirror = ArtifactMirror(options.artifacts) if options.artifacts else None
        self.cache = StageCache(Path(options.cache_dir or os.environ.get("HARNESS_CACHE_DIR")
                                     or self.output / CACHE_DIR_NAME),
                                mirror)
        self.progress = make_progress(options.progress)
        self.libraries = library_versions()
        self.executor = build_executor(registry, options.executor, options.executor_options)
        if getattr(self.executor, "ships_cells", False) and manager.in_process_plugins:
            raise HarnessError(f"--executor {options.executor}: {NOT_SHIPPABLE}")
        self.device = "cpu"
        self.store: Optional[RunStore] = None
        self.task_data: Optional[TaskData] = None
        self.kind: Optional[TaskKind] = None
        """The task's kind (harness.kinds), found in the registry once the task is loaded."""
        self.record_stage: Callable[[StageOutcome], None] = self.record_locally
        self.model_identities: dict[str, dict[str, Any]] = {}
        """Where finished stages go: the store (driver), or a list a remote worker returns to the driver."""

    # ------------------------------------------------------------------------------------------ run

    def run(self) -> RunSummary:
        from harness.core.resources import prepare_offline_resources
        from harness.modeling.models import resolve_device

        started = time.time()
        check_run_id(self.options.run_id)
        for message in underpowered_gate_warnings(self.suite):  # as `harness validate` says them
            print(message, file=sys.stderr)
        # Loaded first: a wrong baseline path should fail before hours of training, not after.
        baseline = load_baseline(self.options.baseline) if self.options.baseline is not None else None
        self.device = resolve_device(self.options.device)
        prepare_offline_resources(needs_hub=any(not Path(model.source.location).is_dir()
                                                for model in self.suite.models))
        run_id = self.options.run_id or (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3))
        self.store = RunStore(self.output / self.suite.name / run_id, lock=True)
        remove_stale_temporaries(self.store.run_dir)  # of a killed run resumed under its own --run-id
        try:
            abandoned = self.cache.remove_abandoned()
            if abandoned:
                print(f"removed {abandoned} half-built stage(s) of an interrupted run from the stage cache",
                      file=sys.stderr)
            self.store.write_manifest(run_manifest(self.suite, run_id, self.device, self.libraries,
                                                   self.cache.root, self.options.artifacts,
                                                   self.options.baseline, self.cell_jobs(whole_train=True)))
            self._fire("before_suite", suite=self.suite, run_dir=self.store.run_dir)

            self.task_data = self._task_stage()
            if self.task_data is not None:
                problems = self.kind.check_components(self.suite, self.registry, self.task_data)
                problems += unsupported_strategies(self.kind, self.suite, self.task_data, problems)
                problems += as_is_problems(self.suite, self.kind, self.task_data.label_names)
                if problems:
                    raise SuiteErrors(problems)
                if baseline is not None:  # before anything trains: the runs must have seen the same test set
                    baseline = baseline.checked_against(read_run(self.store.run_dir).manifest,
                                                        self.options.allow_different_data)
                self._execute_cells()

            gates = evaluate_gates(self.suite.gates, self.store.rows, run=read_run(self.store.run_dir),
                                   baseline=baseline, correction=self.options.correction)
            self.store.write_gates(gates)
            self.store.update_manifest(finished_at=now(), duration_seconds=round(time.time() - started, 2))
            report_paths = self._reports()
            self._fire("after_suite", run=read_run(self.store.run_dir))
        finally:
            self.store.close()
        crashed = any(stage.status == "error" for stage in self.store.stages)
        exit_code = EXIT_STAGE_CRASHED if crashed else EXIT_GATE_FAILED if any(not g.passed for g in gates) else EXIT_OK
        return RunSummary(self.store.run_dir, exit_code, tuple(self.store.stages), gates, tuple(report_paths))

    # ------------------------------------------------------------------------------------ stages

    def _stage(self, kind: str, stage_id: str, ref: ComponentRef, key_parts: dict[str, Any],
               compute: Callable[[Path, StageEnvironment], dict[str, Any]], cell: Optional[CellState],
               upstream_failed: bool = False, rows_name_component: bool = True) -> Optional[dict[str, Any]]:
        """Run one stage through the cache; return its payload, or None if it failed or was skipped."""
        component = self.registry.get(ref.kind, ref.name)
        key = content_key({
            **key_parts,
            "kind": kind,
            "component": ref.name,
            "plugin": component.plugin,
            "plugin_version": component.version,
            "config": config_key(ref.config),
            "libraries": self.libraries,
            "schema_version": SCHEMA_VERSION,
        })
        method_label = cell.method_label if cell else ""
        seed = cell.seed if cell else 0
        if upstream_failed:
            record = StageRecord(stage_id, kind, ref.label, component.plugin, key, "skipped", 0.0, method_label, seed,
                                 error="skipped: a stage it depends on failed")
            self.record_stage(StageOutcome(record))
            return None
        started = time.perf_counter()
        payload = self.cache.lookup(kind, key)
        status = "cached"
        if payload is None:
            status = "computed"
            building = self.cache.begin(kind, key)
            env = StageEnvironment(device=self.device, seed=seed, work_dir=building, progress=self.progress)
            try:
                set_seed(seed)
                payload = compute(building, env)
                payload = {"stage_id": stage_id, "kind": kind, "component": ref.label, "plugin": component.plugin,
                           "key": key, "created_at": now(), **payload}
                self.cache.commit(building, kind, key, payload)
            except Exception as error:
                self.cache.abandon(building)
                message, text = failure(error, component.factory)
                record = StageRecord(stage_id, kind, ref.label, component.plugin, key, "error",
                                     round(time.perf_counter() - started, 3), method_label, seed,
                                     error=message, traceback=text)
                self.record_stage(StageOutcome(record, error=record.error, exception=error))
                return None
            except BaseException:
                self.cache.abandon(building)
                raise
        rows = [
            ResultRow(task=self.suite.task.label, model=cell.model.name if cell else self.suite.model.name,
                      method=method_label, seed=seed,
                      stage=kind, component=ref.label if rows_name_component else "",
                      metric=metric["name"],
                      value=_float(metric["value"]), ci_low=metric.get("ci_low"), ci_high=metric.get("ci_high"),
                      n=metric.get("n"), stage_key=key, train_size=cell.train_size if cell else None)
            for metric in payload.get("metrics", [])
        ]
        record = StageRecord(stage_id, kind, ref.label, component.plugin, key, status,
                             round(time.perf_counter() - started, 3), method_label, seed)
        self.record_stage(StageOutcome(record, tuple(rows), self.cache.path(kind, key)))
        return payload

    def _fire(self, hook_name: str, **arguments: Any) -> None:
        """Call a lifecycle hook plugin by plugin: one that raises (an MLflow logger whose server is down) is
        recorded as a failed `hook/...` stage, so the run exits 3, and neither the other plugins' hooks nor the
        run's remaining stages are lost."""
        for implementation in reversed(getattr(self.manager.hook, hook_name).get_hookimpls()):
            try:
                implementation.function(**{name: arguments[name] for name in implementation.argnames})
            except Exception as error:
                record = StageRecord(f"hook/{implementation.plugin_name}/{hook_name}", "hook", hook_name,
                                     implementation.plugin_name, "", "error", 0.0,
                                     error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
                print(f"error: the {hook_name} hook of plugin {implementation.plugin_name!r} failed: {record.error}",
                      file=sys.stderr)
                if self.store is not None:
                    self.store.add_stage(record, [])

    def record_locally(self, outcome: StageOutcome) -> None:
        """Write a finished stage into the run's store and fire the lifecycle hooks (the driver's job)."""
        if outcome.records_dir is not None:
            self.cache.ensure_local(outcome.records_dir)  # computed on a worker that shares only the mirror
            self.store.copy_records(outcome.record.stage_id, outcome.records_dir)
        self.store.add_stage(outcome.record, list(outcome.rows))
        if outcome.record.status == "error":
            self._print_failure(f"stage {outcome.record.stage_id} (plugin {outcome.record.plugin!r})",
                                outcome.record)
            self._fire("on_stage_error", stage=outcome.record, error=outcome.exception or StageError(
                outcome.record.stage_id, outcome.record.plugin, outcome.error))
        elif outcome.record.status != "skipped":
            self._fire("after_stage", stage=outcome.record, results=outcome.rows)

    def _print_failure(self, what: str, record: StageRecord) -> None:
        """One message per failure: what failed, where in the plugin's code, and where its traceback is."""
        print(f"error: {what} failed: {record.error}", file=sys.stderr)
        if self.options.debug and record.traceback:
            print(record.traceback.rstrip(), file=sys.stderr)
        else:
            print(f"  its traceback is in {self.store.run_dir / 'stages.jsonl'} (rerun with `harness --debug run` to "
                  f"see it here)", file=sys.stderr)

    def _task_stage(self) -> Optional[TaskData]:
        """Load the task. Not cached: it is cheap, and its content (hashed) keys every downstream stage."""
        ref = self.suite.task
        started = time.perf_counter()
        env = StageEnvironment(device=self.device, seed=0, work_dir=self.store.run_dir, progress=self.progress)
        try:
            loaded = self._build(ref).load(env)
            if not isinstance(loaded, TaskData):
                raise PluginError(ref.plugin, f"task {ref.name!r} returned {type(loaded).__name__}, expected TaskData")
            self.kind = self._task_kind(loaded)
            data = self._apply_budgets(loaded)
        except Exception as error:
            message, text = failure(error, self.registry.get(ref.kind, ref.name).factory, plain_harness_errors=True)
            record = StageRecord("task", "task", ref.label, ref.plugin, "", "error",
                                 round(time.perf_counter() - started, 3), error=message, traceback=text)
            self.store.add_stage(record, [])
            self._print_failure(f"task {ref.label!r} (plugin {ref.plugin!r})", record)
            self._fire("on_stage_error", stage=record, error=error)
            return None
        key = content_key({split: self.kind.fingerprint(getattr(data, split))
                           for split in ("train", "validation", "test")})
        rows = [ResultRow(task=ref.label, model=self.suite.model.name, method="", seed=0, stage="task",
                          component=ref.label, metric=f"{split}_examples", value=float(len(getattr(data, split))),
                          stage_key=key)
                for split in ("train", "validation", "test")]
        record = StageRecord("task", "task", ref.label, ref.plugin, key, "computed",
                             round(time.perf_counter() - started, 3))
        self.store.update_manifest(label_names=list(data.label_names), task_description=data.description,
                                   split_sizes={split: len(getattr(data, split))
                                                for split in ("train", "validation", "test")},
                                   # What reports call the segments of a sentence-pair task.
                                   **({"text_fields": list(data.text_fields)} if len(data.text_fields) > 1 else {}),
                                   # What reports ask for the kind's own sections (harness.kinds).
                                   task_kind=data.kind)
        self.task_data = data
        self._store_samples(loaded, data)
        self.store.add_stage(record, rows)
        self._fire("after_stage", stage=record, results=tuple(rows))
        return data

    def _apply_budgets(self, data: TaskData) -> TaskData:
        """Hold out validation when the task has none, and cut each split to its budget with a seeded, stratified
        sample (harness.core.sampling)."""
        for split in ("train", "test"):
            if not getattr(data, split):
                raise HarnessError(f"task {data.name!r} has an empty {split} split; nothing to train or evaluate")
        budgets = self.suite.budgets
        stratify = self._stratify()
        train, validation = list(data.train), list(data.validation)
        if not validation:
            ordered = stratified_order(train, budgets.sample_seed, stratify)
            held_out = max(1, int(len(ordered) * VALIDATION_FRACTION))
            held_out_ids = {example.id for example in ordered[:held_out]}
            validation = ordered[:held_out]
            train = [example for example in train if example.id not in held_out_ids]
        test = list(data.test)
        if budgets.max_train_examples is not None:
            train = sample(train, budgets.max_train_examples, budgets.sample_seed, stratify)
        if budgets.max_eval_examples is not None:
            validation = sample(validation, budgets.max_eval_examples, budgets.sample_seed, stratify)
            test = sample(test, budgets.max_eval_examples, budgets.sample_seed, stratify)
        return dataclasses.replace(data, train=tuple(train), validation=tuple(validation), test=tuple(test))

    def _stratify(self) -> bool:
        """Whether samples keep label shares: only where the kind's examples have one label each (a NER sentence
        has none), whatever `budgets.stratify` says."""
        return self.suite.budgets.stratify and self.kind.stratified_sampling

    def _task_kind(self, data: TaskData) -> TaskKind:
        component = self.registry.get("task-kind", data.kind)
        if component is None:
            unknown = self.registry.unknown_name_message("task-kind", data.kind)
            raise PluginError(self.suite.task.plugin, f"task {self.suite.task.name!r} returned TaskData.kind "
                                                      f"{data.kind!r}: {unknown}")
        return component.build(None)

    def _attack_examples(self) -> tuple[Example, ...]:
        budgets = self.suite.budgets
        return tuple(sample(self.task_data.test, budgets.max_attack_examples, budgets.sample_seed, self._stratify()))

    def _explain_examples(self) -> tuple[Example, ...]:
        budgets = self.suite.budgets
        return tuple(sample(self.task_data.test, budgets.max_explain_examples, budgets.sample_seed, self._stratify()))

    def _store_samples(self, loaded: TaskData, data: TaskData) -> None:
        """The ids of every example the run uses, and fingerprints of the data before and after the budgets:
        two runs compare the same examples exactly when these match."""
        splits = ("train", "validation", "test")
        self.store.write_samples({
            "seed": self.suite.budgets.sample_seed,
            "stratified": self._stratify(),
            **{split: [example.id for example in getattr(data, split)] for split in splits},
            "attack": [example.id for example in self._attack_examples()],
            "explain": [example.id for example in self._explain_examples()],
        })
        self.store.update_manifest(dataset_fingerprints={
            "loaded": {split: self.kind.fingerprint(getattr(loaded, split)) for split in splits},
            "used": {split: self.kind.fingerprint(getattr(data, split)) for split in splits},
            "attack": self.kind.fingerprint(self._attack_examples()),
            "explain": self.kind.fingerprint(self._explain_examples()),
            # Without the labels: what paired tests pair (a relabelled test set has the same examples).
            "test_inputs": self.kind.inputs_fingerprint(data.test),
        })

    def _train_subsets(self) -> list[tuple[Example, ...]]:
        """One training set per `train_sizes` entry; smaller sets are prefixes of larger ones (nested), so
        a sweep measures the effect of more data, not of different data."""
        train = self.task_data.train
        budgets = self.suite.budgets
        ordered = stratified_order(train, budgets.sample_seed, self._stratify())
        subsets = []
        for size in self.suite.train_sizes:
            if size is None:
                subsets.append(train)
                continue
            if isinstance(size, int) and size > len(train):
                print(f"warning: train size {size} exceeds the {len(train)} training examples; using all of them",
                      file=sys.stderr)
            subsets.append(tuple(ordered[:resolve_count(size, len(train))]))
        return subsets

    def _build(self, ref: ComponentRef) -> Any:
        return self.registry.get(ref.kind, ref.name).build(ref.config)

    def cell_jobs(self, whole_train: bool = False) -> list[CellJob]:
        """Every cell of the suite, in the order their stages are recorded: model x method x seed x train size.

        An as-is model trains on nothing, so it has one cell per seed, with the first training size.
        `whole_train`: name the cells before the task is loaded (the manifest), without training sizes."""
        subsets = [()] if whole_train else self._train_subsets()
        jobs = []
        for size_index, train in enumerate(subsets):
            for seed in self.suite.seeds:
                for model_index, model in enumerate(self.suite.models):
                    if model.as_is and size_index > 0:
                        continue
                    for method_index, method in enumerate(self.suite.methods_of(model)):
                        cell = self._cell(model_index, method_index, seed, train)
                        jobs.append(CellJob(len(jobs), cell.prefix, cell.method_label, seed, method_index,
                                            size_index, model_index))
        return jobs

    def _cell(self, model_index: int, method_index: int, seed: int, train: tuple[Any, ...]) -> CellState:
        model = self.suite.models[model_index]
        return CellState(self.suite.cell_method(model_index, method_index), seed, train,
                         in_sweep=self.suite.train_sizes != (None,) and not model.as_is, model=model,
                         several_models=len(self.suite.models) > 1)

    def _execute_cells(self) -> None:
        """Hand every cell to the executor plugin; what it computed reaches the store in cell order."""
        jobs = self.cell_jobs()
        recorder = CellRecorder(self, jobs)
        try:
            self.executor.run(make_plan(self, jobs, recorder, compute_remote_cell))
        except HarnessError:
            raise
        except Exception as error:  # a crashed executor plugin: the cells it did not finish are recorded as failed
            message = f"executor {self.options.executor!r} crashed: {type(error).__name__}: {error}"
            print(f"error: {message}", file=sys.stderr)
            for job in jobs:
                if job.index not in recorder.seen:
                    recorder.record_failure(job, message)
        recorder.finish(self.options.executor)

    def use_task(self, data: TaskData) -> None:
        """Compute cells of this task (loaded by the driver): what a worker process does before `run_cell`."""
        self.kind = self._task_kind(data)
        self.task_data = data

    def run_cell(self, job: CellJob) -> None:
        """Run one cell's stages through the stage cache; each finished stage goes to `record_stage`."""
        train = self._train_subsets()[job.train_size_index]
        cell = self._cell(job.model_index, job.method_index, job.seed, train)
        cell.model_identity = self._model_identity(cell.model)
        try:
            self._run_cell(cell)
        finally:
            cell.classifier = None  # free the model before the next cell loads its own

    def _run_cell(self, cell: CellState) -> None:
        """Run the kind's declared stages in order; a stage whose needed stage failed or was skipped is skipped."""
        context = self._stage_context(cell)
        for spec in self.kind.stages():
            for ref in spec.components(context):
                payload = self._stage(spec.name, spec.stage_id(cell, ref), ref, spec.key_parts(context, ref),
                                      lambda building, env, spec=spec, ref=ref: spec.compute(context, ref, building,
                                                                                             env),
                                      cell, upstream_failed=any(name in cell.failed for name in spec.needs),
                                      rows_name_component=spec.rows_name_component)
                if payload is None:
                    cell.failed.add(spec.name)
                    continue
                cell.finished.setdefault(spec.name, []).append(FinishedStage(ref.label, payload["key"], payload))
                if spec.finished is not None:
                    spec.finished(context, ref, payload)

    def _stage_context(self, cell: CellState) -> StageContext:
        return StageContext(
            suite=self.suite, task=self.task_data, kind=self.kind, cell=cell, device=self.device,
            libraries=self.libraries, build=self._build,
            component_info=lambda ref: self.registry.get(ref.kind, ref.name),
            stage_path=self.cache.path, cache_root=self.cache.root, load_classifier=self._load_classifier,
            attack_examples=self._attack_examples(), explain_examples=self._explain_examples())

    def _load_classifier(self, cell: CellState) -> Classifier:
        from harness.modeling.models import load_saved_classifier

        return load_saved_classifier(cell.trained, self.task_data.label_names, self.device,
                                     max_length=cell.model.source.max_length,
                                     batch_size=cell.model.batch_size, task_kind=self.kind)

    def _model_identity(self, model: ModelSpec) -> dict[str, Any]:
        """What the model is for cache keys (its content or hub commit), found once per run and model."""
        from harness.modeling.fingerprint import model_identity

        if model.name not in self.model_identities:
            memo = self.cache.root / "model-file-digests.json"
            self.model_identities[model.name] = model_identity(model.source, memo)
        return self.model_identities[model.name]

    # ------------------------------------------------------------------------------------ reports

    def _reports(self) -> list[Path]:
        paths: list[Path] = []
        for ref in self.suite.reports:
            component = self.registry.get(ref.kind, ref.name)
            started = time.perf_counter()
            try:
                reporter = self._build(ref)
                run = read_run(self.store.run_dir)
                produced = reporter.render(ReportRequest(run=run, output_dir=self.store.run_dir,
                                                         view=report_view(self.registry, run)))
                paths.extend(Path(path) for path in produced)
                record = StageRecord(f"report/{ref.label}", "report", ref.label, component.plugin, "", "computed",
                                     round(time.perf_counter() - started, 3))
                self.store.add_stage(record, [])
            except Exception as error:
                message, text = failure(error, component.factory)
                record = StageRecord(f"report/{ref.label}", "report", ref.label, component.plugin, "", "error",
                                     round(time.perf_counter() - started, 3), error=message, traceback=text)
                self.store.add_stage(record, [])
                self._print_failure(f"reporter {ref.label!r} (plugin {component.plugin!r})", record)
                self._fire("on_stage_error", stage=record, error=error)
        return paths


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def failure(error: BaseException, factory: Any, plain_harness_errors: bool = False) -> tuple[str, str]:
    """A failed component's one-line message and its traceback. The message names the innermost line of the
    plugin's own code (its package) the error passed through: what an author needs first. With
    `plain_harness_errors` (a task), a HarnessError is the plugin telling the user what to fix: its message alone."""
    text = traceback.format_exc()
    if plain_harness_errors and isinstance(error, HarnessError):
        return str(error), text
    where = innermost_frame_in(text, code_places(factory))
    return describe_stage_error(error) + (f" (at {where})" if where else ""), text


def compute_remote_cell(remote: RemoteCell, cell: CellJob) -> CellResult:
    """What a worker process does with a cell the driver shipped (harness.core.executors.RemoteCell)."""
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.resources import prepare_offline_resources
    from harness.modeling.models import resolve_device

    manager = make_plugin_manager(plugin_modules=remote.plugin_modules)
    runner = Runner(remote.suite, Registry(manager), manager, remote.options)
    runner.device = resolve_device(remote.options.device)
    prepare_offline_resources(needs_hub=False)
    runner.use_task(remote.task_data)
    finished: list = []
    runner.record_stage = finished.append
    runner.run_cell(cell)
    # Exceptions may not pickle; the driver gets their message and traceback in the stage record.
    return CellResult(cell, tuple(dataclasses.replace(outcome, exception=None) for outcome in finished))


def report_view(registry: Registry, run: Any) -> Any:
    """What the stored run's task kind adds to its reports (harness.ReportView); None when the kind is not
    registered here (the reports then show what every kind shares)."""
    component = registry.get("task-kind", (run.manifest or {}).get("task_kind") or DEFAULT_TASK_KIND)
    return component.build(None).report_view(run) if component is not None else None
