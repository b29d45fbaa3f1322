"""Attack `advglue`: accuracy on AdvGLUE (Wang et al. 2021), a static set of human-validated adversarial GLUE examples.

AdvGLUE is an attack whose perturbations were computed once, against other models, and then checked by
people; this plugin replays them as an attack stage so that its numbers sit next to the live attacks.

Semantics (how the records map onto the harness's attack metrics):
- The `examples` argument is ignored: the attack brings its own adversarial inputs (all items of the chosen
  AdvGLUE task, so `budgets.max_attack_examples` does not apply either).
- For each AdvGLUE item there is one AttackRecord with original_text = perturbed_text = the adversarial text,
  label = the item's label through `label_map`, original_prediction = perturbed_prediction = the model's
  prediction, both confidences = its highest probability, status "failed" when the prediction is correct
  (the model withstood the example) and "successful" when it is wrong (the example fooled it), never
  "skipped"; num_queries = 1, words_perturbed = 0, words_total = whitespace words, and seconds = the time of
  the one batched prediction over all items divided evenly. example_id = "advglue-{task}-{idx}".
  Pair tasks: original_text = perturbed_text = the first text, original_text_pair = perturbed_text_pair = the
  second (harness.core.pairs), and words_total counts the words of both.
- Hence accuracy_under_attack = clean_accuracy = accuracy on AdvGLUE, and attack_success_rate = its error
  rate. perturbed_word_percentage is 0 because the clean originals are not part of AdvGLUE's release.
- Pair tasks (qqp, mnli, mnli-mm, qnli, rte): the two texts go to the model as a sentence pair, in its native
  pair encoding (token type ids, [SEP] or RoBERTa's double separator), as the harness trains pair tasks. For a
  model fine-tuned on the two texts joined into one string, `pair_separator` joins them instead:
  "first SEP second" (one space each side; just a space for a blank separator).

AdvGLUE label indices: sst2 0 negative / 1 positive; qqp 0 not duplicate / 1 duplicate; mnli and mnli-mm
0 entailment / 1 neutral / 2 contradiction; qnli and rte 0 entailment / 1 not entailment. The model must have
as many labels as the task; `label_map` translates when its order differs.

Data: `path` names a local copy of AdvGLUE's dev.json ({task: [{idx, text fields..., label}]}), read offline;
without it the items come from the Hugging Face hub dataset "adv_glue" (needs network and `datasets`).

Task `advglue` (the same plugin also registers AdvGLUE as a task): for models fine-tuned in the suite on the
clean GLUE task and tested on its adversarial version. `subset` picks the AdvGLUE task. The test split is
AdvGLUE's items (ids "advglue-{subset}-{idx}", as in the attack's records; pair tasks as text + text_pair);
train and validation come from the matching clean GLUE task's train split (mnli for mnli-mm), loaded like the
GLUE task plugins load it (`glue_path:` a local GLUE folder, else the hub), with `validation_fraction` held out
(seeded). AdvGLUE's items are adversarial versions of GLUE dev examples, so they never overlap GLUE train.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Sequence

from harness import (
    AttackOutcome,
    Classifier,
    Example,
    HarnessError,
    LocalLayout,
    RawSplit,
    StageEnvironment,
    SuitePath,
    TaskData,
    TaskSource,
    check_path,
    glue_source,
    hold_out,
    hookimpl,
    hub_dataset_name,
    load_splits,
    seeded_order,
)

PLUGIN = "advglue"

TEXT_FIELDS = {
    "sst2": ("sentence",),
    "qqp": ("question1", "question2"),
    "mnli": ("premise", "hypothesis"),
    "mnli-mm": ("premise", "hypothesis"),
    "qnli": ("question", "sentence"),
    "rte": ("sentence1", "sentence2"),
}
LABEL_COUNTS = {"sst2": 2, "qqp": 2, "mnli": 3, "mnli-mm": 3, "qnli": 2, "rte": 2}
HUB_DATASET = "AI-Secure/adv_glue"
"""AdvGLUE on the hub: "adv_glue" under its current name (parquet; the old name needs a loading script, which
datasets 4 and later refuse)."""
GLUE_TASK = {"sst2": "sst2", "qqp": "qqp", "mnli": "mnli", "mnli-mm": "mnli", "qnli": "qnli", "rte": "rte"}
"""The clean GLUE task each AdvGLUE task perturbs."""
HUB_CONFIGS = {"sst2": "adv_sst2", "qqp": "adv_qqp", "mnli": "adv_mnli", "mnli-mm": "adv_mnli_mismatched",
               "qnli": "adv_qnli", "rte": "adv_rte"}


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


@dataclass(frozen=True)
class AdvGlueConfig:
    task: Literal["sst2", "qqp", "mnli", "mnli-mm", "qnli", "rte"] = "sst2"
    """Which AdvGLUE task to evaluate; the model must have 2 labels (3 for mnli and mnli-mm)."""
    path: Optional[SuitePath] = None
    """Local AdvGLUE dev.json ($VARS and ~ expanded; relative to the suite file); default: the hub dataset "adv_glue"
    (needs network)."""
    label_map: Optional[tuple[int, ...]] = None
    """label_map[advglue_label] = the model's label index, for models whose label order differs; default identity."""
    pair_separator: Optional[str] = None
    """Joins the two texts of pair tasks into one string (for a model fine-tuned on joined text, e.g. "[SEP]");
    default: none, the texts go to the model as a sentence pair."""

    def __post_init__(self):
        if self.path is not None and not _expand(self.path).is_file():
            raise ValueError(f"path {str(_expand(self.path).absolute())!r} does not exist; "
                             "it should be AdvGLUE's dev.json")
        if self.label_map is not None:
            count = LABEL_COUNTS[self.task]
            if len(self.label_map) != count or any(not 0 <= index < count for index in self.label_map):
                raise ValueError(f"label_map must list {count} model label indices in 0..{count - 1} for task "
                                 f"{self.task!r} (one per AdvGLUE label), got {list(self.label_map)}")


@dataclass(frozen=True)
class AdvGlueItem:
    idx: int
    text: str
    label: int
    text_pair: Optional[str] = None
    """The second text of a pair task (None when the texts were joined, or for sst2)."""

    @property
    def model_input(self) -> Any:
        return self.text if self.text_pair is None else (self.text, self.text_pair)


class AdvGlueAttack:
    def __init__(self, config: AdvGlueConfig):
        self.config = config

    def attack(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> AttackOutcome:
        """Evaluate on the task's AdvGLUE items; `examples` is ignored (AdvGLUE brings its own inputs)."""
        task = self.config.task
        model_labels = len(classifier.label_names)
        if model_labels != LABEL_COUNTS[task]:
            raise HarnessError(f"attack {PLUGIN!r}: AdvGLUE task {task!r} has {LABEL_COUNTS[task]} labels but the "
                               f"model has {model_labels} ({', '.join(classifier.label_names)}); choose a task "
                               f"that matches the model's labels")
        label_map = self.config.label_map or tuple(range(model_labels))
        items = self.items(self.config.pair_separator)
        texts = [item.model_input for item in items]

        predictor = classifier.predictor
        forwards_before = getattr(predictor, "forwards", 0)
        started = time.perf_counter()
        probabilities = predictor.probabilities(texts)  # one batched call: items are independent
        seconds_each = (time.perf_counter() - started) / max(1, len(items))
        forwards = getattr(predictor, "forwards", 0) - forwards_before

        from harness import make_attack_record

        records = []
        for item, text, row in zip(items, texts, probabilities):
            prediction = int(row.argmax())
            confidence = float(row[prediction])
            label = label_map[item.label]
            records.append(make_attack_record(
                text, text, example_id=f"advglue-{task}-{item.idx}",
                label=label, original_prediction=prediction, perturbed_prediction=prediction,
                original_confidence=confidence, perturbed_confidence=confidence,
                status="failed" if prediction == label else "successful", num_queries=1, words_perturbed=0,
                words_total=len(item.text.split()) + len((item.text_pair or "").split()), seconds=seconds_each))
        return AttackOutcome(records=tuple(records), model_forwards=forwards)

    def hub_downloads(self) -> tuple[str, ...]:
        return () if self.config.path else (f"dataset {hub_dataset_name(HUB_DATASET, HUB_CONFIGS[self.config.task])}",)

    def items(self, separator: Optional[str] = None) -> list[AdvGlueItem]:
        """The task's items; a pair task's two texts as text and text_pair, or, given a separator, joined into
        one text as "first SEP second" (one space each side; just a space for a blank separator)."""
        rows = self._local_rows() if self.config.path is not None else self._hub_rows()
        if not rows:
            raise HarnessError(f"attack {PLUGIN!r}: AdvGLUE task {self.config.task!r} has no items")
        fields = TEXT_FIELDS[self.config.task]
        count = LABEL_COUNTS[self.config.task]
        items = []
        for position, row in enumerate(rows):
            missing = [name for name in (*fields, "label") if name not in row]
            if missing:
                raise HarnessError(f"attack {PLUGIN!r}: AdvGLUE {self.config.task!r} item {position} lacks "
                                   f"{', '.join(missing)} (has {', '.join(row)})")
            label = row["label"]
            if not isinstance(label, int) or not 0 <= label < count:
                raise HarnessError(f"attack {PLUGIN!r}: AdvGLUE {self.config.task!r} item {position} has label "
                                   f"{label!r}, expected 0..{count - 1}")
            parts = [str(row[name]) for name in fields]  # verbatim: the adversarial edit may be in the spacing
            if len(parts) == 2 and separator is None:
                items.append(AdvGlueItem(idx=int(row.get("idx", position)), text=parts[0], label=label,
                                         text_pair=parts[1]))
                continue
            joiner = (separator or "").strip()
            text = f" {joiner} ".join(parts) if joiner else " ".join(parts)
            items.append(AdvGlueItem(idx=int(row.get("idx", position)), text=text, label=label))
        return items

    def _local_rows(self) -> list[dict[str, Any]]:
        path = _expand(self.config.path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise HarnessError(f"attack {PLUGIN!r}: cannot read {path} as JSON: {error}") from error
        if not isinstance(document, dict) or self.config.task not in document:
            found = ", ".join(document) if isinstance(document, dict) else type(document).__name__
            raise HarnessError(f"attack {PLUGIN!r}: {path} has no task {self.config.task!r} (found: {found}); "
                               "expected AdvGLUE's dev.json, {task: [items]}")
        return list(document[self.config.task])

    def _hub_rows(self) -> list[dict[str, Any]]:
        config_name = HUB_CONFIGS[self.config.task]
        try:
            from datasets import load_dataset

            dataset = load_dataset(HUB_DATASET, config_name, split="validation")
        except Exception as error:  # offline, hub unreachable or dataset format unsupported: all need `path:`
            raise HarnessError(
                f"attack {PLUGIN!r}: cannot load {HUB_DATASET}/{config_name} from the Hugging Face hub "
                f"({type(error).__name__}: {error}); offline, set `path:` to a local copy of AdvGLUE's dev.json"
            ) from error
        return [dict(row) for row in dataset]


@hookimpl
def register_attacks(register):
    register("advglue", AdvGlueAttack, config=AdvGlueConfig,
             description="AdvGLUE: accuracy on human-validated adversarial GLUE examples (static set; "
                         "offline with path: to dev.json)")


# ----------------------------------------------------------------------------------------------- task


def _read_dev_json(subset: str):
    def read(path: Path, source: TaskSource) -> Optional[dict[str, RawSplit]]:
        file = path / "dev.json" if path.is_dir() else path
        if not file.is_file() or file.suffix.lower() != ".json":
            return None
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise HarnessError(f"cannot read {file} as JSON: {error}") from error
        if not isinstance(document, dict) or subset not in document or not isinstance(document[subset], list):
            found = ", ".join(document) if isinstance(document, dict) else type(document).__name__
            raise HarnessError(f"{file} has no task {subset!r} (found: {found}); expected AdvGLUE's dev.json, "
                               "{task: [items]}")
        rows = tuple(document[subset])
        return {"validation": RawSplit(str(file), rows, tuple(range(1, len(rows) + 1)), unit=f"{subset} item")}
    return read


def advglue_source(subset: str) -> TaskSource:
    """AdvGLUE's items of one task, as a source whose only split is the hub's "validation" (the dev set)."""
    glue = glue_source(GLUE_TASK[subset])
    return TaskSource(
        name=f"advglue-{subset}", title=f"AdvGLUE {subset}", hub_path=HUB_DATASET, hub_config=HUB_CONFIGS[subset],
        label_names=glue.label_names, text_columns=glue.text_columns, splits={"test": "validation"},
        id_column="idx", layouts=(LocalLayout("AdvGLUE's dev.json ({task: [{idx, text fields..., label}]}), or a "
                                               "folder holding it", _read_dev_json(subset)),))


@dataclass(frozen=True)
class AdvGlueTaskConfig:
    subset: Literal["sst2", "qqp", "mnli", "mnli-mm", "qnli", "rte"] = "sst2"
    """The AdvGLUE task: its items are the test split; the matching GLUE task (mnli for mnli-mm) trains."""
    path: Optional[SuitePath] = None
    """AdvGLUE's dev.json, or a folder holding it ($VARS and ~ expanded; relative to the suite file);
    default: the hub dataset AI-Secure/adv_glue."""
    glue_path: Optional[SuitePath] = None
    """A local copy of the matching GLUE task for the train and validation splits (a folder in a layout the
    GLUE task plugins read, e.g. GLUE's train.tsv); default: the hub dataset nyu-mll/glue."""
    revision: Optional[str] = None
    """Hub revision of AdvGLUE to pin; default: the latest."""
    validation_fraction: float = 0.1
    """Share of GLUE's train split held out as the validation split (0: none; the harness then holds out 10%)."""
    split_seed: int = 0
    """Seeds the hold-out and the order of examples; the same on every machine."""

    def __post_init__(self):
        if self.path is not None:
            check_path(self.path, "path")
            if self.revision is not None:
                raise ValueError("path excludes revision: a local dev.json is read as it is; remove one of them")
        if self.glue_path is not None:
            check_path(self.glue_path, "glue_path")
        if self.revision is not None and (not self.revision.strip() or self.revision != self.revision.strip()):
            raise ValueError(f"revision must be a non-empty name without surrounding spaces, got {self.revision!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")


class AdvGlueTask:
    def __init__(self, config: AdvGlueTaskConfig):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        config = self.config
        glue = glue_source(GLUE_TASK[config.subset])
        glue = dataclasses.replace(glue, splits={"train": "train"})  # GLUE's dev set is not needed
        clean, clean_origin = load_splits(glue, path=config.glue_path)
        train, validation = hold_out(clean["train"], config.validation_fraction, config.split_seed)
        source = advglue_source(config.subset)
        adversarial, origin = load_splits(source, path=config.path, revision=config.revision)
        test = seeded_order(adversarial["validation"], config.split_seed)
        description = (f"AdvGLUE {config.subset}: {len(test)} adversarial test examples from {origin}; "
                       f"{len(train)} train / {len(validation)} validation from {glue.title} train "
                       f"({clean_origin}; validation = {config.validation_fraction:g} held out, seed "
                       f"{config.split_seed})")
        return TaskData(name=source.name, label_names=source.label_names, train=train, validation=validation,
                        test=test, description=description, text_fields=source.text_columns)

    def hub_downloads(self) -> tuple[str, ...]:
        glue = glue_source(GLUE_TASK[self.config.subset])
        downloads = [] if self.config.glue_path else [f"dataset {hub_dataset_name(glue.hub_path, glue.hub_config)}"]
        if not self.config.path:
            name = hub_dataset_name(HUB_DATASET, HUB_CONFIGS[self.config.subset], self.config.revision)
            downloads.append(f"dataset {name}")
        return tuple(downloads)


@hookimpl
def register_tasks(register):
    register("advglue", AdvGlueTask, config=AdvGlueTaskConfig,
             description="AdvGLUE as a task: fine-tune on the clean GLUE task, test on its adversarial dev set "
                         "(subset: sst2, qqp, mnli, mnli-mm, qnli, rte; offline with path: and glue_path:)")
