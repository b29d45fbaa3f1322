"""The harness predictor as a TextAttack ModelWrapper. Imported only when an attack needs it.

Sentence pairs: TextAttack represents a pair as an AttackedText over two columns (here "text" and "text_pair",
after Example's fields) and hands the model wrapper (text, text_pair) tuples, which the harness predictor
encodes as pairs. Which columns an attack may modify is `PairSegmentTarget`, a pre-transformation constraint
that goes by column position, so it works whatever the columns are called (TextAttack's own
InputColumnModification only recognises columns literally named premise/hypothesis).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Optional, Sequence

import torch

from harness.core.resources import prepare_nltk_and_textattack

prepare_nltk_and_textattack()  # textattack needs NLTK stopwords to import, and must not try to download

from textattack.shared.utils import logger as _textattack_logger  # noqa: E402

# TextAttack logs a line per attack build at INFO; the harness's progress bar says what is going on.
_textattack_logger.setLevel(logging.WARNING)


class _DropModelClassWarning(logging.Filter):
    """TextAttack warns "Unknown if model of class ... compatible" for any class outside its own model zoo
    (every PEFT-wrapped model, once per attack build). Queries go through the harness predictor, which serves
    any Hugging Face classifier, so the warning says nothing true."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Unknown if model")


if not any(isinstance(existing, _DropModelClassWarning) for existing in _textattack_logger.filters):
    _textattack_logger.addFilter(_DropModelClassWarning())

from textattack.constraints import PreTransformationConstraint  # noqa: E402

from harness.attack.perturbation import installed_versions, text_seed  # noqa: E402
from harness.core.pairs import make_attack_record, model_input  # noqa: E402
from harness.core.types import AttackOutcome, Example, StageEnvironment  # noqa: E402
from harness.modeling.textattack_wrapper import PredictorModelWrapper  # noqa: E402, F401 (its public home here)

PAIR_COLUMNS = ("text", "text_pair")
"""Column names of a sentence pair's AttackedText (the Example fields they come from)."""

SEARCH_LIBRARIES = ("textattack", "transformers", "torch")
"""What a TextAttack search runs on; their versions go into each record (`library_versions`)."""


# Transformations that collect candidate words in a Python set and return list(set): their order follows string
# hashing, which Python randomises per process (PYTHONHASHSEED), so a seeded augmentation or attack that draws or
# breaks ties among the candidates gave different texts in two runs. (class name, method returning candidates)
SET_ORDERED_CANDIDATES = (
    ("WordSwapWordNet", "_get_replacement_words"),
    ("WordSwapInflections", "_get_replacement_words"),
    ("WordInsertionRandomSynonym", "_get_synonyms"),
)


def make_candidate_order_deterministic(transformation: Any) -> None:
    """Sort the candidates of the set-ordered transformations inside `transformation` (composite or not), so the
    same seed gives the same texts in every process. Other transformations keep their own (ranked) order."""
    parts = list(getattr(transformation, "transformations", None) or [transformation])
    for part in parts:
        for class_name, method_name in SET_ORDERED_CANDIDATES:
            if type(part).__name__ != class_name or getattr(part, "_harness_sorted_candidates", False):
                continue
            unsorted = getattr(part, method_name)
            setattr(part, method_name, lambda *args, _unsorted=unsorted, **kwargs: sorted(_unsorted(*args, **kwargs)))
            part._harness_sorted_candidates = True


class PairSegmentTarget(PreTransformationConstraint):
    """Only words of the given columns (by position: 0 = text, 1 = text_pair) of a sentence pair may be modified;
    a single text is left to the other constraints."""

    def __init__(self, segments: tuple[int, ...]):
        self.segments = tuple(segments)

    def _get_modifiable_indices(self, current_text):
        words_per_input = current_text.words_per_input
        if len(words_per_input) < 2:
            return set(range(len(current_text.words)))
        indices, offset = set(), 0
        for column, words in enumerate(words_per_input):
            if column in self.segments:
                indices |= set(range(offset, offset + len(words)))
            offset += len(words)
        return indices

    def extra_repr_keys(self):
        return ["segments"]


def restrict_pair_segments(attack: Any, segments: tuple[int, ...]) -> None:
    """Make a built attack modify only `segments` of sentence pairs: the recipes' InputColumnModification (which
    freezes a column named "premise") gives way to PairSegmentTarget."""
    from textattack.constraints.pre_transformation import InputColumnModification

    attack.pre_transformation_constraints = [
        constraint for constraint in attack.pre_transformation_constraints
        if not isinstance(constraint, (InputColumnModification, PairSegmentTarget))] + [PairSegmentTarget(segments)]


def textattack_input(example: Example) -> Any:
    """What `Attack.attack` takes for the example: its text, or its pair as two columns."""
    if example.text_pair is None:
        return example.text
    from collections import OrderedDict

    return OrderedDict(zip(PAIR_COLUMNS, (example.text, example.text_pair)))


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TimeCapReached(Exception):
    """Raised inside a search whose example has used up its time (caught by run_textattack_attack)."""


class SearchClock:
    """A per-example time cap on a built textattack.Attack, checked before every batch of model queries.

    Every search asks the goal function for results, so the check holds for every recipe; the time between two
    checks (one step's transformations and constraints) is what a cap can overrun by."""

    def __init__(self, goal_function: Any, seconds: Optional[float]):
        self.seconds = seconds
        self.deadline = float("inf")
        if seconds is None:
            return
        get_results = goal_function.get_results

        def get_results_in_time(attacked_text_list: Any, check_skip: bool = False) -> Any:
            if time.perf_counter() > self.deadline:
                raise TimeCapReached
            return get_results(attacked_text_list, check_skip)

        goal_function.get_results = get_results_in_time

    def start(self) -> None:
        if self.seconds is not None:
            self.deadline = time.perf_counter() + self.seconds


def run_textattack_attack(attack: Any, classifier: Any, examples: Sequence[Example], env: StageEnvironment,
                          max_seconds_per_example: Optional[float] = None) -> AttackOutcome:
    """Attack each example with a built textattack.Attack; one AttackRecord per example.

    `attack` must have been built on `classifier.predictor.textattack_wrapper()`, so every query goes through
    the harness predictor (dynamic padding, text->logits cache). The goal function's `query_budget` caps the
    queries per example (an example that runs out failed, as in TextAttack); `max_seconds_per_example` caps its
    time (an example that runs out is skipped: its outcome is unknown). Either is named in `stopped_by`.
    """
    records = []
    forwards_before = classifier.predictor.forwards
    prewarm_first_queries(attack, classifier.predictor, examples)
    clock = SearchClock(attack.goal_function, max_seconds_per_example)
    versions = installed_versions(*SEARCH_LIBRARIES)
    for example in env.progress(examples, desc="attack", unit="example"):
        # Seeded per example: a randomised search (DeepWordBug's character choices) then gives the same result
        # whichever examples ran before it, so reused per-example results and worker slices stay exact. The
        # record keeps the seed, so the example can be replayed with plain TextAttack.
        seed = text_seed(env.seed, "attack", example.id)
        seed_everything(seed)
        started = time.perf_counter()
        clock.start()
        try:
            result = attack.attack(textattack_input(example), example.label)
            record = _record(example, result, attack.goal_function.query_budget, time.perf_counter() - started)
        except TimeCapReached:
            attack.clear_cache()
            record = _capped_record(example, classifier.predictor, attack.goal_function.num_queries,
                                    f"time cap of {max_seconds_per_example:g} s", time.perf_counter() - started)
        records.append(dataclasses.replace(record, seed=seed, library_versions=versions))
    return AttackOutcome(records=tuple(records), model_forwards=classifier.predictor.forwards - forwards_before)


def _record(example: Example, result: Any, query_budget: float, seconds: float) -> Any:
    """The AttackRecord of a TextAttack result."""
    from textattack.attack_results import (
        FailedAttackResult,
        MaximizedAttackResult,
        SkippedAttackResult,
        SuccessfulAttackResult,
    )

    if isinstance(result, SuccessfulAttackResult):
        status = "successful"
    elif isinstance(result, SkippedAttackResult):
        status = "skipped"
    elif isinstance(result, FailedAttackResult):
        status = "failed"
    elif isinstance(result, MaximizedAttackResult):
        # Goals that maximise rather than flip (input reduction): success is having changed the text at all.
        changed = result.perturbed_result.attacked_text.tokenizer_input != model_input(example)
        status = "successful" if changed else "failed"
    else:
        raise TypeError(f"unexpected TextAttack result {type(result).__name__}")
    original = result.original_result
    perturbed = result.perturbed_result
    out_of_queries = status == "failed" and perturbed.num_queries >= query_budget
    return make_attack_record(
        _record_input(original.attacked_text), _record_input(perturbed.attacked_text),
        example_id=example.id,
        label=example.label,
        original_prediction=int(original.output),
        perturbed_prediction=int(perturbed.output),
        original_confidence=_top_probability(original.raw_output),
        perturbed_confidence=_top_probability(perturbed.raw_output),
        status=status,
        num_queries=int(perturbed.num_queries),
        words_perturbed=_words_changed(original.attacked_text, perturbed.attacked_text) if status == "successful"
        else 0,
        words_total=len(original.attacked_text.words),
        seconds=seconds,
        stopped_by=f"query budget of {int(query_budget)} queries" if out_of_queries else None,
    )


def _capped_record(example: Example, predictor: Any, num_queries: int, cap: Optional[str],
                   seconds: float) -> Any:
    """The record of an example whose search a cap stopped before it decided: skipped, the text unchanged.

    One the model gets wrong is skipped as it would have been anyway (not attacked), and names no cap."""
    from textattack.shared import AttackedText

    value = model_input(example)
    probabilities = predictor.probabilities([value])[0]  # the search's first query: a cache hit
    prediction = int(probabilities.argmax())
    if prediction != example.label:
        cap = None
    return make_attack_record(
        value, value, example_id=example.id, label=example.label,
        original_prediction=prediction, perturbed_prediction=prediction,
        original_confidence=float(probabilities[prediction]), perturbed_confidence=float(probabilities[prediction]),
        status="skipped", num_queries=int(num_queries), words_perturbed=0,
        words_total=len(AttackedText(textattack_input(example)).words), seconds=seconds, stopped_by=cap)


def prewarm_first_queries(attack: Any, predictor: Any, examples: Sequence[Example]) -> None:
    """Batch across examples what every example's search asks first, so it runs in a few full batches.

    TextAttack attacks one example at a time, and its first queries for an example are its original text and,
    for searches ordered by word importance ("unk" / "delete" / weighted saliency), one leave-one-out text per
    attackable word. Those do not depend on the search's later choices, so the harness scores them for all
    examples in one call; the per-example searches then find them in the predictor's text->logits cache (the
    ranking's queries are these, not a second forward). The texts are built with TextAttack's own functions, so
    the searches and their query counts are unchanged; no more are scored than the goal function's query budget
    lets the search ask for.
    """
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.shared import AttackedText

    texts = [model_input(example) for example in examples]
    search = attack.search_method
    budget = attack.goal_function.query_budget
    if isinstance(search, GreedyWordSwapWIR) and search.wir_method in ("unk", "delete", "weighted-saliency"):
        for example in examples:
            initial = AttackedText(textattack_input(example))
            _, indices = attack.get_indices_to_order(initial)
            for index in indices[:max(0, int(budget) - 1)] if budget < float("inf") else indices:
                if search.wir_method == "delete":
                    texts.append(initial.delete_word_at_index(index).tokenizer_input)
                else:
                    texts.append(initial.replace_word_at_index(index, search.unk_token).tokenizer_input)
    predictor.logits(texts)


def _record_input(attacked_text: Any) -> Any:
    """The text of an AttackedText, or its (text, text_pair) for a pair."""
    value = attacked_text.tokenizer_input
    return value if isinstance(value, str) else tuple(value)


def _words_changed(original: Any, perturbed: Any) -> int:
    """Words swapped; for attacks that delete or insert words, how many were removed or added."""
    if len(original.words) == len(perturbed.words):
        return len(original.all_words_diff(perturbed))
    return abs(len(original.words) - len(perturbed.words))


def _top_probability(raw_output: Any) -> float:
    """TextAttack keeps raw outputs as probabilities (tensor or array); be safe and renormalise if they are logits."""
    values = torch.as_tensor(raw_output, dtype=torch.float32).flatten()
    if values.min() < 0 or abs(float(values.sum()) - 1.0) > 1e-3:
        values = values.softmax(dim=-1)
    return float(values.max())
