"""A greedy black-box attack on a tagger: small edits outside the entities that make it miss them.

The attack sees the model only through `predict(sentences) -> predictions` (a list of token lists in; per
sentence a TokenPrediction, or a plain list of tag indices, out), so any tagger fits, and tests use a dictionary.

Search (TextAttack's greedy word swap with word-importance ranking, adapted to tags). For each example:

1. Predict the original. An example without gold entities, or whose prediction already has entity F1 0, is
   "skipped": there is nothing left to break.
2. Units: each word outside the gold entities, and (with `swap_entities` and a pool) each gold entity as a whole.
   A unit is a candidate if it has at least one substitution: `substitutions(word)` (default: character edits;
   ner_perturbations.wordnet_synonyms fits too), or other entities of the same type from the pool.
3. Rank the units by how much the model's hold on the gold tags drops when the unit is masked (each of its words
   replaced by `mask_token`, "[UNK]", or with its middle character deleted: `ranking="drop-character"`). With
   probabilities the drop is in the mean gold-tag probability over the sentence (entity F1 breaks ties); without,
   in entity F1. Ties keep sentence order.
4. In that order, try every substitution of the unit (at most `max_candidates`, a seeded sample when there are
   more) in one batch, and keep the best if it beats the current sentence: lower entity F1, then lower mean
   gold-tag probability. A unit is changed at most once.
5. Stop when the entity F1 is at most `success_f1` (default: as soon as it is below the original's; the example is
   "successful"), when `max_perturbed` units were changed, or when the units run out ("failed").

Gold tags follow the text: an entity swap re-tags the new entity B-TYPE I-TYPE ... for its own length, and the
entity F1 of a perturbed sentence is scored against its own gold tags. Queries count the sentences the model ran
on; a sentence already predicted in this example's search is not predicted again.

Corpus metrics (`entity_attack_metrics`): entity F1 before and under attack (every example's final sentence, so a
failed search that still lowered F1 counts), the success rate, and the flip rate: of the gold entities predicted
correctly before the attack (type and span), the fraction predicted wrongly after it, overall and per type. The
two rates are proportions and get Wilson score intervals (harness.core.statistics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Literal, Mapping, Optional, Sequence, Union

from harness.attack.perturbation import text_rng
from harness.core.statistics import wilson_interval
from harness.core.types import Metric
from harness.kinds.token.encoding import TokenPrediction
from harness.kinds.token.entity_metrics import Entity, decode_tags, entity_metrics, extract_entities, sentence_f1
from harness.kinds.token.examples import TokenExample
from harness.kinds.token.perturbations import KEYBOARD_NEIGHBOURS, EntityPool, entity_tag_indices, sentence_text

PredictFunction = Callable[[Sequence[Sequence[str]]], Sequence[Union[TokenPrediction, Sequence[int]]]]
ATTACK_STATUSES = ("successful", "failed", "skipped")


@dataclass(frozen=True)
class NerAttackSettings:
    """How hard the attack searches."""

    max_perturbed: int = 3
    """Units changed at most per sentence (a word substituted or an entity swapped counts one)."""
    max_candidates: int = 20
    """Substitutions tried per word (a seeded sample when it has more)."""
    success_f1: Optional[float] = None
    """Success when the sentence's entity F1 is at most this; None: as soon as it is below the original's."""
    ranking: Literal["unk", "drop-character"] = "unk"
    """How a unit is masked to rank it: replaced by `mask_token`, or its middle character deleted."""
    mask_token: str = "[UNK]"
    swap_entities: bool = False
    """Also try replacing gold entities by others of their type (needs an entity pool)."""
    max_entity_candidates: int = 5
    """Pool entities tried per gold entity (a seeded sample)."""
    seed: int = 0
    """Seeds the samples of candidates (with each sentence's tokens, as harness.attack.perturbation.text_rng)."""

    def __post_init__(self):
        for name in ("max_perturbed", "max_candidates", "max_entity_candidates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.success_f1 is not None and not 0 <= self.success_f1 < 1:
            raise ValueError(f"success_f1 must be in [0, 1) or null, got {self.success_f1!r}")
        if self.ranking not in ("unk", "drop-character"):
            raise ValueError(f"ranking must be unk or drop-character, got {self.ranking!r}")
        if not self.mask_token or any(character.isspace() for character in self.mask_token):
            raise ValueError(f"mask_token must be one token without whitespace, got {self.mask_token!r}")


@dataclass(frozen=True)
class EntityOutcome:
    """What became of one gold entity: was it predicted right (type and span) before and after the attack."""

    type: str
    original_span: tuple[int, int]
    perturbed_span: tuple[int, int]
    """[start, end) in the perturbed tokens (moves when an earlier entity swap changed the length)."""
    correct_before: bool
    correct_after: bool
    swapped: bool

    @property
    def flipped(self) -> bool:
        return self.correct_before and not self.correct_after


@dataclass(frozen=True)
class NerAttackRecord:
    """One attacked sentence. Tags and predictions are indices of the task's label names."""

    example_id: str
    original_tokens: tuple[str, ...]
    perturbed_tokens: tuple[str, ...]
    original_tags: tuple[int, ...]
    perturbed_tags: tuple[int, ...]
    """Gold tags of the perturbed tokens (differ from original_tags only after entity swaps)."""
    original_prediction: tuple[int, ...]
    perturbed_prediction: tuple[int, ...]
    original_f1: float
    perturbed_f1: float
    status: str
    num_queries: int
    words_perturbed: int
    entities_swapped: int
    entities: tuple[EntityOutcome, ...]
    seconds: float
    words_cut: int = 0
    """Words past the model's window (its first max_length subwords), cut from the sentence before the attack:
    the tokens above are the part that was attacked. Set by the harness."""
    seed: Optional[int] = None
    """NerAttackSettings.seed: the candidate samples drew from text_rng(seed, "ner-attack", the sentence's text).
    None: a record written before seeds were recorded."""
    library_versions: tuple[tuple[str, str], ...] = ()
    """(distribution, version) of the libraries the model queries ran on (the `ner-greedy` plugin records
    transformers and torch; the search itself is the harness's code, whose version is in the run's manifest)."""

    @property
    def entities_flipped(self) -> int:
        return sum(outcome.flipped for outcome in self.entities)


# ----------------------------------------------------------------------------------------------- candidates


def character_edits(word: str) -> tuple[str, ...]:
    """Typos of a word: adjacent characters swapped, one character deleted (words of 2+ characters), one letter
    replaced by a neighbouring QWERTY key (case kept); each once, never the word itself, in that order."""
    edits: dict[str, None] = {}
    for index in range(len(word) - 1):
        if word[index] != word[index + 1]:
            edits[word[:index] + word[index + 1] + word[index] + word[index + 2:]] = None
    if len(word) > 1:
        for index in range(len(word)):
            edits[word[:index] + word[index + 1:]] = None
    for index, character in enumerate(word):
        if character.isascii() and character.lower() in KEYBOARD_NEIGHBOURS:
            for neighbour in KEYBOARD_NEIGHBOURS[character.lower()]:
                neighbour = neighbour.upper() if character.isupper() else neighbour
                edits[word[:index] + neighbour + word[index + 1:]] = None
    edits.pop(word, None)
    return tuple(edits)


@dataclass(frozen=True)
class _Unit:
    """A word outside the entities, or a whole gold entity: what the search changes at once."""

    tokens: tuple[str, ...]
    tags: tuple[int, ...]
    entity_type: Optional[str]
    original: tuple[int, int]
    changed: bool = False


def _tokens(units: Sequence[_Unit]) -> tuple[str, ...]:
    return tuple(token for unit in units for token in unit.tokens)


def _tags(units: Sequence[_Unit]) -> tuple[int, ...]:
    return tuple(tag for unit in units for tag in unit.tags)


def _units(example: TokenExample, label_names: Sequence[str]) -> list[_Unit]:
    entities = {entity.start: entity for entity in extract_entities(decode_tags(example.tags, label_names))}
    units, position = [], 0
    while position < len(example.tokens):
        entity = entities.get(position)
        end = entity.end if entity else position + 1
        units.append(_Unit(example.tokens[position:end], example.tags[position:end],
                           entity.type if entity else None, (position, end)))
        position = end
    return units


def _masked(word: str, settings: NerAttackSettings) -> str:
    if settings.ranking == "drop-character" and len(word) > 1:
        middle = len(word) // 2
        return word[:middle] + word[middle + 1:]
    return settings.mask_token


# ----------------------------------------------------------------------------------------------- search


class _Oracle:
    """predict() with a per-sentence cache and a query count; predictions checked and normalised."""

    def __init__(self, predict: PredictFunction):
        self.predict = predict
        self.cache: dict[tuple[str, ...], TokenPrediction] = {}
        self.queries = 0

    def __call__(self, sentences: Sequence[tuple[str, ...]]) -> list[TokenPrediction]:
        missing = list(dict.fromkeys(sentence for sentence in sentences if sentence not in self.cache))
        if missing:
            outputs = list(self.predict([list(sentence) for sentence in missing]))
            if len(outputs) != len(missing):
                raise ValueError(f"predict returned {len(outputs)} predictions for {len(missing)} sentences")
            for sentence, output in zip(missing, outputs):
                prediction = output if isinstance(output, TokenPrediction) else TokenPrediction(tuple(output))
                if len(prediction.tags) != len(sentence):
                    raise ValueError(f"predict returned {len(prediction.tags)} tags for a sentence of "
                                     f"{len(sentence)} tokens")
                self.cache[sentence] = prediction
            self.queries += len(missing)
        return [self.cache[sentence] for sentence in sentences]


def _score(prediction: TokenPrediction, gold: Sequence[int], label_names: Sequence[str]) -> tuple[float, float]:
    """(entity F1, mean gold-tag probability or 0): lower is better for the attacker."""
    f1 = sentence_f1(decode_tags(gold, label_names), decode_tags(prediction.tags, label_names), empty=1.0)
    probability = 0.0
    if prediction.probabilities is not None and gold:
        probability = sum(row[tag] for row, tag in zip(prediction.probabilities, gold)) / len(gold)
    return f1, probability


def _substitution_options(example: TokenExample, units: Sequence[_Unit], label_names: Sequence[str],
                          settings: NerAttackSettings, substitutions: Callable[[str], Sequence[str]],
                          entity_pool: Optional[EntityPool]) -> dict[int, list[_Unit]]:
    """Every unit's substitutions, fixed up front (a seeded sample where there are more than allowed)."""
    rng = text_rng(settings.seed, "ner-attack", sentence_text(example.tokens))
    options: dict[int, list[_Unit]] = {}
    for index, unit in enumerate(units):
        if unit.entity_type is None:
            words = [word for word in dict.fromkeys(substitutions(unit.tokens[0]))
                     if word and word != unit.tokens[0] and not any(character.isspace() for character in word)]
            if len(words) > settings.max_candidates:
                words = rng.sample(words, settings.max_candidates)
            options[index] = [replace(unit, tokens=(word,), changed=True) for word in words]
        elif settings.swap_entities and entity_pool is not None:
            entries = [entry for entry in entity_pool.options(unit.entity_type, unit.tokens)
                       if entity_tag_indices(unit.entity_type, len(entry), label_names) is not None]
            if len(entries) > settings.max_entity_candidates:
                entries = rng.sample(entries, settings.max_entity_candidates)
            options[index] = [replace(unit, tokens=entry, changed=True,
                                      tags=entity_tag_indices(unit.entity_type, len(entry), label_names))
                              for entry in entries]
    return options


@dataclass(frozen=True)
class _Search:
    """One sentence's attack: the example, the model (through the oracle), the original's prediction and score."""

    example: TokenExample
    label_names: Sequence[str]
    settings: NerAttackSettings
    oracle: _Oracle
    original: TokenPrediction
    original_f1: float
    original_probability: float
    started: float

    def ranked(self, units: Sequence[_Unit], options: Mapping[int, Sequence[_Unit]]) -> list[int]:
        """The units with substitutions, by the drop when the unit is masked (masking keeps the gold tags)."""
        candidates = [index for index, choices in options.items() if choices]
        masked = [_tokens([replace(unit, tokens=tuple(_masked(word, self.settings) for word in unit.tokens))
                           if position == index else unit for position, unit in enumerate(units)])
                  for index in candidates]
        importance = {}
        for index, prediction in zip(candidates, self.oracle(masked)):
            f1, probability = _score(prediction, self.example.tags, self.label_names)
            importance[index] = (self.original_probability - probability, self.original_f1 - f1)
        if self.original.probabilities is None:
            return sorted(candidates, key=lambda index: -importance[index][1])
        return sorted(candidates, key=lambda index: (-importance[index][0], -importance[index][1]))

    def succeeded(self, f1: float) -> bool:
        success_f1 = self.settings.success_f1
        return f1 <= success_f1 if success_f1 is not None else f1 < self.original_f1

    def greedy(self, units: Sequence[_Unit], options: Mapping[int, Sequence[_Unit]],
               order: Sequence[int]) -> tuple[list[_Unit], str]:
        """Change the units in `order`, each to its best substitution when that beats the current sentence, until
        the attack succeeds, `max_perturbed` units changed, or the units run out: (final units, status)."""
        current = list(units)
        current_score = (self.original_f1, self.original_probability)
        perturbed = 0
        for index in order:
            if perturbed >= self.settings.max_perturbed:
                break
            trials = [current[:index] + [choice] + current[index + 1:] for choice in options[index]]
            predictions = self.oracle([_tokens(trial) for trial in trials])
            scores = [_score(prediction, _tags(trial), self.label_names)
                      for trial, prediction in zip(trials, predictions)]
            best = min(range(len(trials)), key=lambda number: scores[number])  # the first of equals
            if scores[best] < current_score:
                current, current_score = trials[best], scores[best]
                perturbed += 1
                if self.succeeded(current_score[0]):
                    return current, "successful"
        return current, "failed"

    def record(self, final_units: Sequence[_Unit], status: str) -> NerAttackRecord:
        example, label_names = self.example, self.label_names
        tokens, tags = _tokens(final_units), _tags(final_units)
        final = self.oracle([tokens])[0]
        before = set(extract_entities(decode_tags(self.original.tags, label_names)))
        after = set(extract_entities(decode_tags(final.tags, label_names)))
        outcomes, position = [], 0
        for unit in final_units:
            end = position + len(unit.tokens)
            if unit.entity_type is not None:
                outcomes.append(EntityOutcome(
                    unit.entity_type, unit.original, (position, end),
                    correct_before=Entity(*unit.original, unit.entity_type) in before,
                    correct_after=Entity(position, end, unit.entity_type) in after, swapped=unit.changed))
            position = end
        changed = [unit for unit in final_units if unit.changed]
        return NerAttackRecord(
            example_id=example.id, original_tokens=tuple(example.tokens), perturbed_tokens=tokens,
            original_tags=tuple(example.tags), perturbed_tags=tags, original_prediction=self.original.tags,
            perturbed_prediction=final.tags, original_f1=self.original_f1,
            perturbed_f1=_score(final, tags, label_names)[0], status=status, num_queries=self.oracle.queries,
            words_perturbed=sum(unit.entity_type is None for unit in changed),
            entities_swapped=sum(unit.entity_type is not None for unit in changed), entities=tuple(outcomes),
            seconds=time.perf_counter() - self.started, seed=self.settings.seed)


def attack_sentence(predict: PredictFunction, example: TokenExample, label_names: Sequence[str], *,
                    settings: NerAttackSettings = NerAttackSettings(),
                    substitutions: Callable[[str], Sequence[str]] = character_edits,
                    entity_pool: Optional[EntityPool] = None) -> NerAttackRecord:
    """Attack one sentence (see the module docstring)."""
    started = time.perf_counter()
    oracle = _Oracle(predict)
    units = _units(example, label_names)
    original = oracle([tuple(example.tokens)])[0]
    gold_names = decode_tags(example.tags, label_names)
    original_f1, original_probability = _score(original, example.tags, label_names)
    search = _Search(example, label_names, settings, oracle, original, original_f1, original_probability, started)
    if not extract_entities(gold_names) or original_f1 == 0:
        return search.record(units, "skipped")
    options = _substitution_options(example, units, label_names, settings, substitutions, entity_pool)
    order = search.ranked(units, options)
    final_units, status = search.greedy(units, options, order)
    return search.record(final_units, status)


def attack_sentences(predict: PredictFunction, examples: Sequence[TokenExample], label_names: Sequence[str], *,
                     settings: NerAttackSettings = NerAttackSettings(),
                     substitutions: Callable[[str], Sequence[str]] = character_edits,
                     entity_pool: Optional[EntityPool] = None) -> tuple[NerAttackRecord, ...]:
    """Attack each example in turn (see attack_sentence)."""
    if settings.swap_entities and entity_pool is None:
        raise ValueError("swap_entities needs an entity_pool (e.g. EntityPool.from_examples(task.train, ...))")
    return tuple(attack_sentence(predict, example, label_names, settings=settings, substitutions=substitutions,
                                 entity_pool=entity_pool) for example in examples)


# ----------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class FlipCounts:
    correct_before: int = 0
    flipped: int = 0

    @property
    def rate(self) -> float:
        return self.flipped / self.correct_before if self.correct_before else 0.0

    @property
    def interval(self) -> tuple[Optional[float], Optional[float]]:
        """The rate's Wilson score interval; none without entities."""
        return wilson_interval(self.flipped, self.correct_before) if self.correct_before else (None, None)


def flip_counts(records: Sequence[NerAttackRecord]) -> tuple[FlipCounts, Mapping[str, FlipCounts]]:
    """Gold entities predicted correctly before the attack, and of those how many were wrong after it: all types
    pooled, and per type (sorted)."""
    per_type: dict[str, FlipCounts] = {}
    for record in records:
        for outcome in record.entities:
            if outcome.correct_before:
                counts = per_type.get(outcome.type, FlipCounts())
                per_type[outcome.type] = FlipCounts(counts.correct_before + 1, counts.flipped + outcome.flipped)
    total = FlipCounts(sum(c.correct_before for c in per_type.values()), sum(c.flipped for c in per_type.values()))
    return total, dict(sorted(per_type.items()))


def entity_attack_metrics(records: Sequence[NerAttackRecord], label_names: Sequence[str], *, resamples: int = 1000,
                   seed: int = 0) -> tuple[Metric, ...]:
    """Corpus metrics of an attack: `entity_f1` (before) and `entity_f1_under_attack` with bootstrap intervals
    over sentences, `attack_success_rate` (successful / attacked, skipped left out), `entity_flip_rate` (and
    `entity_flip_rate/<TYPE>`), these proportions with Wilson score intervals, `words_perturbed` and `queries`
    (means over attacked sentences)."""
    def names(sequences):
        return [decode_tags(tags, label_names) for tags in sequences]

    before = entity_metrics(names(r.original_tags for r in records), names(r.original_prediction for r in records),
                            resamples=resamples, seed=seed)
    after = entity_metrics(names(r.perturbed_tags for r in records), names(r.perturbed_prediction for r in records),
                           resamples=resamples, seed=seed)
    f1_before = next(metric for metric in before if metric.name == "entity_f1")
    f1_after = next(metric for metric in after if metric.name == "entity_f1")
    metrics = [f1_before, replace(f1_after, name="entity_f1_under_attack")]
    attacked = [record for record in records if record.status != "skipped"]
    successful = sum(record.status == "successful" for record in attacked)
    if attacked:
        metrics.append(Metric("attack_success_rate", successful / len(attacked),
                              *wilson_interval(successful, len(attacked)), n=len(attacked)))
        metrics.append(Metric("words_perturbed", sum(r.words_perturbed + r.entities_swapped for r in attacked)
                              / len(attacked), n=len(attacked)))
        metrics.append(Metric("queries", sum(r.num_queries for r in attacked) / len(attacked), n=len(attacked)))
    total, per_type = flip_counts(records)
    metrics.append(Metric("entity_flip_rate", total.rate, *total.interval, n=total.correct_before))
    metrics.extend(Metric(f"entity_flip_rate/{entity_type}", counts.rate, *counts.interval, n=counts.correct_before)
                   for entity_type, counts in per_type.items())
    return tuple(metrics)

