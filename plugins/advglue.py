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
- Hence accuracy_under_attack = clean_accuracy = accuracy on AdvGLUE, and attack_success_rate = its error
  rate. perturbed_word_percentage is 0 because the clean originals are not part of AdvGLUE's release.
- Pair tasks (qqp, mnli, mnli-mm, qnli, rte): the harness predictor takes single strings, so the two texts
  are joined into one: "first SEP second", where SEP is `pair_separator` if set, else the tokenizer's sep
  token (e.g. "[SEP]", which BERT tokenizers keep as the special token) if it has one, else nothing (one
  space). This approximates the model's native pair encoding (token type ids stay 0; RoBERTa-style models
  use a double separator); models fine-tuned through the harness on joined text see the same format.

AdvGLUE label indices: sst2 0 negative / 1 positive; qqp 0 not duplicate / 1 duplicate; mnli and mnli-mm
0 entailment / 1 neutral / 2 contradiction; qnli and rte 0 entailment / 1 not entailment. The model must have
as many labels as the task; `label_map` translates when its order differs.

Data: `path` names a local copy of AdvGLUE's dev.json ({task: [{idx, text fields..., label}]}), read offline;
without it the items come from the Hugging Face hub dataset "adv_glue" (needs network and `datasets`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Sequence

from harness import AttackOutcome, AttackRecord, Classifier, Example, HarnessError, StageEnvironment, hookimpl

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
HUB_DATASET = "adv_glue"
HUB_CONFIGS = {"sst2": "adv_sst2", "qqp": "adv_qqp", "mnli": "adv_mnli", "mnli-mm": "adv_mnli_mismatched",
               "qnli": "adv_qnli", "rte": "adv_rte"}


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


@dataclass(frozen=True)
class AdvGlueConfig:
    task: Literal["sst2", "qqp", "mnli", "mnli-mm", "qnli", "rte"] = "sst2"
    """Which AdvGLUE task to evaluate; the model must have 2 labels (3 for mnli and mnli-mm)."""
    path: Optional[str] = None
    """Local AdvGLUE dev.json ($VARS and ~ expanded); default: the hub dataset "adv_glue" (needs network)."""
    label_map: Optional[tuple[int, ...]] = None
    """label_map[advglue_label] = the model's label index, for models whose label order differs; default identity."""
    pair_separator: Optional[str] = None
    """Joins the two texts of pair tasks; default: the tokenizer's sep token, or a space if it has none."""

    def __post_init__(self):
        if self.path is not None and not _expand(self.path).is_file():
            raise ValueError(f"path {self.path!r} does not exist (resolved to {_expand(self.path).resolve()}); "
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
        items = self.items(self._separator(classifier))
        texts = [item.text for item in items]

        predictor = classifier.predictor
        forwards_before = getattr(predictor, "forwards", 0)
        started = time.perf_counter()
        probabilities = predictor.probabilities(texts)  # one batched call: items are independent
        seconds_each = (time.perf_counter() - started) / max(1, len(items))
        forwards = getattr(predictor, "forwards", 0) - forwards_before

        records = []
        for item, row in zip(items, probabilities):
            prediction = int(row.argmax())
            confidence = float(row[prediction])
            label = label_map[item.label]
            records.append(AttackRecord(
                example_id=f"advglue-{task}-{item.idx}", original_text=item.text, perturbed_text=item.text,
                label=label, original_prediction=prediction, perturbed_prediction=prediction,
                original_confidence=confidence, perturbed_confidence=confidence,
                status="failed" if prediction == label else "successful", num_queries=1, words_perturbed=0,
                words_total=len(item.text.split()), seconds=seconds_each))
        return AttackOutcome(records=tuple(records), model_forwards=forwards)

    def _separator(self, classifier: Classifier) -> str:
        if self.config.pair_separator is not None:
            return self.config.pair_separator
        return getattr(classifier.tokenizer, "sep_token", None) or ""

    def items(self, separator: str = "") -> list[AdvGlueItem]:
        """The task's items; pair texts joined as "first SEP second" (one space each side; just a space if no SEP)."""
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
            text = f" {separator.strip()} ".join(parts) if separator.strip() else " ".join(parts)
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
