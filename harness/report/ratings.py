"""Human ratings of adversarial examples: `harness ratings export` writes a random sample of a run's successful
adversarial pairs as CSV for people to rate; `harness ratings import` adds the ratings to the run.

The export leaves out the judges' verdicts, so raters are not led by them. Raters fill the `valid` column: yes
when the adversarial text keeps the original's meaning (its true label) and reads as acceptable language, no
otherwise; a blank cell is "not rated". Text cells that a spreadsheet would run as a formula are written with a
leading apostrophe and read back exactly.

The import adds a `rating` stage per rated attack and cell, with `rated_examples`, `human_acceptance` (the share of
rated adversarial examples people found valid) and, where the run judged the attack, `judge_agreement/<judge>` and
`valid_agreement` (how often a judge's verdict, and the combined verdict, agree with people), all with
Wilson intervals; the ratings themselves go to the stage's records (`ratings`). Importing again replaces the
ratings imported before. Re-render the reports (`harness report RUN_DIR`) to see them.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

from harness.core.errors import HarnessError
from harness.core.files import atomic_write_text, content_key, safe_file_name, write_jsonl
from harness.core.names import escape_csv_text, unescape_csv_text
from harness.core.statistics import proportion_metric
from harness.core.store import RunStore, read_run
from harness.core.types import Metric, ResultRow, StageRecord, StoredRun

RATING_COLUMNS = ("stage_id", "example_id", "method", "seed", "attack", "label", "original_text", "perturbed_text",
                  "original_text_pair", "perturbed_text_pair", "valid", "comment")
YES = ("yes", "y", "1", "true", "valid")
NO = ("no", "n", "0", "false", "invalid", "not valid")
RATING_STAGE = "rating"


def _finished(run: StoredRun, kind: str) -> list[StageRecord]:
    return [stage for stage in run.stages if stage.kind == kind and stage.status in ("computed", "cached")]


def export_ratings(run_dir: Path, output: Path, sample: int = 50, seed: int = 0) -> int:
    """Write up to `sample` successful adversarial pairs of the run, drawn at random with `seed`, to `output` (CSV);
    return how many."""
    run = _read(run_dir)
    labels = list(run.manifest.get("label_names") or [])
    pairs = [(stage, record) for stage in _finished(run, "attack") for record in run.records(stage.stage_id, "attack")
             if record.get("status") == "successful"]
    if not pairs:
        raise HarnessError(f"run {run_dir} has no successful adversarial examples to rate")
    chosen = random.Random(seed).sample(pairs, min(sample, len(pairs)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RATING_COLUMNS)
    for stage, record in chosen:
        label = record["label"]
        label_name = labels[label] if isinstance(label, int) and 0 <= label < len(labels) else label
        cells = [stage.stage_id, record["example_id"], stage.method, stage.seed, stage.component, label_name,
                 record["original_text"], record["perturbed_text"], record.get("original_text_pair") or "",
                 record.get("perturbed_text_pair") or "", "", ""]
        writer.writerow([escape_csv_text(cell) if isinstance(cell, str) else cell for cell in cells])
    atomic_write_text(output, buffer.getvalue())
    return len(chosen)


def _read(run_dir: Path) -> StoredRun:
    try:
        return read_run(run_dir)
    except FileNotFoundError as error:
        raise HarnessError(str(error)) from error


def _rating(cell: str, where: str) -> Optional[bool]:
    value = cell.strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise HarnessError(f"{where}: `valid` must be yes or no (or 1/0, true/false; blank: not rated), got {cell!r}")


def read_ratings(path: Path, run: StoredRun) -> dict[str, dict[str, tuple[bool, str]]]:
    """attack stage id -> example id -> (valid, comment), checked against the run (every error at its line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"cannot read ratings {path}: {error}") from error
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in ("stage_id", "example_id", "valid") if column not in (reader.fieldnames or [])]
    if missing:
        raise HarnessError(f"{path}: no column {', '.join(missing)} (export one with `harness ratings export`)")
    attack_ids = {stage.stage_id: {record["example_id"] for record in run.records(stage.stage_id, "attack")
                                   if record.get("status") == "successful"}
                  for stage in _finished(run, "attack")}
    ratings: dict[str, dict[str, tuple[bool, str]]] = defaultdict(dict)
    for row in reader:
        where = f"{path}:{reader.line_num}"
        stage_id, example_id = unescape_csv_text(row["stage_id"] or ""), unescape_csv_text(row["example_id"] or "")
        if stage_id not in attack_ids:
            raise HarnessError(f"{where}: the run has no finished attack stage {stage_id!r}")
        if example_id not in attack_ids[stage_id]:
            raise HarnessError(f"{where}: attack stage {stage_id!r} has no successful example {example_id!r}")
        valid = _rating(row["valid"] or "", where)
        if valid is not None:
            ratings[stage_id][example_id] = (valid, unescape_csv_text(row.get("comment") or ""))
    if not ratings:
        raise HarnessError(f"{path}: no rated row (fill the `valid` column with yes or no)")
    return ratings


def import_ratings(run_dir: Path, path: Path) -> list[ResultRow]:
    """Add the ratings in `path` to the run (replacing earlier ones); return the rows added."""
    run = _read(run_dir)
    ratings = read_ratings(path, run)
    stages_by_id = {stage.stage_id: stage for stage in run.stages}
    judged = {(stage.method, stage.seed, stage.component): stage for stage in _finished(run, "judge")}
    store = RunStore(run.run_dir, lock=True)
    try:
        store.stages = [stage for stage in run.stages if stage.kind != RATING_STAGE]
        store.rows = [row for row in run.results if row.stage != RATING_STAGE]
        added: list[ResultRow] = []
        for attack_stage_id, rated in ratings.items():
            attack = stages_by_id[attack_stage_id]
            judge_stage = judged.get((attack.method, attack.seed, attack.component))
            verdicts = ({record["example_id"]: record for record in run.records(judge_stage.stage_id, "verdicts")}
                        if judge_stage is not None else {})
            records = [{"example_id": example_id, "valid": valid, "comment": comment,
                        **({"judges": verdicts[example_id]} if example_id in verdicts else {})}
                       for example_id, (valid, comment) in sorted(rated.items())]
            stage_id = attack_stage_id[: -len(f"/attack/{attack.component}")] + f"/{RATING_STAGE}/{attack.component}"
            key = content_key({"attack": attack.key, "ratings": records})
            record = StageRecord(stage_id, RATING_STAGE, attack.component, "harness", key, "computed", 0.0,
                                 attack.method, attack.seed)
            template = next(row for row in run.results if row.stage_key == attack.key)
            rows = [ResultRow(template.task, template.model, attack.method, attack.seed, RATING_STAGE,
                              attack.component, metric.name, metric.value, metric.ci_low, metric.ci_high, metric.n,
                              key, template.train_size) for metric in _rating_metrics(records)]
            (run.run_dir / "records").mkdir(exist_ok=True)
            write_jsonl(run.run_dir / "records" / f"{safe_file_name(stage_id)}.ratings.jsonl", records)
            store.add_stage(record, rows)
            added += rows
    finally:
        store.close()
    return added


def _rating_metrics(records: list[dict[str, Any]]) -> list[Metric]:
    metrics = [Metric("rated_examples", float(len(records)), n=len(records)),
               proportion_metric("human_acceptance", [record["valid"] for record in records])]
    judged = [record for record in records if "judges" in record]
    if judged:
        for judge in judged[0]["judges"]["verdicts"]:
            metrics.append(proportion_metric(
                f"judge_agreement/{judge}",
                [record["judges"]["verdicts"][judge]["accepted"] == record["valid"] for record in judged]))
        metrics.append(proportion_metric("valid_agreement",
                                         [record["judges"]["valid"] == record["valid"] for record in judged]))
    return metrics
