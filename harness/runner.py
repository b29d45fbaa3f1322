"""The runner: a suite becomes cells (model x method x seed), each cell a chain of cached stages.

    task -> finetune -> evaluate -> attack (each) -> perturb (each) -> explain (each)    then gates -> reports

A token-classification (NER) task runs the same chain; its evaluate, attack, perturb and explain stages compute
entity-level results instead (harness.token_stages), and components that cannot serve the task's kind are refused
before anything trains.

Every stage's key hashes its configuration, the keys of its inputs, the plugin's name and version, library
versions and the schema version. A stage whose key is in the cache is not recomputed, so a rerun after a
crash, a kill or an edit redoes only what changed. A stage that raises is recorded with its traceback; the
stages that need its output are recorded as skipped, all others go on.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import importlib.metadata
import json
import math
import os
import platform
import random
import secrets
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from harness.artifacts import ArtifactMirror
from harness.components import Classifier
from harness.errors import HarnessError, PluginError, StageError
from harness.executors import NOT_SHIPPABLE, CellRecorder, build_executor, make_plan
from harness.explanation_quality import AdversarialPair, quality_settings, round_robin, score_explanations
from harness.gates import evaluate_gates, load_baseline
from harness.pairs import attack_record_from_dict, model_input, pair_target_of, perturb_inputs, with_input
from harness.plugins import HarnessPluginManager
from harness.registry import Registry
from harness.robustness import attack_metrics
from harness.sampling import resolve_count, sample, stratified_order
from harness.statistics import bootstrap_macro_f1, bootstrap_metric
from harness.store import (
    CACHE_DIR_NAME,
    RunStore,
    StageCache,
    atomic_write_json,
    content_key,
    read_jsonl,
    read_run,
    write_jsonl,
)
from harness.suite import ComponentRef, Suite
from harness.training import set_seed
from harness.types import (
    SCHEMA_VERSION,
    AdversarialRound,
    AdversarialTraining,
    AttackOutcome,
    AttackRecord,
    CellJob,
    EpochRecord,
    Example,
    ExplainOutcome,
    GateOutcome,
    Metric,
    ModelSource,
    ReportRequest,
    ResultRow,
    StageEnvironment,
    StageRecord,
    TaskData,
    TokenExample,
    TrainedModel,
    TrainRequest,
    WordAttribution,
)

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE_ERROR = 2
EXIT_STAGE_CRASHED = 3

LIBRARIES = ("nlp-robustness-harness", "torch", "transformers", "peft", "textattack", "captum", "datasets",
             "tokenizers", "numpy")
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
    artifacts: Optional[str] = None
    """fsspec URL of a mirror of the stage cache (s3://bucket/prefix, file:///shared): machines that share no
    filesystem share finished stages through it (see harness.artifacts)."""


@dataclass(frozen=True)
class StageOutcome:
    """A finished stage as a worker hands it to the driver, which alone writes the run's store."""

    record: StageRecord
    rows: tuple[ResultRow, ...] = ()
    records_dir: Optional[Path] = None
    """Per-example records (in the stage cache) to copy into the run directory."""
    error: str = ""
    """For a failed stage: the message the driver prints."""
    exception: Optional[BaseException] = field(default=None, compare=False)
    """The exception itself, when the stage ran in this process (a remote one arrives as its message)."""


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    exit_code: int
    stages: tuple[StageRecord, ...]
    gates: tuple[GateOutcome, ...]
    report_paths: tuple[Path, ...]


def describe_stage_error(error: BaseException) -> str:
    """A stage's failure as one readable line; resource exhaustion says what to change."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" while writing {error.filename}" if error.filename else ""
        return (f"disk full{where}: no space left on the device. The stage's partial files were removed and every "
                f"finished stage is kept; free space (or point --out / --cache-dir at a larger disk) and rerun "
                f"to resume. ({text})")
    if type(error).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError, without importing torch here
        return (f"GPU out of memory: lower the method's batch_size, the model's max_length, or enable "
                f"gradient_checkpointing; finished stages are kept. ({text})")
    if isinstance(error, MemoryError):
        return (f"out of memory: lower the method's batch_size or the model's max_length, or the budgets; "
                f"finished stages are kept. ({text})")
    return text


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def make_progress(enabled: bool) -> Callable[..., Any]:
    from tqdm.auto import tqdm

    # In a CI log (no terminal) every refresh is a new line, so refresh rarely there.
    refresh_seconds = 0.5 if sys.stderr.isatty() else 30.0

    def progress(iterable=None, **kwargs):
        return tqdm(iterable, disable=not enabled, file=sys.stderr, dynamic_ncols=True, mininterval=refresh_seconds,
                    **kwargs)

    return progress


def config_key(config: Any) -> Any:
    """A component config as stage keys hash it. `pair_target` (harness.pairs), added to configs after keys were
    first computed, counts only when it differs from its default, so the configs of existing suites keep their
    keys."""
    if (dataclasses.is_dataclass(config) and not isinstance(config, type)
            and getattr(config, "pair_target", "second") == "second"
            and any(field.name == "pair_target" for field in dataclasses.fields(config))):
        return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)
                if field.name != "pair_target"}
    return config


def example_key(example: Example) -> str:
    """Content key of one example (the per-example attack cache); a second segment counts only where there is one."""
    values = dataclasses.asdict(example)
    if values.get("text_pair") is None:
        values.pop("text_pair", None)
    return content_key(values)


def examples_fingerprint(examples: Sequence[Example]) -> str:
    if examples and isinstance(examples[0], TokenExample):
        # NER sentences: their own tag, so that no key of a text task can ever equal one of a token task.
        from harness.token_stages import fingerprint_rows

        return content_key({"token_examples": fingerprint_rows(examples)})
    # A rationale counts only where there is one, so examples without rationales keep their old keys.
    # So does a second segment: single-text examples keep the keys they had before pairs existed. Its tag names
    # the pair encoding: stages computed while models still read only `text` of a pair are not reused.
    return content_key({"examples": [(example.id, example.text, example.label)
                                     + ((example.rationale,) if example.rationale else ())
                                     + (("pair-encoded", example.text_pair) if example.text_pair is not None else ())
                                     for example in examples]})


class _Cell:
    """One model x method x seed x train size, and its loaded classifier while its stages run."""

    def __init__(self, method: ComponentRef, seed: int, train: tuple[Example, ...], in_sweep: bool):
        self.method = method
        self.seed = seed
        self.train = train
        self.train_size = len(train)
        """Training examples before augmentation: what a data-efficiency sweep varies."""
        self.in_sweep = in_sweep
        self.finetune_key: Optional[str] = None
        self.trained: Optional[TrainedModel] = None
        self.classifier: Optional[Classifier] = None

    @property
    def prefix(self) -> str:
        return f"{self.method.label}/seed{self.seed}" + (f"/n{self.train_size}" if self.in_sweep else "")


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
        self.record_stage: Callable[[StageOutcome], None] = self.record_locally
        """Where finished stages go: the store (driver), or a list a remote worker returns to the driver."""

    # ------------------------------------------------------------------------------------------ run

    def run(self) -> RunSummary:
        from harness.models import resolve_device
        from harness.resources import prepare_offline_resources

        started = time.time()
        # Loaded first: a wrong baseline path should fail before hours of training, not after.
        baseline = load_baseline(self.options.baseline) if self.options.baseline is not None else None
        self.device = resolve_device(self.options.device)
        prepare_offline_resources(needs_hub=not Path(self.suite.model.source.location).is_dir())
        run_id = self.options.run_id or (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3))
        self.store = RunStore(self.output / self.suite.name / run_id, lock=True)
        try:
            abandoned = self.cache.remove_abandoned()
            if abandoned:
                print(f"removed {abandoned} half-built stage(s) of an interrupted run from the stage cache",
                      file=sys.stderr)
            self.store.write_manifest(self._manifest(run_id, started))
            self._fire("before_suite", suite=self.suite, run_dir=self.store.run_dir)

            self.task_data = self._task_stage()
            if self.task_data is not None:
                from harness.token_stages import check_components

                check_components(self.suite, self.registry, self.task_data)
                self._execute_cells()

            gates = evaluate_gates(self.suite.gates, self.store.rows, run=read_run(self.store.run_dir),
                                   baseline=baseline)
            self.store.write_gates(gates)
            self.store.update_manifest(finished_at=_now(), duration_seconds=round(time.time() - started, 2))
            report_paths = self._reports()
            self._fire("after_suite", run=read_run(self.store.run_dir))
        finally:
            self.store.close()
        crashed = any(stage.status == "error" for stage in self.store.stages)
        exit_code = EXIT_STAGE_CRASHED if crashed else EXIT_GATE_FAILED if any(not g.passed for g in gates) else EXIT_OK
        return RunSummary(self.store.run_dir, exit_code, tuple(self.store.stages), gates, tuple(report_paths))

    def _manifest(self, run_id: str, started: float) -> dict[str, Any]:
        import torch

        return {
            "run_id": run_id,
            "suite": self.suite.name,
            "suite_path": str(self.suite.path),
            "suite_document": self.suite.document,
            "description": self.suite.description,
            "task": self.suite.task.label,
            "model": self.suite.model.source.name,
            "model_location": self.suite.model.source.location,
            "methods": [method.label for method in self.suite.methods],
            "attacks": [attack.label for attack in self.suite.attacks],
            "explainers": [explainer.label for explainer in self.suite.explainers],
            "seeds": list(self.suite.seeds),
            "train_sizes": list(self.suite.train_sizes),
            "budgets": dataclasses.asdict(self.suite.budgets),
            "started_at": _now(),
            "device": self.device,
            "device_name": (torch.cuda.get_device_name(0) if self.device.startswith("cuda")
                            else platform.processor() or platform.machine()),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "libraries": self.libraries,
            "git_sha": _git_sha(self.suite.path.parent),
            "cache_dir": str(self.cache.root),
            "artifacts": self.options.artifacts,
            "baseline": str(self.options.baseline) if self.options.baseline is not None else None,
            "command": sys.argv,
        }

    # ------------------------------------------------------------------------------------ stages

    def _stage(self, kind: str, stage_id: str, ref: ComponentRef, key_parts: dict[str, Any],
               compute: Callable[[Path, StageEnvironment], dict[str, Any]], cell: Optional[_Cell],
               upstream_failed: bool = False) -> Optional[dict[str, Any]]:
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
        method_label = cell.method.label if cell else ""
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
                           "key": key, "created_at": _now(), **payload}
                self.cache.commit(building, kind, key, payload)
            except Exception as error:
                self.cache.abandon(building)
                record = StageRecord(stage_id, kind, ref.label, component.plugin, key, "error",
                                     round(time.perf_counter() - started, 3), method_label, seed,
                                     error=describe_stage_error(error), traceback=traceback.format_exc())
                self.record_stage(StageOutcome(record, error=record.error, exception=error))
                return None
            except BaseException:
                self.cache.abandon(building)
                raise
        rows = [
            ResultRow(task=self.suite.task.label, model=self.suite.model.source.name, method=method_label, seed=seed,
                      stage=kind, component=ref.label if kind not in ("finetune", "evaluate") else "",
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
            print(f"error: stage {outcome.record.stage_id} (plugin {outcome.record.plugin!r}) failed: "
                  f"{outcome.error}", file=sys.stderr)
            self._fire("on_stage_error", stage=outcome.record, error=outcome.exception or StageError(
                outcome.record.stage_id, outcome.record.plugin, outcome.error))
        elif outcome.record.status != "skipped":
            self._fire("after_stage", stage=outcome.record, results=outcome.rows)

    def _task_stage(self) -> Optional[TaskData]:
        """Load the task. Not cached: it is cheap, and its content (hashed) keys every downstream stage."""
        ref = self.suite.task
        started = time.perf_counter()
        env = StageEnvironment(device=self.device, seed=0, work_dir=self.store.run_dir, progress=self.progress)
        try:
            loaded = self._build(ref).load(env)
            if not isinstance(loaded, TaskData):
                raise PluginError(ref.plugin, f"task {ref.name!r} returned {type(loaded).__name__}, expected TaskData")
            data = self._apply_budgets(loaded)
        except Exception as error:
            # A HarnessError is the plugin telling the user what to fix: its message alone says it best.
            message = str(error) if isinstance(error, HarnessError) else f"{type(error).__name__}: {error}"
            record = StageRecord("task", "task", ref.label, ref.plugin, "", "error",
                                 round(time.perf_counter() - started, 3),
                                 error=message, traceback=traceback.format_exc())
            self.store.add_stage(record, [])
            print(f"error: task {ref.label!r} (plugin {ref.plugin!r}) failed: {record.error}", file=sys.stderr)
            self._fire("on_stage_error", stage=record, error=error)
            return None
        key = content_key({split: examples_fingerprint(getattr(data, split))
                           for split in ("train", "validation", "test")})
        rows = [ResultRow(task=ref.label, model=self.suite.model.source.name, method="", seed=0, stage="task",
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
                                   # Reports show NER runs with entity tables and spans.
                                   **({"task_kind": data.kind} if data.kind != "sequence-classification" else {}))
        self.task_data = data
        self._store_samples(loaded, data)
        self.store.add_stage(record, rows)
        self._fire("after_stage", stage=record, results=tuple(rows))
        return data

    def _apply_budgets(self, data: TaskData) -> TaskData:
        """Hold out validation when the task has none, and cut each split to its budget with a seeded, stratified
        sample (harness.sampling)."""
        for split in ("train", "test"):
            if not getattr(data, split):
                raise HarnessError(f"task {data.name!r} has an empty {split} split; nothing to train or evaluate")
        budgets = self.suite.budgets
        stratify = self._stratify(data)
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

    def _stratify(self, data: Optional[TaskData] = None) -> bool:
        """Whether samples keep label shares: a NER sentence has no single label, so its samples are plain
        seeded ones whatever `budgets.stratify` says."""
        data = data or self.task_data
        return self.suite.budgets.stratify and data.kind != "token-classification"

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
            "loaded": {split: examples_fingerprint(getattr(loaded, split)) for split in splits},
            "used": {split: examples_fingerprint(getattr(data, split)) for split in splits},
            "attack": examples_fingerprint(self._attack_examples()),
            "explain": examples_fingerprint(self._explain_examples()),
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

    def cell_jobs(self) -> list[CellJob]:
        """Every cell of the suite, in the order their stages are recorded."""
        subsets = self._train_subsets()
        in_sweep = self.suite.train_sizes != (None,)
        jobs = []
        for size_index, train in enumerate(subsets):
            for seed in self.suite.seeds:
                for method_index, method in enumerate(self.suite.methods):
                    label = _Cell(method, seed, train, in_sweep).prefix
                    jobs.append(CellJob(len(jobs), label, method.label, seed, method_index, size_index))
        return jobs

    def _execute_cells(self) -> None:
        """Hand every cell to the executor plugin; what it computed reaches the store in cell order."""
        jobs = self.cell_jobs()
        recorder = CellRecorder(self, jobs)
        try:
            self.executor.run(make_plan(self, jobs, recorder))
        except HarnessError:
            raise
        except Exception as error:  # a crashed executor plugin: the cells it did not finish are recorded as failed
            message = f"executor {self.options.executor!r} crashed: {type(error).__name__}: {error}"
            print(f"error: {message}", file=sys.stderr)
            for job in jobs:
                if job.index not in recorder.seen:
                    recorder.record_failure(job, message)
        recorder.finish(self.options.executor)

    def run_cell(self, job: CellJob) -> None:
        """Run one cell's stages through the stage cache; each finished stage goes to `record_stage`."""
        train = self._train_subsets()[job.train_size_index]
        cell = _Cell(self.suite.methods[job.method_index], job.seed, train, self.suite.train_sizes != (None,))
        try:
            self._run_cell(cell)
        finally:
            cell.classifier = None  # free the model before the next cell loads its own

    def _run_cell(self, cell: _Cell) -> None:
        data = self.task_data
        augment = cell.method.augment
        augment_failed = False
        if augment is not None:
            payload = self._stage("augment", f"{cell.prefix}/augment", augment.augmenter, {
                "train": examples_fingerprint(cell.train), "pct": augment.pct, "n": augment.n, "seed": cell.seed,
            }, lambda building, env: self._augment(cell, augment, building, env), cell)
            augment_failed = payload is None
            if not augment_failed:
                records = read_jsonl(self.cache.path("augment", payload["key"]) / "records" / "augmented.jsonl")
                cell.train = cell.train + tuple(Example(**record) for record in records)
        finetune = self._stage("finetune", f"{cell.prefix}/finetune", cell.method, {
            "base": self.suite.model.source,
            "train": examples_fingerprint(cell.train),
            "validation": examples_fingerprint(data.validation),
            "label_names": data.label_names,
            # Only the budgets that change training; the data budgets are in the fingerprints above, and the
            # attack/explain budgets must not retrain the model.
            "training_budgets": (self.suite.budgets.max_epochs, self.suite.budgets.max_steps),
            "seed": cell.seed,
            **self._adversarial_key(cell.method),
        }, lambda building, env: self._finetune(cell, building, env), cell, upstream_failed=augment_failed)
        failed = finetune is None
        if not failed:
            cell.finetune_key = finetune["key"]
            cell.trained = _trained_from_payload(finetune, self.cache.path("finetune", finetune["key"]))
        evaluation_ref = dataclasses.replace(cell.method, kind="finetuner")
        self._stage("evaluate", f"{cell.prefix}/evaluate", evaluation_ref, {
            "model": cell.finetune_key, "test": examples_fingerprint(data.test), "stage_version": 1,
        }, lambda building, env: (self._evaluate_tokens(cell, building) if self._token_task else
                                  self._evaluate(cell, building)), cell, upstream_failed=failed)
        attack_examples = self._attack_examples()
        attack_stages: list[tuple[str, str]] = []  # (attack label, stage key) of the attacks that ran
        for attack in self.suite.attacks:
            payload = self._stage("attack", f"{cell.prefix}/attack/{attack.label}", attack, {
                "model": cell.finetune_key, "examples": examples_fingerprint(attack_examples), "seed": cell.seed,
                "seeding": "per-example",
            }, lambda building, env, attack=attack: (
                self._attack_tokens(cell, attack, attack_examples, building, env) if self._token_task else
                self._attack(cell, attack, attack_examples, building, env)), cell, upstream_failed=failed)
            if payload is not None and not self._token_task:  # entity explanations have no stability metrics yet
                attack_stages.append((attack.label, payload["key"]))
        for perturbation in self.suite.perturbations:
            self._stage("perturb", f"{cell.prefix}/perturb/{perturbation.label}", perturbation, {
                "model": cell.finetune_key, "test": examples_fingerprint(data.test), "seed": cell.seed,
            }, lambda building, env, perturbation=perturbation: (
                self._perturb_tokens(cell, perturbation, building, env) if self._token_task else
                self._perturb(cell, perturbation, building, env)), cell, upstream_failed=failed)
        explain_examples = self._explain_examples()
        for explainer in self.suite.explainers:
            stability_from = attack_stages if quality_settings(explainer.config).stability else []
            self._stage("explain", f"{cell.prefix}/explain/{explainer.label}", explainer, {
                "model": cell.finetune_key, "examples": examples_fingerprint(explain_examples), "seed": cell.seed,
                # The adversarial examples it explains for the stability metrics are part of its input.
                "attacks": [key for _, key in stability_from], "stage_version": 2,
            }, lambda building, env, explainer=explainer, stability_from=stability_from: (
                self._explain_tokens(cell, explainer, explain_examples, building, env) if self._token_task else
                self._explain(cell, explainer, explain_examples, stability_from, building, env)), cell,
                upstream_failed=failed)

    @staticmethod
    def _augmented(ref: ComponentRef, augmenter: Any, texts: list[str], env: StageEnvironment) -> list[str]:
        """augmenter.augment(texts, env), checked to be one string per text."""
        augmented = augmenter.augment(texts, env)
        if (not isinstance(augmented, list) or len(augmented) != len(texts)
                or not all(isinstance(t, str) for t in augmented)):
            raise PluginError(ref.plugin, f"augmenter {ref.name!r} must return a list of {len(texts)} strings, "
                                          f"one per input text")
        return augmented

    def _augment(self, cell: _Cell, spec: Any, building: Path, env: StageEnvironment) -> dict[str, Any]:
        """Augmented copies of a seeded `pct` sample of the training split, `n` per example (recorded, cached).
        Sentence pairs: the segment the augmenter's `pair_target` names ("second" by default) is augmented."""
        augmenter = self._build(spec.augmenter)
        chosen = list(cell.train)
        random.Random(cell.seed).shuffle(chosen)
        chosen = chosen[: max(1, round(spec.pct * len(chosen)))]
        seen = {model_input(example) for example in cell.train}
        added: list[Example] = []
        for copy in range(spec.n):
            # Each copy draws with its own seed, so n copies of a text can differ.
            copy_env = dataclasses.replace(env, seed=env.seed * 1000 + copy)
            texts = perturb_inputs(chosen,
                                   lambda strings: self._augmented(spec.augmenter, augmenter, strings, copy_env),
                                   pair_target_of(spec.augmenter.config))
            for example, text in zip(chosen, texts):
                if text not in seen:  # an unchanged or repeated text adds nothing to learn from
                    seen.add(text)
                    added.append(with_input(Example(f"{example.id}~{spec.augmenter.name}{copy}", example.text,
                                                    example.label), text))
        write_jsonl(building / "records" / "augmented.jsonl", (dataclasses.asdict(example) for example in added))
        metrics = [Metric("augmented_examples", float(len(added)), n=len(chosen) * spec.n),
                   Metric("augmented_share", len(added) / max(1, len(cell.train) + len(added)))]
        return {"metrics": [dataclasses.asdict(metric) for metric in metrics]}

    def _classifier(self, cell: _Cell) -> Classifier:
        from harness.models import load_trained_classifier

        if cell.classifier is None:
            cell.classifier = load_trained_classifier(
                cell.trained, self.task_data.label_names, self.device,
                max_length=self.suite.model.source.max_length, batch_size=self.suite.model.batch_size,
                kind=self.task_data.kind)
        return cell.classifier

    @property
    def _token_task(self) -> bool:
        return self.task_data is not None and self.task_data.kind == "token-classification"

    def _adversarial_key(self, method: ComponentRef) -> dict[str, Any]:
        """What of a method's adversarial training changes the trained model (nothing if it has none)."""
        spec = method.adversarial
        if spec is None:
            return {}
        component = self.registry.get(spec.attack.kind, spec.attack.name)
        return {"adversarial": {
            "attack": spec.attack.name, "plugin": component.plugin, "plugin_version": component.version,
            "config": config_key(spec.attack.config), "clean_epochs": spec.clean_epochs,
            "attack_epoch_interval": spec.attack_epoch_interval, "examples": spec.examples, "alpha": spec.alpha,
        }}

    def _finetune(self, cell: _Cell, building: Path, env: StageEnvironment) -> dict[str, Any]:
        from harness.memory import PeakMemory

        finetuner = self._build(cell.method)
        rounds: list[AdversarialRound] = []
        adversarial = self._adversarial_training(cell, building, env, rounds) if cell.method.adversarial else None
        request = TrainRequest(base=self.suite.model.source, data=dataclasses.replace(self.task_data, train=cell.train),
                               budgets=self.suite.budgets, output_dir=building / "model", env=env,
                               adversarial=adversarial)
        with PeakMemory(self.device) as peak_memory:
            trained = finetuner.train(request)
        if not isinstance(trained, TrainedModel):
            raise PluginError(cell.method.plugin, f"finetuner {cell.method.name!r} returned "
                                                  f"{type(trained).__name__}, expected TrainedModel")
        if adversarial is not None and not rounds:
            raise PluginError(cell.method.plugin, f"finetuner {cell.method.name!r} ignored the adversarial training "
                                                  f"the suite asks for (TrainRequest.adversarial); train it through "
                                                  f"harness.train_and_save or call request.adversarial.generate")
        model_dir = Path(trained.model_dir).resolve()
        if building.resolve() not in model_dir.parents and model_dir != building.resolve():
            raise PluginError(cell.method.plugin, f"finetuner {cell.method.name!r} saved its model outside "
                                                  f"request.output_dir ({model_dir})")
        last = trained.history[-1] if trained.history else None
        metrics = [
            Metric("trainable_parameters", float(trained.trainable_parameters)),
            Metric("total_parameters", float(trained.total_parameters)),
            Metric("trainable_percentage", 100.0 * trained.trainable_parameters / max(1, trained.total_parameters)),
            Metric("train_seconds", trained.train_seconds),
            Metric("train_examples", float(trained.train_examples)),
            Metric(peak_memory.metric_name, peak_memory.megabytes),
        ]
        if last is not None:
            best = max((record.validation_accuracy for record in trained.history
                        if record.validation_accuracy is not None), default=None)
            metrics.append(Metric("final_train_loss", last.train_loss))
            if best is not None:
                # A token task's validation score is its entity F1 (harness.training).
                metrics.append(Metric("best_validation_entity_f1" if self._token_task else "best_validation_accuracy",
                                      best))
        metrics.extend(trained.metrics)
        if rounds:
            attacked = sum(round_.attacked for round_ in rounds)
            successful = sum(round_.successful for round_ in rounds)
            metrics += [
                Metric("adversarial_rounds", float(len(rounds))),
                Metric("adversarial_examples", float(sum(len(round_.examples) for round_ in rounds))),
                Metric("adversarial_train_success_rate", successful / max(1, attacked), n=attacked),
                Metric("adversarial_seconds", sum(round_.seconds for round_ in rounds)),
            ]
            write_jsonl(building / "records" / "adversarial-rounds.jsonl", (
                {"epoch": round_.epoch, "attacked": round_.attacked, "successful": round_.successful,
                 "trained_on": len(round_.examples), "seconds": round_.seconds} for round_ in rounds))
        # The training curve, for the report's charts.
        write_jsonl(building / "records" / "history.jsonl", (dataclasses.asdict(record) for record in trained.history))
        return {
            "trained": {
                "model_dir": str(model_dir.relative_to(building.resolve())),
                "adapter_of": dataclasses.asdict(trained.adapter_of) if trained.adapter_of else None,
                "trainable_parameters": trained.trainable_parameters,
                "total_parameters": trained.total_parameters,
                "train_seconds": trained.train_seconds,
                "train_examples": trained.train_examples,
                "history": [dataclasses.asdict(record) for record in trained.history],
            },
            "metrics": [dataclasses.asdict(metric) for metric in metrics],
        }

    def _adversarial_training(self, cell: _Cell, building: Path, env: StageEnvironment,
                              rounds: list[AdversarialRound]) -> AdversarialTraining:
        """The `generate` callback of adversarial training: attack the model being trained on a seeded shuffle
        of the training split until a round has its target of successful adversarial examples.

        Like TextAttack's Trainer (num_successful_examples with shuffle), examples are attacked in order until
        enough attacks succeed or the split runs out. Each round's attack records are kept under
        records/adversarial-epoch<N>.jsonl of the finetune stage.
        """
        from harness.models import LoadedClassifier
        from harness.predict import Predictor

        spec = cell.method.adversarial
        attack_ref = spec.attack
        train = list(cell.train)
        target = spec.target_examples(len(train))
        attack_everything = spec.examples == -1

        def generate(epoch: int, model: Any, tokenizer: Any) -> AdversarialRound:
            started = time.perf_counter()
            attack = self._build(attack_ref)
            predictor = Predictor(model, tokenizer, self.device, max_length=self.suite.model.source.max_length,
                                  batch_size=self.suite.model.batch_size)
            classifier = LoadedClassifier(model, tokenizer, predictor, self.task_data.label_names, self.device,
                                          self.suite.model.source.max_length)
            order = train[:]
            random.Random(cell.seed * 100_003 + epoch).shuffle(order)
            records: list[AttackRecord] = []
            successful: list[AttackRecord] = []
            position = 0
            while position < len(order) and (attack_everything or len(successful) < target):
                # Attack a chunk at a time: big enough to batch well, small enough not to overshoot much
                # (a quarter more than the successes still missing, as most attacks on a trained model succeed).
                size = len(order) if attack_everything else max(8, math.ceil(1.25 * (target - len(successful))))
                chunk = order[position:position + size]
                position += len(chunk)
                outcome = attack.attack(classifier, chunk, dataclasses.replace(env, seed=cell.seed * 1000 + epoch))
                if (not isinstance(outcome, AttackOutcome)
                        or [record.example_id for record in outcome.records] != [example.id for example in chunk]):
                    raise PluginError(attack_ref.plugin, f"attack {attack_ref.name!r} cannot generate adversarial "
                                                         f"training examples: it must return one AttackRecord per "
                                                         f"given example, in order (a static adversarial set brings "
                                                         f"its own inputs instead)")
                records.extend(outcome.records)
                successful.extend(record for record in outcome.records if record.status == "successful")
            write_jsonl(building / "records" / f"adversarial-epoch{epoch}.jsonl",
                        (dataclasses.asdict(record) for record in records))
            result = AdversarialRound(
                epoch=epoch, attacked=sum(record.status != "skipped" for record in records),
                successful=len(successful),
                examples=tuple(Example(f"{record.example_id}~adv{epoch}", record.perturbed_text, record.label,
                                       text_pair=getattr(record, "perturbed_text_pair", None))
                               for record in (successful if attack_everything else successful[:target])),
                seconds=time.perf_counter() - started)
            rounds.append(result)
            return result

        return AdversarialTraining(clean_epochs=spec.clean_epochs, attack_epoch_interval=spec.attack_epoch_interval,
                                   alpha=spec.alpha, expected_examples=target, generate=generate)

    def _evaluate(self, cell: _Cell, building: Path) -> dict[str, Any]:
        classifier = self._classifier(cell)
        examples = self.task_data.test
        probabilities = classifier.predictor.probabilities([model_input(example) for example in examples])
        predictions = probabilities.argmax(axis=1)
        labels = [example.label for example in examples]
        write_jsonl(building / "records" / "predictions.jsonl", (
            {"example_id": example.id, "text": example.text,
             **({"text_pair": example.text_pair} if example.text_pair is not None else {}),
             "label": example.label, "prediction": int(prediction), "confidence": float(row[prediction])}
            for example, prediction, row in zip(examples, predictions, probabilities)))
        accuracy = bootstrap_metric("accuracy", [int(p == label) for p, label in zip(predictions, labels)],
                                    seed=cell.seed)
        f1 = bootstrap_macro_f1(labels, predictions, len(self.task_data.label_names), seed=cell.seed)
        return {"metrics": [dataclasses.asdict(accuracy), dataclasses.asdict(f1)]}

    def _attack(self, cell: _Cell, ref: ComponentRef, examples: Sequence[Example], building: Path,
                env: StageEnvironment) -> dict[str, Any]:
        """Attack the examples no earlier run attacked with this model and configuration; reuse the rest.

        Per-example results persist under <cache>/attack-examples/<model+attack key>/, so growing
        max_attack_examples or adding test examples attacks only the new ones.
        """
        component = self.registry.get(ref.kind, ref.name)
        example_cache = self.cache.root / "attack-examples" / content_key({
            "model": cell.finetune_key, "attack": ref.name, "plugin_version": component.version,
            "config": config_key(ref.config),
            "seed": cell.seed, "libraries": self.libraries, "schema_version": SCHEMA_VERSION,
            "seeding": "per-example"})  # results made independent of the other examples; older ones are not
        paths = {example.id: example_cache / f"{example_key(example)}.json" for example in examples}
        reused = {example.id: attack_record_from_dict(json.loads(paths[example.id].read_text(encoding="utf-8")))
                  for example in examples if paths[example.id].exists()}
        todo = [example for example in examples if example.id not in reused]
        forwards = 0
        new_records: list[AttackRecord] = []
        if todo or not examples:
            attack = self._build(ref)
            classifier = self._classifier(cell)
            forwards_before = classifier.predictor.forwards
            outcome = attack.attack(classifier, todo, env)
            if not isinstance(outcome, AttackOutcome) or not all(isinstance(r, AttackRecord) for r in outcome.records):
                raise PluginError(ref.plugin, f"attack {ref.name!r} must return AttackOutcome of AttackRecord")
            forwards = outcome.model_forwards or classifier.predictor.forwards - forwards_before
            new_records = list(outcome.records)
        if [record.example_id for record in new_records] == [example.id for example in todo]:
            for record in new_records:
                atomic_write_json(paths[record.example_id], dataclasses.asdict(record))
            by_id = {**reused, **{record.example_id: record for record in new_records}}
            records = [by_id[example.id] for example in examples]
        else:
            # The attack brings its own inputs (a static adversarial set such as AdvGLUE): nothing to reuse.
            records = new_records
            reused = {}
        write_jsonl(building / "records" / "attack.jsonl", (dataclasses.asdict(record) for record in records))
        metrics = attack_metrics(records, forwards, seed=cell.seed)
        metrics.append(Metric("reused_examples", float(len(reused)), n=len(records)))
        return {"metrics": [dataclasses.asdict(metric) for metric in metrics]}

    def _perturb(self, cell: _Cell, ref: ComponentRef, building: Path, env: StageEnvironment) -> dict[str, Any]:
        """Invariance test: accuracy on the perturbed test set and how often the prediction flips.

        A sentence pair has the segment its augmenter's `pair_target` names perturbed (harness.pairs; "second"
        when the config has no such field), and is predicted as the pair."""
        augmenter = self._build(ref)
        examples = self.task_data.test
        texts = [model_input(example) for example in examples]
        perturbed = perturb_inputs(examples, lambda strings: self._augmented(ref, augmenter, strings, env),
                                   pair_target_of(ref.config))
        classifier = self._classifier(cell)
        before = classifier.predictor.predict(texts)
        after = classifier.predictor.predict(perturbed)
        write_jsonl(building / "records" / "perturb.jsonl", (
            {"example_id": example.id, "original_text": example.text,
             "perturbed_text": text if isinstance(text, str) else text[0],
             **({} if isinstance(text, str) else {"original_text_pair": example.text_pair,
                                                   "perturbed_text_pair": text[1]}),
             "label": example.label, "original_prediction": int(b), "perturbed_prediction": int(a)}
            for example, text, b, a in zip(examples, perturbed, before, after)))
        labels = [example.label for example in examples]
        metrics = [
            bootstrap_metric("perturbed_accuracy", [int(a == label) for a, label in zip(after, labels)],
                             seed=cell.seed),
            bootstrap_metric("flip_rate", [int(a != b) for a, b in zip(after, before)], seed=cell.seed),
            Metric("changed_text_rate", sum(p != t for p, t in zip(perturbed, texts)) / max(1, len(texts)),
                   n=len(texts)),
        ]
        return {"metrics": [dataclasses.asdict(metric) for metric in metrics]}

    def _explain(self, cell: _Cell, ref: ComponentRef, examples: Sequence[Example],
                 attack_stages: Sequence[tuple[str, str]], building: Path, env: StageEnvironment) -> dict[str, Any]:
        """Explain the examples, then score the explanations (harness.explanation_quality)."""
        explainer = self._build(ref)
        classifier = self._classifier(cell)

        def explain(target_classifier: Any, to_explain: Sequence[Example]) -> ExplainOutcome:
            outcome = explainer.explain(target_classifier, to_explain, env)
            if not isinstance(outcome, ExplainOutcome) or not all(
                    isinstance(attribution, WordAttribution) for attribution in outcome.attributions):
                raise PluginError(ref.plugin, f"explainer {ref.name!r} returned {type(outcome).__name__}, "
                                              f"expected ExplainOutcome of WordAttribution")
            explained = {attribution.example_id for attribution in outcome.attributions}
            missing = [example.id for example in to_explain if example.id not in explained]
            if missing:
                raise PluginError(ref.plugin, f"explainer {ref.name!r} returned no attribution for "
                                              f"{len(missing)} of {len(to_explain)} examples (e.g. {missing[0]!r})")
            return outcome

        outcome = explain(classifier, examples)
        # Attack records of examples outside the test split (a static set such as AdvGLUE) have no original here.
        test_by_id = {example.id: example for example in self.task_data.test}
        write_jsonl(building / "records" / "attributions.jsonl",
                    (dataclasses.asdict(attribution) for attribution in outcome.attributions))
        adversarial = round_robin([
            [AdversarialPair(label, example, record["perturbed_text"], record.get("perturbed_text_pair"))
             for record in read_jsonl(self.cache.path("attack", key) / "records" / "attack.jsonl")
             if record["status"] == "successful" and (example := test_by_id.get(record["example_id"])) is not None]
            for label, key in attack_stages], len(examples))
        quality = score_explanations(explain, classifier, examples, outcome, adversarial,
                                     quality_settings(ref.config), env)
        if quality.stability_records:
            write_jsonl(building / "records" / "stability.jsonl", quality.stability_records)
        metrics = [Metric("explained_examples", float(len(outcome.attributions))), *outcome.metrics, *quality.metrics]
        return {"metrics": [dataclasses.asdict(metric) for metric in metrics]}



    # ------------------------------------------------------------------- token classification (NER)

    def _evaluate_tokens(self, cell: _Cell, building: Path) -> dict[str, Any]:
        from harness import token_stages

        return token_stages.as_payload(token_stages.evaluate(self._classifier(cell), self.task_data.test, building,
                                                             cell.seed))

    def _cell_task(self, cell: _Cell) -> TaskData:
        """The task as the cell's model saw it (its training split: e.g. the pool entity swaps draw from)."""
        return dataclasses.replace(self.task_data, train=cell.train)

    def _attack_tokens(self, cell: _Cell, ref: ComponentRef, examples: Sequence[TokenExample], building: Path,
                       env: StageEnvironment) -> dict[str, Any]:
        from harness import token_stages

        return token_stages.as_payload(token_stages.attack(self._build(ref), ref, self._classifier(cell), examples,
                                                           self._cell_task(cell), building, env, cell.seed))

    def _perturb_tokens(self, cell: _Cell, ref: ComponentRef, building: Path, env: StageEnvironment) -> dict[str, Any]:
        from harness import token_stages

        return token_stages.as_payload(token_stages.perturb(self._build(ref), ref, self._classifier(cell),
                                                            self.task_data.test, self._cell_task(cell), building, env,
                                                            cell.seed))

    def _explain_tokens(self, cell: _Cell, ref: ComponentRef, examples: Sequence[TokenExample], building: Path,
                        env: StageEnvironment) -> dict[str, Any]:
        from harness import token_stages

        return token_stages.as_payload(token_stages.explain(self._build(ref), ref, self._classifier(cell), examples,
                                                            building, env, cell.seed))

    # ------------------------------------------------------------------------------------ reports

    def _reports(self) -> list[Path]:
        paths: list[Path] = []
        for ref in self.suite.reports:
            component = self.registry.get(ref.kind, ref.name)
            started = time.perf_counter()
            try:
                reporter = self._build(ref)
                produced = reporter.render(ReportRequest(run=read_run(self.store.run_dir),
                                                         output_dir=self.store.run_dir))
                paths.extend(Path(path) for path in produced)
                record = StageRecord(f"report/{ref.label}", "report", ref.label, component.plugin, "", "computed",
                                     round(time.perf_counter() - started, 3))
                self.store.add_stage(record, [])
            except Exception as error:
                record = StageRecord(f"report/{ref.label}", "report", ref.label, component.plugin, "", "error",
                                     round(time.perf_counter() - started, 3), error=f"{type(error).__name__}: {error}",
                                     traceback=traceback.format_exc())
                self.store.add_stage(record, [])
                print(f"error: reporter {ref.label!r} (plugin {component.plugin!r}) failed: {record.error}",
                      file=sys.stderr)
                self._fire("on_stage_error", stage=record, error=error)
        return paths


def _trained_from_payload(payload: dict[str, Any], stage_dir: Path) -> TrainedModel:
    trained = payload["trained"]
    return TrainedModel(
        model_dir=stage_dir / trained["model_dir"],
        adapter_of=ModelSource(**trained["adapter_of"]) if trained["adapter_of"] else None,
        trainable_parameters=trained["trainable_parameters"],
        total_parameters=trained["total_parameters"],
        train_seconds=trained["train_seconds"],
        train_examples=trained["train_examples"],
        history=tuple(EpochRecord(**record) for record in trained["history"]),
    )


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _git_sha(directory: Path) -> Optional[str]:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
