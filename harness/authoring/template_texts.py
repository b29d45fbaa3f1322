"""The text of the files `harness new-plugin KIND NAME` writes (harness.authoring.plugin_template): the
pyproject.toml and one module per kind (MODULES), as string.Template texts; the contract tests written with
each are in harness.authoring.template_tests."""

# ------------------------------------------------------------------------------------------ templates
# string.Template placeholders: $name (component name), $module (Python module), $Class (class prefix), $kind.
# The component works as written, but its name is the author's and its behaviour the template's: the first line of
# each module, the class docstring and the registered description say "TODO: describe" until the author says what
# `$name` does (`harness plugins` lists that description; the generated tests fail on a TODO of their own).

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "harness-$name"
version = "0.1.0"  # the cache-key version of every component registered without version=: bump it when results change
description = "The $kind `$name` for nlp-robustness-harness"
requires-python = ">=3.10"
dependencies = ["nlp-robustness-harness"]

[project.optional-dependencies]
test = ["pytest>=8"]

# One entry point per plugin module, named as users write it in suites.
[project.entry-points.harness]
$name = "$module"

[tool.setuptools]
py-modules = ["$module"]
'''

TASK_MODULE = '''\
"""Task `$name`: TODO: describe what $name gives a suite.

Starting code from the template (keep what fits, replace the rest and this paragraph): labelled texts from small
local CSV, TSV or JSON-lines files, read with the standard library. CSV and TSV files need a header line; TSV is
read without quote handling (corpora such as SST-2 contain unbalanced quotes). JSON lines: one object per line.
Labels are integers 0..n-1 (named by `label_names`) or strings (indexed in the order of `label_names`, default
sorted). Without a validation file the harness holds out 10% of the training split. Paths are `SuitePath`s: a
relative path is relative to the suite file.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import Example, StageEnvironment, SuitePath, TaskData, hookimpl

NAME = "$name"
FORMATS = (".csv", ".tsv", ".jsonl")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ${Class}Config:
    train: SuitePath
    """Training file (.csv, .tsv or .jsonl)."""
    test: SuitePath
    """Test file (.csv, .tsv or .jsonl)."""
    validation: Optional[SuitePath] = None
    """Optional validation file; without it the harness holds out 10% of train."""
    text_column: str = "text"
    label_column: str = "label"
    label_names: Optional[tuple[str, ...]] = None
    """Names of the integer labels 0..n-1, or the order of string labels; default: from the data."""

    def __post_init__(self) -> None:
        # Messages start with the parameter's name, so `harness validate` points at its line in the suite.
        for split in SPLITS:
            path = getattr(self, split)
            if path is None:
                continue
            if Path(path).suffix.lower() not in FORMATS:
                raise ValueError(f"{split} file {path!r} must end in .csv, .tsv or .jsonl")
            if not Path(path).is_file():
                raise ValueError(f"{split} file {str(Path(path).absolute())!r} does not exist")


def read_rows(path: Path) -> list[dict]:
    """The rows of a CSV, TSV or JSON-lines file as dictionaries."""
    if path.suffix.lower() == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    with path.open(encoding="utf-8", newline="") as stream:
        if path.suffix.lower() == ".tsv":
            return list(csv.DictReader(stream, delimiter="\\t", quoting=csv.QUOTE_NONE))
        return list(csv.DictReader(stream))


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def load(self, env: StageEnvironment) -> TaskData:
        rows = {split: self.read_split(split) for split in SPLITS if getattr(self.config, split) is not None}
        label_names, index_of = self.label_mapping([label for split_rows in rows.values() for _, label in split_rows])
        examples = {split: tuple(Example(id=f"{split}-{row}", text=text, label=index_of[label])
                                 for row, (text, label) in enumerate(split_rows))
                    for split, split_rows in rows.items()}
        return TaskData(name=NAME, label_names=label_names, train=examples["train"],
                        validation=examples.get("validation", ()), test=examples["test"],
                        description=f"local files {self.config.train} and {self.config.test}")

    def read_split(self, split: str) -> list[tuple[str, str]]:
        """(text, label as a string) per row of one split's file."""
        path = Path(getattr(self.config, split))
        rows = read_rows(path)
        if not rows:
            raise ValueError(f"task {NAME!r}: {path} has no rows")
        for column in (self.config.text_column, self.config.label_column):
            if column not in rows[0]:
                raise ValueError(f"task {NAME!r}: {path} has no column {column!r}; it has {', '.join(rows[0])}")
        return [(str(row[self.config.text_column]), str(row[self.config.label_column]).strip()) for row in rows]

    def label_mapping(self, labels: list[str]) -> tuple[tuple[str, ...], dict[str, int]]:
        """(label names, label as written -> label index)."""
        distinct = sorted(set(labels))
        if all(label.isdigit() for label in distinct):  # integer labels: 0..n-1
            count = max(int(label) for label in distinct) + 1
            names = self.config.label_names or tuple(str(index) for index in range(count))
            if len(names) < count:
                raise ValueError(f"task {NAME!r}: labels go up to {count - 1} but label_names has {len(names)} names")
            return tuple(names), {label: int(label) for label in distinct}
        names = self.config.label_names or tuple(distinct)
        unknown = [label for label in distinct if label not in names]
        if unknown:
            raise ValueError(f"task {NAME!r}: labels {unknown[:5]} are not in label_names {list(names)}")
        return tuple(names), {label: names.index(label) for label in distinct}


@hookimpl
def register_tasks(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

FINETUNER_MODULE = '''\
"""Finetuner `$name`: TODO: describe how $name trains a model.

Starting code from the template (keep what fits, replace the rest and this paragraph): full fine-tuning through the
harness's shared training loop. Differs from the built-in `full` in its default learning rate (3e-5) and in
`freeze_embeddings`, which keeps the input word embeddings fixed. Everything else (epochs, batch size, warm-up,
early stopping, adversarial training when a suite asks for it) comes from harness.TrainingSettings and
harness.train_and_save.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import TrainedModel, TrainingSettings, TrainRequest, hookimpl

NAME = "$name"


@dataclass(frozen=True)
class ${Class}Config(TrainingSettings):
    learning_rate: float = 3e-5
    freeze_embeddings: bool = False
    """Keep the input word embeddings fixed: fewer trainable parameters, rare words drift less."""


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def train(self, request: TrainRequest) -> TrainedModel:
        # Imported where used, like the built-in finetuners: the training path is where torch comes in.
        from harness import load_base_classifier, train_and_save

        model, tokenizer = load_base_classifier(request.base, request.data.label_names)
        if self.config.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        return train_and_save(model, tokenizer, request, self.config, is_adapter=False)


@hookimpl
def register_finetuners(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

ATTACK_MODULE = '''\
"""Attack `$name`: TODO: describe how $name changes a text to change the prediction.

Starting code from the template (keep what fits, replace the rest and this paragraph): greedy word deletion. For
each example the model gets right, the attack deletes one word at a time: each step scores every one-word deletion
of the current text in one batched call of classifier.predictor and keeps the one that lowers the probability of the
true label most. It succeeds when the prediction changes, and fails when `max_deleted_words` words are gone, one
word is left, or the next step would exceed `query_budget`. Examples the model already gets wrong are skipped, as
TextAttack skips them. Words are whitespace-separated; the perturbed text joins the remaining words with single
spaces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence

from harness import AttackOutcome, AttackRecord, Classifier, Example, StageEnvironment, hookimpl

NAME = "$name"


@dataclass(frozen=True)
class ${Class}Config:
    max_deleted_words: int = 3
    """Most words deleted from one text."""
    query_budget: Optional[int] = 500
    """Most model queries per example (cache hits included, as TextAttack counts them); null: no limit."""

    def __post_init__(self) -> None:
        # Messages start with the parameter's name, so `harness validate` points at its line in the suite.
        if self.max_deleted_words < 1:
            raise ValueError(f"max_deleted_words must be a positive integer, got {self.max_deleted_words}")
        if self.query_budget is not None and self.query_budget < 1:
            raise ValueError(f"query_budget must be a positive integer or null, got {self.query_budget}")


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def attack(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> AttackOutcome:
        records = [self.attack_one(classifier, example)
                   for example in env.progress(examples, desc=f"attack {NAME}", unit="example")]
        # model_forwards=0: the harness counts the predictor's forwards itself.
        return AttackOutcome(records=tuple(records))

    def attack_one(self, classifier: Classifier, example: Example) -> AttackRecord:
        started = time.perf_counter()
        words = example.text.split()
        original = classifier.predictor.probabilities([example.text])[0]
        queries = 1
        original_prediction = int(original.argmax())
        # Until a deletion changes the prediction, the record describes the unchanged text.
        status = "skipped" if original_prediction != example.label else "failed"
        perturbed_text, perturbed = example.text, original
        remaining = list(words)
        budget = self.config.query_budget
        while status == "failed" and len(words) - len(remaining) < self.config.max_deleted_words and len(remaining) > 1:
            candidates = [" ".join(remaining[:index] + remaining[index + 1:]) for index in range(len(remaining))]
            if budget is not None and queries + len(candidates) > budget:
                break
            probabilities = classifier.predictor.probabilities(candidates)
            queries += len(candidates)
            best = int(probabilities[:, example.label].argmin())
            del remaining[best]
            if int(probabilities[best].argmax()) != example.label:
                status, perturbed_text, perturbed = "successful", candidates[best], probabilities[best]
        perturbed_prediction = int(perturbed.argmax())
        return AttackRecord(
            example_id=example.id, original_text=example.text, perturbed_text=perturbed_text, label=example.label,
            original_prediction=original_prediction, perturbed_prediction=perturbed_prediction,
            original_confidence=float(original[original_prediction]),
            perturbed_confidence=float(perturbed[perturbed_prediction]),
            status=status, num_queries=queries,
            words_perturbed=len(words) - len(remaining) if status == "successful" else 0,
            words_total=len(words), seconds=time.perf_counter() - started)


@hookimpl
def register_attacks(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

AUGMENTER_MODULE = '''\
"""Augmenter `$name`: TODO: describe how $name perturbs a text.

Starting code from the template (keep what fits, replace the rest and this paragraph): it swaps two adjacent
characters inside a seeded share of the words of each text.

- Words are runs of non-space characters; whitespace is kept exactly where it is.
- round(rate x candidate words) words of two or more characters are changed, at least one when rate > 0; in each,
  one pair of adjacent characters is swapped (a pair of equal characters leaves the word as it was).
- Deterministic: the choices depend only on (seed, "$name", text) through harness.text_rng, so a text is
  perturbed the same way in any batch, and another seed perturbs it differently. The empty text comes back as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from harness import StageEnvironment, changes_for, check_rate, hookimpl, text_rng

NAME = "$name"
WORD = re.compile(r"\\S+")


@dataclass(frozen=True)
class ${Class}Config:
    rate: float = 0.2
    """Share of the words (of two or more characters) changed, in [0, 1]."""

    def __post_init__(self) -> None:
        check_rate(self.rate)  # ValueError("rate must be ..."): `harness validate` shows it at the suite line


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def augment(self, texts: Sequence[str], env: StageEnvironment) -> list[str]:
        return [self.perturb(text, env.seed) for text in texts]

    def perturb(self, text: str, seed: int) -> str:
        words = [match.span() for match in WORD.finditer(text) if match.end() - match.start() >= 2]
        count = changes_for(self.config.rate, len(words))
        if count == 0:
            return text
        rng = text_rng(seed, NAME, text)
        characters = list(text)
        for start, end in sorted(rng.sample(words, count)):
            position = rng.randrange(start, end - 1)
            characters[position], characters[position + 1] = characters[position + 1], characters[position]
        return "".join(characters)


@hookimpl
def register_augmenters(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

EXPLAINER_MODULE = '''\
"""Explainer `$name`: TODO: describe how $name scores the words of a text.

Starting code from the template (keep what fits, replace the rest and this paragraph): leave-one-word-out occlusion
through classifier.predictor. A word's score is how much the probability of the explained class (the model's
prediction on the whole text) drops when the word is replaced by `replacement` (by default: deleted). Positive words
support the prediction, negative ones speak against it. Words are runs of non-space characters, with their character
spans. The texts of `batch_size` examples go to the predictor in one call (it batches by length and caches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence

from harness import (Classifier, Example, ExplainerSettings, ExplainOutcome, StageEnvironment, WordAttribution,
                     hookimpl)

NAME = "$name"
WORD = re.compile(r"\\S+")


@dataclass(frozen=True)
class ${Class}Config(ExplainerSettings):
    """ExplainerSettings brings the switches of the quality metrics the harness computes around every explainer
    (faithfulness, stability, randomization_check)."""

    batch_size: int = 16
    """Examples whose occluded texts go to the predictor in one call."""
    replacement: str = ""
    """What stands in for the left-out word; "" deletes it."""


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def explain(self, classifier: Classifier, examples: Sequence[Example], env: StageEnvironment) -> ExplainOutcome:
        attributions: list[WordAttribution] = []
        bar = env.progress(total=len(examples), desc=f"explain {NAME}", unit="example")
        try:
            for start in range(0, len(examples), self.config.batch_size):
                batch = list(examples[start:start + self.config.batch_size])
                attributions.extend(self.explain_batch(classifier, batch))
                bar.update(len(batch))
        finally:
            bar.close()
        return ExplainOutcome(attributions=tuple(attributions))

    def explain_batch(self, classifier: Classifier, examples: list[Example]) -> Iterator[WordAttribution]:
        spans = [tuple(match.span() for match in WORD.finditer(example.text)) for example in examples]
        occluded = [example.text[:start] + self.config.replacement + example.text[end:]
                    for example, example_spans in zip(examples, spans) for start, end in example_spans]
        probabilities = classifier.predictor.probabilities([example.text for example in examples] + occluded)
        position = len(examples)
        for row, (example, example_spans) in enumerate(zip(examples, spans)):
            target = int(probabilities[row].argmax())
            without_word = probabilities[position:position + len(example_spans), target]
            position += len(example_spans)
            yield WordAttribution(
                example_id=example.id,
                words=tuple(example.text[start:end] for start, end in example_spans),
                scores=tuple(float(probabilities[row, target] - value) for value in without_word),
                target=target, label=example.label, spans=example_spans)


@hookimpl
def register_explainers(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

REPORTER_MODULE = '''\
"""Reporter `$name`: TODO: describe what $name writes.

Starting code from the template (keep what fits, replace the rest and this paragraph): a plain-text summary of a
run's results table, for logs and terminals. One line per method, seed, stage, component and metric (value, 95% CI,
n), then the failed stages and the gates. Rendered from the stored run alone, so `harness report RUN_DIR --format
$name` re-renders it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness import ReportRequest, hookimpl

NAME = "$name"
COLUMNS = ("method", "seed", "stage", "component", "metric", "value", "95% CI", "n")


@dataclass(frozen=True)
class ${Class}Config:
    filename: str = "summary.txt"
    """Name of the file written into the run directory."""

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename or "\\\\" in self.filename or self.filename.startswith("."):
            raise ValueError(f"filename must be a plain file name, got {self.filename!r}")


def number(value: Optional[float]) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4g}"


class ${Class}:
    """TODO: describe what $name does."""

    def __init__(self, config: ${Class}Config):
        self.config = config

    def render(self, request: ReportRequest) -> list[Path]:
        from harness import atomic_write_text  # a kill never leaves half a report

        run = request.run
        table = [COLUMNS] + [
            (row.method or "-", str(row.seed), row.stage, row.component or "-", row.metric, number(row.value),
             "-" if row.ci_low is None else f"[{number(row.ci_low)}, {number(row.ci_high)}]",
             "-" if row.n is None else str(row.n))
            for row in run.results]
        widths = [max(len(line[column]) for line in table) for column in range(len(COLUMNS))]
        lines = [f"run {run.manifest.get('run_id', run.run_dir.name)} of suite {run.manifest.get('suite', '?')}: "
                 f"task {run.manifest.get('task', '?')}, model {run.manifest.get('model', '?')}", ""]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
        failed = [stage for stage in run.stages if stage.status == "error"]
        lines += ["", f"failed stages: {len(failed)}"]
        lines += [f"  {stage.stage_id} (plugin {stage.plugin}): {stage.error}" for stage in failed]
        lines += ["", f"gates: {len(run.gates)}"]
        lines += [f"  {'SKIP' if gate.skipped else 'PASS' if gate.passed else 'FAIL'} {gate.description}"
                  for gate in run.gates]
        path = request.output_dir / self.config.filename
        atomic_write_text(path, "\\n".join(lines) + "\\n")
        return [path]


@hookimpl
def register_reporters(register):
    # The description is what `harness plugins` lists: one line saying what $name does.
    register(NAME, ${Class}, config=${Class}Config,
             description="TODO: describe what $name does")
'''

MODULES = {
    "task": TASK_MODULE,
    "finetuner": FINETUNER_MODULE,
    "attack": ATTACK_MODULE,
    "augmenter": AUGMENTER_MODULE,
    "explainer": EXPLAINER_MODULE,
    "reporter": REPORTER_MODULE,
}
