"""Adversarial distractors for extractive QA, as Jia & Liang (2017) test reading comprehension: a sentence inserted
into the context that a reader must ignore. A QA attack (`harness.QAAttack`: a component whose object has
`insert_distractors`) makes one `Distraction` per question; the attack stage (`attack_metrics`) answers each
question with and without it and scores both answers as the official SQuAD script scores them.

Built-in attacks: `add-sent` (a sentence made from the question with its entities, numbers and words altered, holding
a fake answer of the answer's type: harness.kinds.qa.distractors) and `add-any` (a few words chosen by a search
that lowers the gold span's probability: harness.kinds.qa.add_any).

Reported (proportions with Wilson intervals, F1 means with bootstrap intervals over questions):
`original_exact_match` / `original_f1` (the attacked questions without the distractor), `exact_match_under_attack`
/ `f1_under_attack`, `f1_drop` (their paired difference), `answer_in_distractor_rate` (answers that overlap the
inserted text: the reader took the bait), `answer_change_rate` (answers that are not the same after normalisation),
with unanswerable questions `has_answer_f1_under_attack` and `no_answer_f1_under_attack`, and `attacked_examples`,
`skipped_examples` (a question an attack cannot serve: AddAny has no gold span to lower on an unanswerable one),
`model_forwards`, `seconds_per_example`. records/qa-attack.jsonl holds each question's distractor and both
answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence

import numpy as np

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.types import Metric, StageEnvironment, TaskData
from harness.kinds.qa.examples import QAExample, answer_problem
from harness.kinds.qa.squad_metrics import exact_match, f1, has_answer, normalize_answer
from harness.kinds.qa.windows import SpanPrediction


@dataclass(frozen=True)
class Distraction:
    """One question's adversarial context: `attacked` is the example with `distractor` inserted at
    `attacked.context[inserted[0]:inserted[1]]` and its answers moved with the text around them; None when the
    attack skipped the question (`reason` says why)."""

    example_id: str
    attacked: Optional[QAExample]
    inserted: tuple[int, int] = (0, 0)
    distractor: str = ""
    fake_answer: str = ""
    """The fake answer the distractor holds (AddSent), "" when it holds none (AddAny)."""
    reason: str = ""
    queries: int = 0
    """Model inputs the attack scored to build it (0 for a model-free attack)."""


class QAAttack(Protocol):
    """What a component serving the `extractive-qa` kind's attack stage returns from its factory."""

    def insert_distractors(self, classifier: Any, examples: Sequence[QAExample], task: TaskData,
                           env: StageEnvironment) -> Sequence[Distraction]:
        """One Distraction per example, in order (the classifier is a LoadedClassifier whose `predictor` is a
        harness.QAPredictor; a model-free attack may ignore it)."""
        ...


def check_distractions(ref: Any, examples: Sequence[QAExample], distractions: Any) -> list[Distraction]:
    """The attack's output, checked: one Distraction per example with its id, and each attacked example's answers
    still the context's text at their offsets, the distractor where it says it is."""
    name = f"attack {ref.name!r}"
    if not isinstance(distractions, (list, tuple)) or len(distractions) != len(examples):
        raise PluginError(ref.plugin, f"{name} must return one Distraction per question ({len(examples)})")
    for example, distraction in zip(examples, distractions):
        if not isinstance(distraction, Distraction) or distraction.example_id != example.id:
            raise PluginError(ref.plugin, f"{name} must return Distractions with the questions' ids, in order "
                                          f"(expected {example.id!r})")
        attacked = distraction.attacked
        if attacked is None:
            continue
        start, end = distraction.inserted
        problem = answer_problem(attacked)
        if problem is None and [answer.text for answer in attacked.answers] != [a.text for a in example.answers]:
            problem = "its answers are not the question's"
        if problem is None and attacked.context[start:end] != distraction.distractor:
            problem = f"the context does not hold the distractor at {start}..{end}"
        if problem is not None:
            raise PluginError(ref.plugin, f"{name}: question {example.id!r}: {problem}")
    return list(distractions)


def overlaps(prediction: SpanPrediction, span: tuple[int, int]) -> bool:
    """Whether a (non-empty) answer shares characters with span."""
    return bool(prediction.text) and prediction.start < span[1] and span[0] < prediction.end


def shifted(prediction: SpanPrediction, inserted_at: int, added: int) -> tuple[int, int]:
    """The clean answer's characters in the attacked context: moved by the `added` characters (the distractor and
    the space that joins it) when it lies after where they went in."""
    if not prediction.text:
        return 0, 0
    move = added if prediction.start >= inserted_at else 0
    return prediction.start + move, prediction.end + move


def attack_metrics(attacker: Any, ref: Any, classifier: Any, examples: Sequence[QAExample], task: TaskData,
                   building: Path, env: StageEnvironment, seed: int, allow_impossible: bool) -> list[Metric]:
    """Run a QA attack on `examples` and score it (see the module docstring)."""
    started = time.perf_counter()
    forwards_before = classifier.predictor.forwards
    distractions = check_distractions(ref, examples, attacker.insert_distractors(classifier, examples, task, env))
    predictor = classifier.predictor
    before = predictor.answer_examples(examples, allow_impossible)
    done = [(example, distraction, prediction) for example, distraction, prediction
            in zip(examples, distractions, before) if distraction.attacked is not None]
    after = predictor.answer_examples([distraction.attacked for _, distraction, _ in done], allow_impossible)
    seconds = time.perf_counter() - started
    rows = [attacked_row(example, distraction, clean, attacked)
            for (example, distraction, clean), attacked in zip(done, after)]
    write_jsonl(building / "records" / "qa-attack.jsonl", ordered_records(ref.name, examples, distractions, rows))
    golds = [[answer.text for answer in example.answers] for example, _, _ in done]
    f1_before = np.array([row["f1_before"] for row in rows], dtype=np.float64)
    f1_after = np.array([row["f1_after"] for row in rows], dtype=np.float64)
    metrics = [
        proportion_metric("original_exact_match", [row["exact_match_before"] for row in rows]),
        bootstrap_metric("original_f1", f1_before, seed=seed),
        proportion_metric("exact_match_under_attack", [row["exact_match_after"] for row in rows]),
        bootstrap_metric("f1_under_attack", f1_after, seed=seed),
        bootstrap_metric("f1_drop", f1_before - f1_after, seed=seed),
        proportion_metric("answer_in_distractor_rate", [row["in_distractor"] for row in rows]),
        proportion_metric("answer_change_rate", [row["answer_changed"] for row in rows]),
    ]
    if any(not has_answer(gold) for gold in golds):
        answerable = np.array([has_answer(gold) for gold in golds])
        metrics += [bootstrap_metric("has_answer_f1_under_attack", f1_after[answerable], seed=seed),
                    bootstrap_metric("no_answer_f1_under_attack", f1_after[~answerable], seed=seed)]
    queries = sum(distraction.queries for distraction in distractions)
    return [*metrics,
            Metric("attacked_examples", float(len(rows)), n=len(examples)),
            Metric("skipped_examples", float(len(examples) - len(rows)), n=len(examples)),
            Metric("attack_queries", float(queries), n=len(examples)),
            Metric("model_forwards", float(predictor.forwards - forwards_before), n=len(examples)),
            Metric("seconds_per_example", seconds / len(examples) if examples else float("nan"), n=len(examples))]


def attacked_row(example: QAExample, distraction: Distraction, clean: SpanPrediction,
                 attacked: SpanPrediction) -> dict[str, Any]:
    """The record of one attacked question: its distractor, its gold answers and both answers (characters of the
    attacked context), and how each scores."""
    golds = [answer.text for answer in example.answers]
    assert distraction.attacked is not None
    before_start, before_end = shifted(clean, distraction.inserted[0],
                                       len(distraction.attacked.context) - len(example.context))
    return {
        "example_id": example.id, "status": "attacked", "reason": "", "question": example.question,
        "context": distraction.attacked.context, "distractor": distraction.distractor,
        "distractor_start": distraction.inserted[0], "distractor_end": distraction.inserted[1],
        "fake_answer": distraction.fake_answer,
        "gold_answers": [{"text": answer.text, "start": answer.start} for answer in distraction.attacked.answers],
        "answer_before": clean.text, "answer_before_start": before_start, "answer_before_end": before_end,
        "answer_after": attacked.text, "answer_after_start": attacked.start, "answer_after_end": attacked.end,
        "exact_match_before": exact_match(clean.text, golds), "f1_before": f1(clean.text, golds),
        "exact_match_after": exact_match(attacked.text, golds), "f1_after": f1(attacked.text, golds),
        "in_distractor": overlaps(attacked, distraction.inserted),
        "answer_changed": normalize_answer(clean.text) != normalize_answer(attacked.text),
    }


def ordered_records(strategy: str, examples: Sequence[QAExample], distractions: Sequence[Distraction],
                    rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every question's record in the split's order: the attacked ones' rows, a skipped one with its reason."""
    by_id = {row["example_id"]: row for row in rows}
    records = []
    for example, distraction in zip(examples, distractions):
        row = by_id.get(example.id) or {
            "example_id": example.id, "status": "skipped", "reason": distraction.reason or "skipped by the attack",
            "question": example.question, "context": example.context}
        records.append({"strategy": strategy, **row})
    return records
