"""Perturbations of extractive-QA examples that keep the gold answers where they are: any text augmenter (the
native perturbations, TextAttack's augmenters, a third-party `augment(texts, env)`) applied to the question, the
context or both (`pair_target` of the augmenter's config: "first" is the question, "second" the context, the
default, as for sentence pairs: the model reads (question, context)).

A context is cut at its answers: the text between answers is perturbed piece by piece, the answers themselves
never (a perturbed answer would no longer be the gold answer), and the answers' offsets are recomputed from the
perturbed pieces, so every answer of a perturbed example is still the context's text at its offset. Each piece
keeps its own leading and trailing whitespace, so an augmenter that strips or rejoins whitespace cannot glue a
word onto an answer; a piece without a letter (the punctuation between two answers) is kept as it is. All the
pieces of all examples go to the augmenter in one call, so it batches as it does on texts.

The perturb stage (`perturb_metrics`) answers the original and the perturbed questions and reports
`original_f1`, `perturbed_exact_match`, `perturbed_f1` and `f1_drop` (bootstrap intervals over questions for F1,
Wilson for exact match), `answer_change_rate` (answers that differ after SQuAD normalisation, Wilson) and
`changed_example_rate`; records/qa-perturb.jsonl holds both versions of each question with both answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from harness.core.errors import PluginError
from harness.core.files import write_jsonl
from harness.core.statistics import bootstrap_metric, proportion_metric
from harness.core.types import Metric
from harness.kinds.qa.examples import Answer, QAExample, answer_problem
from harness.kinds.qa.squad_metrics import exact_match, f1, normalize_answer

PerturbTexts = Callable[[list[str]], list[str]]
TARGETS = {"first": (True, False), "second": (False, True), "both": (True, True)}
"""pair_target -> (perturb the question, perturb the context)."""
TARGET_NAMES = {"first": "question", "second": "context", "both": "both"}


def protected_spans(example: QAExample) -> list[tuple[int, int]]:
    """The context's answer spans, overlapping or touching ones merged, in order."""
    merged: list[list[int]] = []
    for start, end in sorted((answer.start, answer.end) for answer in example.answers):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _split_whitespace(text: str) -> tuple[str, str, str]:
    core = text.strip()
    if not core:
        return text, "", ""
    lead = text[:len(text) - len(text.lstrip())]
    return lead, core, text[len(lead) + len(core):]


def _pieces(example: QAExample) -> tuple[list[str], list[tuple[int, int]]]:
    """The context between the answers (len(spans) + 1 pieces, some maybe empty) and the answer spans."""
    spans = protected_spans(example)
    bounds = [0, *(position for span in spans for position in span), len(example.context)]
    return [example.context[bounds[2 * i]:bounds[2 * i + 1]] for i in range(len(spans) + 1)], spans


def perturb_examples(examples: Sequence[QAExample], perturb_texts: PerturbTexts,
                     pair_target: str = "second") -> list[QAExample]:
    """Each example with its question and/or context (`pair_target`) perturbed by `perturb_texts` (one call over
    every text to change), its answers' offsets recomputed (see the module docstring)."""
    question_too, context_too = TARGETS[pair_target]
    wanted: list[str] = []
    layouts = []
    for example in examples:
        if question_too:
            wanted.append(example.question)
        pieces, spans = _pieces(example) if context_too else ([], [])
        parts = [_split_whitespace(piece) for piece in pieces]
        wanted.extend(core for _, core, _ in parts if any(character.isalpha() for character in core))
        layouts.append((parts, spans))
    changed = iter(perturb_texts(wanted))
    results = []
    for example, (parts, spans) in zip(examples, layouts):
        question = next(changed) if question_too else example.question
        if not context_too:
            results.append(QAExample(example.id, question, example.context, example.answers, example.title))
            continue
        context, moved = "", {}
        for number, (lead, core, trail) in enumerate(parts):
            new_core = next(changed) if any(character.isalpha() for character in core) else core
            context += lead + new_core + trail
            if number < len(spans):
                moved[spans[number][0]] = len(context)
                context += example.context[spans[number][0]:spans[number][1]]
        answers = tuple(Answer(answer.text, _new_start(answer, spans, moved)) for answer in example.answers)
        results.append(QAExample(example.id, question, context, answers, example.title))
    return results


def _new_start(answer: Answer, spans: Sequence[tuple[int, int]], moved: dict[int, int]) -> int:
    span_start = next(start for start, end in spans if start <= answer.start < end)
    return moved[span_start] + answer.start - span_start


def checked_perturbation(ref: Any, examples: Sequence[QAExample], perturbed: Sequence[QAExample]) -> None:
    """Every perturbed example keeps its answers at their offsets; a failure is the augmenter's (e.g. one that
    returned another text than asked)."""
    for example, result in zip(examples, perturbed):
        problem = answer_problem(result)
        if problem is not None:
            raise PluginError(ref.plugin, f"perturbation {ref.name!r}: question {example.id!r} after perturbation: "
                                          f"{problem}")


def perturb_metrics(ref: Any, classifier: Any, examples: Sequence[QAExample], perturbed: Sequence[QAExample],
                    pair_target: str, building: Path, seed: int, allow_impossible: bool) -> list[Metric]:
    """Answer the original and the perturbed questions; score both and write records/qa-perturb.jsonl."""
    checked_perturbation(ref, examples, perturbed)
    before = classifier.predictor.answer_examples(examples, allow_impossible)
    after = classifier.predictor.answer_examples(perturbed, allow_impossible)
    records = []
    for example, changed, clean, answer in zip(examples, perturbed, before, after):
        golds = [gold.text for gold in example.answers]
        records.append({
            "example_id": example.id, "target": TARGET_NAMES[pair_target],
            "changed": (changed.question, changed.context) != (example.question, example.context),
            "original_question": example.question, "perturbed_question": changed.question,
            "original_context": example.context, "perturbed_context": changed.context,
            "gold_answers": [{"text": gold.text, "start": gold.start} for gold in example.answers],
            "perturbed_gold_answers": [{"text": gold.text, "start": gold.start} for gold in changed.answers],
            "answer_before": clean.text, "answer_before_start": clean.start, "answer_before_end": clean.end,
            "answer_after": answer.text, "answer_after_start": answer.start, "answer_after_end": answer.end,
            "exact_match_before": exact_match(clean.text, golds), "f1_before": f1(clean.text, golds),
            "exact_match_after": exact_match(answer.text, golds), "f1_after": f1(answer.text, golds),
            "answer_changed": normalize_answer(clean.text) != normalize_answer(answer.text)})
    write_jsonl(building / "records" / "qa-perturb.jsonl", records)
    f1_before = np.array([record["f1_before"] for record in records], dtype=np.float64)
    f1_after = np.array([record["f1_after"] for record in records], dtype=np.float64)
    return [bootstrap_metric("original_f1", f1_before, seed=seed),
            proportion_metric("perturbed_exact_match", [record["exact_match_after"] for record in records]),
            bootstrap_metric("perturbed_f1", f1_after, seed=seed),
            bootstrap_metric("f1_drop", f1_before - f1_after, seed=seed),
            proportion_metric("answer_change_rate", [record["answer_changed"] for record in records]),
            Metric("changed_example_rate", sum(record["changed"] for record in records) / max(1, len(records)),
                   n=len(records))]
