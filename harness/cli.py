"""The `harness` command: run, validate, plugins, doctor, report, compare, gate, new-plugin.

Exit codes: 0 success (all gates pass; an "underpowered" gate passes, flagged in the output and reports); 1 a gate
failed; 2 a suite or usage error; 3 a stage crashed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from harness.core.components import COMPONENT_KINDS
from harness.core.config import config_field_summary
from harness.core.errors import HarnessError, SuiteErrors
from harness.core.executors import DEFAULT_EXECUTOR, executor_option_pairs
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.runner import (
    EXIT_GATE_FAILED,
    EXIT_OK,
    EXIT_STAGE_CRASHED,
    EXIT_USAGE_ERROR,
    Runner,
    RunOptions,
    report_view,
)
from harness.core.suite import load_suite, read_suite_text, underpowered_gate_warnings
from harness.core.types import ComponentInfo, ReportRequest
from harness.explain.significance import CORRECTIONS

DISTRIBUTION = "nlp-robustness-harness"


def distribution_version() -> str:
    """"nlp-robustness-harness 0.1.0": what the installed distribution's metadata says."""
    import importlib.metadata

    try:
        return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        from harness import __version__

        return f"{DISTRIBUTION} {__version__} (not installed)"


def _add_run_command(commands: Any) -> None:
    run = commands.add_parser("run", help="run a suite: fine-tune, evaluate, attack, explain, report")
    run.add_argument("suite", type=Path)
    run.add_argument("--out", type=Path, help="output directory (default: the suite's `output:`, else reports/)")
    run.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY.PATH=VALUE",
                     help="override a suite value before validation (repeatable), e.g. "
                          "--set budgets.max_train_examples=4000 --set methods.0.epochs=1")
    run.add_argument("--cache-dir", type=Path, help="stage cache (default: <out>/.stage-cache)")
    run.add_argument("--artifacts", metavar="URL",
                     help="mirror the stage cache to this fsspec URL (s3://bucket/prefix, file:///shared/dir) so "
                          "machines without a shared filesystem share finished stages")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--run-id", help="name of the run directory (default: UTC time + random suffix)")
    run.add_argument("--baseline", type=Path, metavar="RUN_DIR|results.json",
                     help="the run that baseline gates compare against")
    run.add_argument("--allow-different-data", action="store_true",
                     help="compare with a baseline of another task or test set (numbers only, no paired test)")
    _add_correction_option(run, "the paired tests of the significant baseline gates")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="confirm that the model's own Python code may run (the suite must also set "
                          "`trust_remote_code: true` under model:)")
    run.add_argument("--executor", default=DEFAULT_EXECUTOR, metavar="NAME",
                     help="executor plugin that runs the cells: local (this process, default), ray (Ray tasks), or "
                          "an installed third-party one (`harness plugins` lists them)")
    run.add_argument("--executor-option", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter of the executor's config (repeatable), e.g. --executor-option local_cpus=2")
    run.add_argument("--address", help="Ray cluster to join (e.g. auto); default: start a local Ray instance")
    run.add_argument("--num-cpus", type=float, help="Ray: CPUs each cell reserves (default 1)")
    run.add_argument("--num-gpus", type=float, help="Ray: GPUs each cell reserves (default 0)")
    run.add_argument("--max-retries", type=int, help="Ray: reruns of a cell whose worker died (default 2)")


def _add_correction_option(command: argparse.ArgumentParser, family: str) -> None:
    command.add_argument("--correction", choices=CORRECTIONS, default="holm",
                         help=f"multiple-comparison correction of {family}: holm (Holm-Bonferroni, the default; "
                              f"shown as p and the adjusted p) or none (raw p-values decide)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__.split("\n")[0],
                                     epilog="Exit codes: 0 ok, 1 gate failed, 2 suite/usage error, 3 stage crashed.")
    parser.add_argument("--plugin", "-p", action="append", default=[], metavar="MODULE",
                        help="also load this importable module as a plugin (repeatable)")
    parser.add_argument("--offline", action="store_true",
                        help="never touch the network (sets HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE, HF_DATASETS_OFFLINE)")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of its one-line message")
    parser.add_argument("--version", action="version", version=distribution_version(),
                        help="print the distribution name and version, then exit")
    commands = parser.add_subparsers(dest="command", required=True)

    _add_run_command(commands)
    gate = commands.add_parser("gate", help="evaluate gates on a stored run (nothing is recomputed)")
    gate.add_argument("run_dir", type=Path)
    gate.add_argument("--baseline", type=Path, metavar="RUN_DIR|results.json",
                      help="the run that baseline gates compare against")
    gate.add_argument("--allow-different-data", action="store_true",
                      help="compare with a baseline of another task or test set (numbers only, no paired test)")
    gate.add_argument("--suite", type=Path, help="take the gates from this suite file (default: the run's own)")
    _add_correction_option(gate, "the paired tests of the significant baseline gates")

    validate = commands.add_parser("validate", help="check a suite without running anything")
    validate.add_argument("suite", type=Path)
    validate.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY.PATH=VALUE",
                          help="override a suite value, as for `run`")

    plugins = commands.add_parser("plugins", help="list every component of every installed plugin")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    commands.add_parser("doctor", help="show which offline resources are available and what each enables")

    embeddings = commands.add_parser("import-embeddings", help="install local word vectors as TextAttack's "
                                     "counter-fitted embeddings (offline TextFooler, IGA, ...)")
    embeddings.add_argument("vectors", type=Path, help="word2vec/GloVe text file: a word and its numbers per line")
    embeddings.add_argument("--neighbours", type=int, default=100, help="nearest neighbours kept per word")

    report = commands.add_parser("report", help="re-render a run's reports from its stored results")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--format", action="append", dest="formats", metavar="REPORTER",
                        help="reporter to use (repeatable; default: the ones the suite named)")

    new_plugin = commands.add_parser("new-plugin", help="write an installable package for a new plugin component")
    new_plugin.add_argument("kind", choices=("task", "finetuner", "attack", "augmenter", "explainer", "reporter"))
    new_plugin.add_argument("name", help="the component's name in suites (lowercase letters, digits, dashes)")
    new_plugin.add_argument("--dir", type=Path, help="where to write it (default: ./harness-NAME)")

    ratings = commands.add_parser("ratings", help="human ratings of a run's adversarial examples "
                                  "(docs/validity.md)")
    rating_commands = ratings.add_subparsers(dest="ratings_command", required=True)
    export = rating_commands.add_parser("export", help="a random sample of successful adversarial pairs, as CSV "
                                        "for people to rate (the judges' verdicts left out)")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--sample", type=int, default=50, help="pairs to draw (default 50; all if fewer)")
    export.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    export.add_argument("--out", type=Path, help="CSV to write (default: RUN_DIR/ratings-to-rate.csv)")
    imported = rating_commands.add_parser("import", help="add a rated CSV to the run (a `rating` stage: human "
                                          "acceptance and agreement with each judge) and re-render its reports")
    imported.add_argument("run_dir", type=Path)
    imported.add_argument("ratings", type=Path, help="the exported CSV with its `valid` column filled (yes/no)")

    compare = commands.add_parser("compare", help="what changed between two runs, with paired significance tests")
    compare.add_argument("run_a", type=Path, help="the reference run directory (A)")
    compare.add_argument("run_b", type=Path, help="the run compared with it (B)")
    compare.add_argument("--out", type=Path, help="where compare.html and compare.md go (default: RUN_B/compare)")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    compare.add_argument("--allow-different-data", action="store_true",
                         help="compare runs of different tasks or test sets (numbers only, no paired tests)")
    _add_correction_option(compare, "every paired test of the comparison (each method x metric)")
    return parser


def main(argv: Optional[Sequence[str]] = None, extra_plugins: Iterable[object] = ()) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.offline:
        from harness.core.resources import OFFLINE_FLAGS

        os.environ.update({flag: "1" for flag in OFFLINE_FLAGS})
    try:
        manager = make_plugin_manager(extra_plugins=extra_plugins, plugin_modules=arguments.plugin)
        registry = Registry(manager)
        if arguments.command == "run":
            return _run(arguments, registry, manager)
        if arguments.command == "validate":
            suite = load_suite(arguments.suite, registry, overrides=arguments.overrides)
            models = f"{len(suite.models)} models, " if len(suite.models) > 1 else ""
            as_is = sum(model.as_is for model in suite.models)
            models += f"{as_is} as is, " if as_is else ""
            print(f"{arguments.suite}: ok ({models}{len(suite.methods)} methods x {len(suite.seeds)} seeds, "
                  f"{len(suite.attacks)} attacks, {len(suite.perturbations)} perturbations, "
                  f"{len(suite.explainers)} explainers" + (f", {len(suite.judges)} judges" if suite.judges else "")
                  + ")")
            for message in underpowered_gate_warnings(suite):
                print(message, file=sys.stderr)
            _print_hub_downloads(suite, registry)
            return EXIT_OK
        if arguments.command == "plugins":
            return _plugins(registry, arguments.json)
        if arguments.command == "doctor":
            return _doctor()
        if arguments.command == "report":
            return _report(arguments, registry)
        if arguments.command == "compare":
            return _compare(arguments)
        if arguments.command == "gate":
            return _gate(arguments, registry)
        if arguments.command == "ratings":
            return _ratings(arguments, registry)
        if arguments.command == "new-plugin":
            from harness.authoring.plugin_template import next_steps, write_plugin_package

            try:
                directory = write_plugin_package(arguments.kind, arguments.name,
                                                 arguments.dir or Path(f"harness-{arguments.name}"))
            except ValueError as error:
                raise HarnessError(str(error)) from error
            print(f"wrote {directory}")
            print(next_steps(directory))
            return EXIT_OK
        if arguments.command == "import-embeddings":
            from harness.modeling.embeddings import import_word_embeddings, textattack_embeddings_dir

            if not arguments.vectors.is_file():
                raise HarnessError(f"word-vector file not found: {arguments.vectors}")
            destination = textattack_embeddings_dir()
            count = import_word_embeddings(arguments.vectors, destination, arguments.neighbours)
            print(f"installed {count} word vectors as TextAttack's counter-fitted embeddings in {destination}")
            return EXIT_OK
    except SuiteErrors as errors:
        if arguments.debug:
            traceback.print_exc()
        for error in errors.errors:
            print(str(error), file=sys.stderr)
        return EXIT_USAGE_ERROR
    except HarnessError as error:
        if arguments.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept in the stage cache; rerun the suite to resume",
              file=sys.stderr)
        return 130
    except Exception as error:  # a bug or an environment problem: one readable line, the traceback on request
        if arguments.debug:
            raise
        print(f"error: {type(error).__name__}: {error}\n(an unexpected error; rerun with --debug for the traceback, "
              f"and please report it if the message does not say what to fix)", file=sys.stderr)
        return EXIT_USAGE_ERROR
    parser.error(f"unknown command {arguments.command}")
    return EXIT_USAGE_ERROR


def _print_hub_downloads(suite, registry: Registry) -> None:
    """Validation passes for a suite that needs the hub; it says so, and whether the hub can be reached now."""
    from harness.core.resources import hub_reachable
    from harness.core.suite import hub_downloads

    downloads = hub_downloads(suite, registry)
    if not downloads:
        return
    if hub_reachable():
        print("needs the Hugging Face Hub at run time (reachable now), for:")
    else:
        print("needs the Hugging Face Hub at run time, which is NOT reachable from here now (offline): the run "
              "fails unless the Hugging Face cache already holds these, or you point the suite at local copies "
              "(e.g. --set task.path=DIR):")
    for location, what in downloads:
        print(f"  {location}: {what}")


def _run(arguments: argparse.Namespace, registry: Registry, manager) -> int:
    suite = load_suite(arguments.suite, registry, output_override=arguments.out, overrides=arguments.overrides)
    for model in suite.models:
        if model.source.trust_remote_code and not arguments.trust_remote_code:
            raise HarnessError(f"{model.location}: the suite sets `trust_remote_code: true`, which runs Python "
                               f"code shipped with the model {model.source.name!r}; confirm with "
                               f"`harness run --trust-remote-code` if you trust its author")
    # The Ray flags are shortcuts for executor options of the same names (any executor may declare them).
    executor_options = {key: value for key, value in (("address", arguments.address), ("num_cpus", arguments.num_cpus),
                                                      ("num_gpus", arguments.num_gpus),
                                                      ("max_retries", arguments.max_retries)) if value is not None}
    if executor_options and arguments.executor == DEFAULT_EXECUTOR:
        raise HarnessError(f"--{next(iter(executor_options)).replace('_', '-')} is a Ray option; add --executor ray")
    executor_options.update(executor_option_pairs(arguments.executor_option))
    options = RunOptions(output=arguments.out, cache_dir=arguments.cache_dir, device=arguments.device,
                         progress=not arguments.no_progress, run_id=arguments.run_id, baseline=arguments.baseline,
                         executor=arguments.executor, executor_options=executor_options,
                         artifacts=arguments.artifacts, allow_different_data=arguments.allow_different_data,
                         debug=arguments.debug, correction=arguments.correction)
    try:
        summary = Runner(suite, registry, manager, options).run()
    except RuntimeError as error:  # e.g. --device cuda without a GPU
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE_ERROR
    computed = sum(stage.status == "computed" for stage in summary.stages)
    cached = sum(stage.status == "cached" for stage in summary.stages)
    failed = [stage for stage in summary.stages if stage.status == "error"]
    print(f"run: {summary.run_dir}")
    print(f"stages: {computed} computed, {cached} from cache, {len(failed)} failed")
    for stage in failed:
        print(f"  failed: {stage.stage_id} (plugin {stage.plugin!r}): {stage.error}")
    print_gates(summary.gates)
    for path in summary.report_paths:
        print(f"report: {path}")
    scorecard = next((path for path in summary.report_paths if path.suffix == ".html"), None)
    if scorecard is not None:
        print(f"scorecard: {scorecard}")
    return summary.exit_code


def print_gates(gates) -> None:
    for gate in gates:
        verdict = {"skipped": "SKIP", "failed": "FAIL", "underpowered": "UNDERPOWERED"}.get(gate.verdict, "PASS")
        print(f"gate {verdict}: {gate.description}: {gate.detail}")


def _gate(arguments: argparse.Namespace, registry: Registry) -> int:
    """Gates on a stored run: the run's own gates (or --suite's), against --baseline; reports re-rendered."""
    import yaml

    from harness.core.files import atomic_write_json
    from harness.core.gates import evaluate_gates, load_baseline
    from harness.core.store import read_run
    from harness.core.suite import parse_gates

    if not (arguments.run_dir / "manifest.json").is_file():
        raise HarnessError(f"{arguments.run_dir} is not a run directory (no manifest.json)")
    run = read_run(arguments.run_dir)
    if arguments.suite is not None:
        if not arguments.suite.is_file():
            raise HarnessError(f"suite file not found: {arguments.suite}")
        text, file = read_suite_text(arguments.suite), str(arguments.suite)
    else:
        stored = run.manifest.get("suite_document", {}).get("gates") or []
        text, file = yaml.safe_dump({"gates": stored}, sort_keys=False), f"{arguments.run_dir}/manifest.json (gates)"
    methods = set(run.manifest.get("methods") or {row.method for row in run.results if row.method})
    methods |= {part for method in methods for part in method.split(" / ")}  # several models: "model / method"
    components = {row.component for row in run.results if row.stage in ("attack", "perturb", "explain")}
    gates = parse_gates(text, file, methods, components)
    baseline = load_baseline(arguments.baseline) if arguments.baseline is not None else None
    if baseline is not None:
        baseline = baseline.checked_against(run.manifest, arguments.allow_different_data)
    outcomes = evaluate_gates(gates, run.results, run=run, baseline=baseline, correction=arguments.correction)
    atomic_write_json(arguments.run_dir / "gates.json", [dataclasses.asdict(outcome) for outcome in outcomes])
    print_gates(outcomes)
    arguments.formats = None
    # The gate sections of the scorecard, JUnit and Markdown follow the new verdict; a reporter that failed left a
    # stale report behind, which the exit code must say.
    reports_failed = _report(arguments, registry) != EXIT_OK
    if reports_failed or any(stage.status == "error" for stage in run.stages):
        return EXIT_STAGE_CRASHED
    return EXIT_GATE_FAILED if any(not outcome.passed for outcome in outcomes) else EXIT_OK


def component_infos(registry: Registry) -> list[ComponentInfo]:
    from harness.attack.textattack_recipes import needs_textattack
    from harness.core.resources import textattack_unavailable

    missing_textattack = textattack_unavailable() or ""
    return [
        ComponentInfo(component.name, component.kind, component.plugin, component.distribution, component.version,
                      config_field_summary(component.config_class), component.description,
                      missing_textattack if needs_textattack(component.config_class) else "")
        for component in registry.all_components()
    ]


def _plugins(registry: Registry, as_json: bool) -> int:
    infos = component_infos(registry)
    broken = sorted(registry.broken.values(), key=lambda plugin: plugin.name)
    if as_json:
        print(json.dumps({
            "components": [dataclasses.asdict(info) for info in infos],
            "broken": [{"name": plugin.name, "module": plugin.module, "error": plugin.error} for plugin in broken],
            "blocked": sorted(registry.manager.blocked_names),
        }, indent=2))
        return EXIT_OK
    for kind in COMPONENT_KINDS:
        of_kind = sorted((info for info in infos if info.kind == kind), key=lambda info: info.name)
        print(f"{kind}s:")
        if not of_kind:
            print("  (none)")
        for info in of_kind:
            # A component's own version (`register(..., version=)`, part of its cache keys) when it is not the
            # version of the distribution it comes from.
            loaded_from = registry.manager.origins.get(info.plugin)
            release = loaded_from.version if loaded_from else info.version
            origin = f"{info.distribution} {release}".strip()
            own_version = f", version {info.version}" if info.version != release else ""
            print(f"  {info.name:<24} plugin {info.plugin} ({origin}{own_version})")
            if info.unavailable:
                print(f"      unavailable: {info.unavailable}")
            if info.description:
                print(f"      {info.description}")
            for name, type_name, default in info.config_fields:
                print(f"      {name}: {type_name} = {default}")
    if broken:
        print("broken plugins (not loaded; only suites that use them fail):")
        for plugin in broken:
            print(f"  {plugin.name} ({plugin.module}): {plugin.error}")
    if registry.manager.blocked_names:
        print(f"blocked by HARNESS_BLOCK_PLUGINS: {', '.join(sorted(registry.manager.blocked_names))}")
    return EXIT_OK


def _doctor() -> int:
    from harness.core.resources import check_resources

    for status in check_resources():
        mark = "ok " if status.available else "-- "
        print(f"{mark} {status.name}: {status.detail}")
        if not status.available:
            print(f"      without it: {status.without_it}")
    return EXIT_OK


def _compare(arguments: argparse.Namespace) -> int:
    from harness.report.compare import write_comparison

    for run_dir in (arguments.run_a, arguments.run_b):
        if not (run_dir / "manifest.json").is_file():
            raise HarnessError(f"{run_dir} is not a run directory (no manifest.json)")
    if not 0 < arguments.alpha < 1:
        raise HarnessError(f"--alpha must be between 0 and 1, got {arguments.alpha}")
    for path in write_comparison(arguments.run_a, arguments.run_b, arguments.out or arguments.run_b / "compare",
                                 arguments.alpha, arguments.allow_different_data, arguments.correction):
        print(f"report: {path}")
    return EXIT_OK


def _ratings(arguments: argparse.Namespace, registry: Registry) -> int:
    from harness.report.ratings import export_ratings, import_ratings

    if arguments.ratings_command == "export":
        if arguments.sample < 1:
            raise HarnessError(f"--sample must be a positive number of pairs, got {arguments.sample}")
        output = arguments.out or arguments.run_dir / "ratings-to-rate.csv"
        count = export_ratings(arguments.run_dir, output, arguments.sample, arguments.seed)
        print(f"wrote {count} adversarial pairs to rate: {output} (fill the `valid` column with yes or no, then "
              f"`harness ratings import {arguments.run_dir} {output}`)")
        return EXIT_OK
    rows = import_ratings(arguments.run_dir, arguments.ratings)
    for row in rows:
        if row.metric == "human_acceptance":
            print(f"{row.method} seed {row.seed} {row.component}: {row.n} rated, {100 * row.value:.0f}% valid "
                  f"(95% CI {100 * row.ci_low:.0f}-{100 * row.ci_high:.0f}%)")
    arguments.formats = None
    return _report(arguments, registry)


def _report(arguments: argparse.Namespace, registry: Registry) -> int:
    from harness.core.files import remove_stale_temporaries
    from harness.core.store import read_run

    try:
        run = read_run(arguments.run_dir)
    except FileNotFoundError as error:
        raise HarnessError(str(error)) from error
    remove_stale_temporaries(run.run_dir)
    formats = arguments.formats or [
        entry if isinstance(entry, str) else entry.get("use")
        for entry in run.manifest.get("suite_document", {}).get("reports", ["json", "html"])
    ]
    exit_code = EXIT_OK
    for name in formats:
        component = registry.get("reporter", name)
        if component is None:
            raise HarnessError(registry.unknown_name_message("reporter", name))
        config = component.config_class() if component.config_class else None
        try:
            for path in component.factory(config).render(ReportRequest(run=run, output_dir=run.run_dir,
                                                                         view=report_view(registry, run))):
                print(f"report: {path}")
        except Exception as error:
            print(f"error: reporter {name!r} (plugin {component.plugin!r}) failed: {type(error).__name__}: {error}",
                  file=sys.stderr)
            exit_code = EXIT_STAGE_CRASHED
    return exit_code


