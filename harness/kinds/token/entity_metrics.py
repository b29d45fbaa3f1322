"""Entity-level scores of a tagger (named-entity recognition), compatible with seqeval's default mode.

Entities are read from tag sequences exactly as seqeval 1.2.2 reads them by default (`mode=None`, which its
documentation calls "compatible with conlleval.pl"), by a port of its `get_entities`, `start_of_chunk` and
`end_of_chunk`, so that a score here is the score every NER paper reports:

- A tag is "O", or a prefix B, I, E or S, a dash and a type ("B-PER"). One reading serves IOB1, IOB2, IOE and
  IOBES alike, so files need not be converted before they are scored.
- An entity starts at B- or S-, and also at an I- (or E-) that does not continue an entity of its type: an I-PER
  after "O", at the start of a sentence, or after an entity of another type starts a new PER entity (the
  conlleval reading of IOB1 data, and of a model that predicts I- without B-).
- An entity ends before B-, S- and "O", after E- and S-, and wherever the type changes.
- Sentences never share an entity (seqeval joins sentences with an "O" between them).

Scores: an entity counts as correct only when its type, start and end are all right. Precision = correct /
predicted, recall = correct / gold, F1 = 2PR / (P + R), each 0 when its denominator is 0 (seqeval's
zero_division default, without its warning). Micro scores pool the counts of every type (seqeval's
`average="micro"`, the number papers report); macro F1 is the unweighted mean of the per-type F1s over the types
that occur in the gold or the predicted tags (`average="macro"`).

Unlike seqeval, a tag that is none of the above (e.g. "X-PER", "PER") is an error rather than a warning: the
harness produces the tags itself, so a malformed one is a bug to surface, not noise to score.

Confidence intervals: a percentile bootstrap over sentences (seeded), which resamples whole sentences because
entities within a sentence are not independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from harness.core.types import Metric

OUTSIDE = "O"
_PREFIXES = ("B", "I", "E", "S")


@dataclass(frozen=True, order=True)
class Entity:
    """One entity of a sentence: tokens[start:end] (end exclusive, unlike seqeval's inclusive end)."""

    start: int
    end: int
    type: str


def split_tag(tag: str) -> tuple[str, str]:
    """(prefix, type) of a tag: ("O", "") for "O", ("B", "PER") for "B-PER". ValueError for anything else."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, dash, entity_type = tag.partition("-")
    if prefix not in _PREFIXES or not dash or not entity_type:
        raise ValueError(f"tag {tag!r} is not 'O' nor a prefix B-, I-, E- or S- followed by an entity type")
    return prefix, entity_type


def _ends(previous_prefix: str, prefix: str, previous_type: str, entity_type: str) -> bool:
    # seqeval's end_of_chunk: whether the entity open at the previous token closes before this one.
    if previous_prefix in ("E", "S"):
        return True
    if previous_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return previous_prefix != "O" and previous_type != entity_type


def _starts(previous_prefix: str, prefix: str, previous_type: str, entity_type: str) -> bool:
    # seqeval's start_of_chunk: an I- or E- that does not continue an entity of its own type starts one.
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and previous_prefix in ("E", "S", "O"):
        return True
    return prefix != "O" and previous_type != entity_type


def extract_entities(tags: Sequence[str]) -> tuple[Entity, ...]:
    """The entities of one sentence's tags, in order (seqeval's default reading; see the module docstring)."""
    entities = []
    previous_prefix, previous_type, begin = OUTSIDE, "", 0
    # A trailing "O" closes an entity that runs to the end of the sentence, as in seqeval.
    for index, tag in enumerate([*tags, OUTSIDE]):
        try:
            prefix, entity_type = split_tag(tag)
        except ValueError as error:
            raise ValueError(f"token {index}: {error}") from None
        if _ends(previous_prefix, prefix, previous_type, entity_type):
            entities.append(Entity(begin, index, previous_type))
        if _starts(previous_prefix, prefix, previous_type, entity_type):
            begin = index
        previous_prefix, previous_type = prefix, entity_type
    return tuple(entities)


def entities_to_iob2(entities: Sequence[Entity], length: int) -> tuple[str, ...]:
    """IOB2 tags of `length` tokens carrying `entities` (which must not overlap)."""
    tags = [OUTSIDE] * length
    for entity in entities:
        if not 0 <= entity.start < entity.end <= length:
            raise ValueError(f"entity {entity} lies outside a sentence of {length} tokens")
        if any(tag != OUTSIDE for tag in tags[entity.start:entity.end]):
            raise ValueError(f"entity {entity} overlaps another")
        tags[entity.start] = f"B-{entity.type}"
        for index in range(entity.start + 1, entity.end):
            tags[index] = f"I-{entity.type}"
    return tuple(tags)


def normalise_to_iob2(tags: Sequence[str]) -> tuple[str, ...]:
    """The IOB2 tags that carry the same entities as `tags` (any scheme): what is scored is what is written."""
    return entities_to_iob2(extract_entities(tags), len(tags))


def decode_tags(indices: Sequence[int], label_names: Sequence[str]) -> tuple[str, ...]:
    """Tag indices (TokenExample.tags, a model's argmax) as tag names."""
    return tuple(label_names[index] for index in indices)


# ----------------------------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class EntityCounts:
    """Entity counts of one type (or all types pooled) and the scores they give."""

    correct: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


def _f1(precision: float, recall: float) -> float:
    # seqeval's formula (with beta = 1) on the rounded precision and recall, so the floats agree to the last bit.
    denominator = precision + recall
    return 2 * precision * recall / denominator if denominator else 0.0


@dataclass(frozen=True)
class EntityScores:
    """Corpus-level entity scores."""

    micro: EntityCounts
    per_type: Mapping[str, EntityCounts]
    """Every type found in the gold or the predicted tags, sorted by name."""
    sentences: int

    @property
    def macro_f1(self) -> float:
        return sum(counts.f1 for counts in self.per_type.values()) / len(self.per_type) if self.per_type else 0.0


def _check_pairs(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted ones")


def _sentence_counts(gold_tags: Sequence[str], predicted_tags: Sequence[str],
                     where: str) -> dict[str, tuple[int, int, int]]:
    """type -> (correct, predicted, gold) in one sentence."""
    try:
        gold_entities = set(extract_entities(gold_tags))
    except ValueError as error:
        raise ValueError(f"{where} gold tags, {error}") from None
    try:
        predicted_entities = set(extract_entities(predicted_tags))
    except ValueError as error:
        raise ValueError(f"{where} predicted tags, {error}") from None
    counts: dict[str, list[int]] = {}
    for entity in predicted_entities:
        counts.setdefault(entity.type, [0, 0, 0])[1] += 1
        if entity in gold_entities:
            counts[entity.type][0] += 1
    for entity in gold_entities:
        counts.setdefault(entity.type, [0, 0, 0])[2] += 1
    return {entity_type: (c[0], c[1], c[2]) for entity_type, c in counts.items()}


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> EntityScores:
    """Micro and per-type entity precision, recall and F1 of a corpus (seqeval's default mode)."""
    _check_pairs(gold, predicted)
    totals: dict[str, list[int]] = {}
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        for entity_type, counts in _sentence_counts(gold_tags, predicted_tags, f"sentence {index}").items():
            total = totals.setdefault(entity_type, [0, 0, 0])
            for position in range(3):
                total[position] += counts[position]
    per_type = {entity_type: EntityCounts(*totals[entity_type]) for entity_type in sorted(totals)}
    micro = EntityCounts(*(sum(counts[position] for counts in totals.values()) for position in range(3)))
    return EntityScores(micro=micro, per_type=per_type, sentences=len(gold))


def sentence_f1(gold_tags: Sequence[str], predicted_tags: Sequence[str], *, empty: float = 1.0) -> float:
    """Entity F1 of one sentence. `empty`: the score of a sentence without gold or predicted entities, where F1 is
    undefined. Default 1.0 (nothing to find, nothing wrongly found), whereas seqeval says 0.0 (with a warning):
    corpus scores are unaffected, but a per-sentence average should not punish empty sentences."""
    scores = entity_scores([gold_tags], [predicted_tags])
    if scores.micro.gold == 0 and scores.micro.predicted == 0:
        return empty
    return scores.micro.f1


# ----------------------------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapScores:
    """Entity scores with percentile-bootstrap confidence intervals (resampling sentences)."""

    scores: EntityScores
    precision: Interval
    recall: Interval
    f1: Interval
    per_type_f1: Mapping[str, Interval]
    resamples: int
    confidence: float
    seed: int


def bootstrap_entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *,
                            resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> BootstrapScores:
    """Entity scores and percentile-bootstrap intervals: `resamples` corpora of as many sentences drawn with
    replacement (numpy's default_rng(seed), so the interval is the same run after run), each scored by pooling
    its sentences' counts as the corpus score does."""
    import numpy as np

    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    scores = entity_scores(gold, predicted)
    types = list(scores.per_type)
    count = len(gold)
    # One row per sentence: (correct, predicted, gold) per type, so a resample's counts are weights @ rows.
    rows = np.zeros((count, len(types), 3), dtype=np.int64)
    column = {entity_type: position for position, entity_type in enumerate(types)}
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        for entity_type, counts in _sentence_counts(gold_tags, predicted_tags, f"sentence {index}").items():
            rows[index, column[entity_type]] = counts
    if count == 0:
        zero = Interval(0.0, 0.0, 0.0)
        return BootstrapScores(scores, zero, zero, zero, {}, resamples, confidence, seed)
    rng = np.random.default_rng(seed)
    # How often each sentence is drawn in each resample: the same distribution as drawing indices, but the
    # pooled counts are then one matrix product instead of a (resamples x sentences x types) gather.
    weights = rng.multinomial(count, np.full(count, 1.0 / count), size=resamples)
    # Float matrix product (BLAS); counts stay exact integers far below 2**53.
    pooled = (weights.astype(np.float64) @ rows.reshape(count, -1).astype(np.float64)).reshape(
        resamples, len(types), 3)
    micro = pooled.sum(axis=1)  # (resamples, 3)
    alpha = (1 - confidence) / 2

    def prf(counts):
        correct, predicted_count, gold_count = counts[..., 0], counts[..., 1], counts[..., 2]
        precision = np.divide(correct, predicted_count, out=np.zeros(correct.shape), where=predicted_count > 0)
        recall = np.divide(correct, gold_count, out=np.zeros(correct.shape), where=gold_count > 0)
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros(correct.shape), where=total > 0)
        return precision, recall, f1

    def interval(value: float, samples) -> Interval:
        low, high = np.quantile(samples, [alpha, 1 - alpha])
        return Interval(value, float(low), float(high))

    precision, recall, f1 = prf(micro)
    _, _, type_f1 = prf(pooled)
    return BootstrapScores(
        scores=scores,
        precision=interval(scores.micro.precision, precision),
        recall=interval(scores.micro.recall, recall),
        f1=interval(scores.micro.f1, f1),
        per_type_f1={entity_type: interval(scores.per_type[entity_type].f1, type_f1[:, position])
                     for position, entity_type in enumerate(types)},
        resamples=resamples, confidence=confidence, seed=seed)


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, prefix: str = "entity_",
                   resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple[Metric, ...]:
    """The scores as harness Metrics (rows of the results table): `<prefix>precision`, `recall`, `f1` (micro, with
    bootstrap intervals), `<prefix>macro_f1`, and `<prefix>f1/<TYPE>` per type (with intervals); n = gold
    entities (sentences for the micro scores' resampling unit are in BootstrapScores)."""
    result = bootstrap_entity_scores(gold, predicted, resamples=resamples, confidence=confidence, seed=seed)
    scores = result.scores
    metrics = [Metric(f"{prefix}{name}", interval.value, interval.low, interval.high, scores.micro.gold)
               for name, interval in (("precision", result.precision), ("recall", result.recall),
                                      ("f1", result.f1))]
    metrics.append(Metric(f"{prefix}macro_f1", scores.macro_f1, n=scores.micro.gold))
    for entity_type, interval in result.per_type_f1.items():
        metrics.append(Metric(f"{prefix}f1/{entity_type}", interval.value, interval.low, interval.high,
                              scores.per_type[entity_type].gold))
    return tuple(metrics)


def mean_sentence_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *,
                     empty: float = 1.0) -> Optional[float]:
    """The average of sentence_f1 over a corpus (None for an empty corpus)."""
    _check_pairs(gold, predicted)
    if not gold:
        return None
    total = math.fsum(sentence_f1(g, p, empty=empty) for g, p in zip(gold, predicted))
    return total / len(gold)
