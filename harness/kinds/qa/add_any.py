"""AddAny (Jia & Liang 2017, "Adversarial Examples for Evaluating Reading Comprehension Systems", section 3.3): a
distractor of a few words, none of them meaningful together, chosen by a local search against the model.

The distractor starts as `words` words drawn from the search vocabulary; each sweep visits every position and
tries `candidates` words there (drawn afresh each time), keeping the one under which the model is least sure of
the gold answer: the search minimises the gold span's log-probability (log P(start) + log P(end),
harness.kinds.qa.predictor.gold_log_probabilities; the paper minimised the expected F1 of the model's top
answers, a flatter objective that needs more queries). It stops after `sweeps` sweeps, or as soon as the
model's answer no longer overlaps a gold answer. All candidates of a position are scored in one batch.

The vocabulary is what the paper draws from, built offline: the most frequent words of the task's contexts
(the paper: the 1,000 most frequent English words) plus the question's own words (which make the distractor look
relevant to it). Questions without an answer have no gold span to lower and are skipped. Every draw comes from a
generator seeded with the run's seed and the question's id, so a question gets the same distractor in every run.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from harness.kinds.qa.attacking import Distraction
from harness.kinds.qa.distractors import insert_sentence
from harness.kinds.qa.examples import QAExample
from harness.kinds.qa.predictor import gold_log_probabilities
from harness.kinds.qa.squad_metrics import f1

WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class AddAnySettings:
    words: int = 10
    """Words in the distractor (the paper: 10)."""
    candidates: int = 20
    """Words tried at a position per sweep (the paper: 20)."""
    sweeps: int = 2
    """Passes over the positions (the paper: up to 3)."""
    vocabulary_size: int = 1000
    """The most frequent context words the search draws from, besides the question's words."""
    position: Literal["end", "start", "random"] = "end"
    """Where the distractor goes: "end" (the paper), "start" or "random" (a sentence boundary)."""

    def __post_init__(self):
        if min(self.words, self.candidates, self.sweeps, self.vocabulary_size) < 1:
            raise ValueError("words, candidates, sweeps and vocabulary_size must be positive integers")
        if self.position not in ("end", "start", "random"):
            raise ValueError(f"position must be end, start or random, got {self.position!r}")


def common_words(examples: Sequence[QAExample], size: int) -> tuple[str, ...]:
    """The `size` most frequent lower-case words of the examples' contexts (ties in order of appearance)."""
    counts: Counter[str] = Counter()
    seen_contexts: set[str] = set()
    for example in examples:
        if example.context not in seen_contexts:  # SQuAD asks several questions about each paragraph
            seen_contexts.add(example.context)
            counts.update(word.lower() for word in WORD.findall(example.context))
    return tuple(word for word, _ in counts.most_common(size))


def add_any(classifier: Any, examples: Sequence[QAExample], vocabulary: Sequence[str], settings: AddAnySettings,
            seed: int, progress: Any = None) -> list[Distraction]:
    """One AddAny distraction per example (see the module docstring); `progress` (tqdm-like) advances per
    question."""
    distractions = []
    for example in examples:
        distractions.append(_search(classifier, example, vocabulary, settings, seed))
        if progress is not None:
            progress.update(1)
    return distractions


def _search(classifier: Any, example: QAExample, vocabulary: Sequence[str], settings: AddAnySettings,
            seed: int) -> Distraction:
    if example.is_impossible:
        return Distraction(example.id, None, reason="unanswerable: no gold span whose probability to lower")
    rng = random.Random(f"add-any:{seed}:{example.id}")
    placement_seed = rng.random()
    pool = list(dict.fromkeys([*vocabulary, *(word.lower() for word in WORD.findall(example.question))]))
    words = [rng.choice(pool) for _ in range(settings.words)]
    queries = 0
    for _ in range(settings.sweeps):
        for position in range(settings.words):
            options = list(dict.fromkeys([words[position], *rng.sample(pool, min(settings.candidates, len(pool)))]))
            trials = [_placed(example, words[:position] + [option] + words[position + 1:], settings.position,
                              placement_seed) for option in options]
            scores = _gold_scores(classifier, trials)
            queries += len(trials)
            words[position] = options[min(range(len(options)), key=scores.__getitem__)]
        attacked, inserted = _placed(example, words, settings.position, placement_seed)
        queries += 1
        if _answer_left_gold(classifier, attacked):
            break
    attacked, inserted = _placed(example, words, settings.position, placement_seed)
    return Distraction(example.id, attacked, inserted, attacked.context[inserted[0]:inserted[1]], queries=queries)


def _placed(example: QAExample, words: Sequence[str], position: str,
            placement_seed: float) -> tuple[QAExample, tuple[int, int]]:
    """The example with the words inserted as a sentence; the same place for every candidate of a search."""
    return insert_sentence(example, " ".join(words) + ".", position, random.Random(placement_seed))


def _gold_scores(classifier: Any, trials: Sequence[tuple[QAExample, tuple[int, int]]]) -> list[float]:
    """Per trial, the best log-probability the model gives any of the question's gold spans."""
    questions, contexts, spans, owners = [], [], [], []
    for number, (attacked, _) in enumerate(trials):
        for answer in dict.fromkeys((answer.start, answer.end) for answer in attacked.answers):
            questions.append(attacked.question)
            contexts.append(attacked.context)
            spans.append(answer)
            owners.append(number)
    predictor = classifier.predictor
    scores = gold_log_probabilities(predictor.model, predictor.tokenizer, questions, contexts, spans, predictor.device,
                                    predictor.max_length, predictor.batch_size, predictor.settings)
    predictor.forwards += len(questions)
    best = [float("-inf")] * len(trials)
    for owner, score in zip(owners, scores):
        best[owner] = max(best[owner], score)
    return best


def _answer_left_gold(classifier: Any, attacked: QAExample) -> bool:
    """Whether the model's answer to the attacked question misses every gold answer (F1 0): the search's goal."""
    prediction = classifier.predictor.answer_examples([attacked])[0]
    return f1(prediction.text, [answer.text for answer in attacked.answers]) == 0.0
