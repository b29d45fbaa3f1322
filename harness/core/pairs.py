"""Sentence pairs: what a model reads for an Example, which segment a perturbation changes, and the records that
keep both segments.

A sentence-pair example (the premise and hypothesis of NLI, QQP's two questions, QNLI's question and sentence)
has `text` and `text_pair`. Models read it as one pair input, `tokenizer(text, text_pair)`, so they get their
native pair encoding: token type ids, and [SEP] (BERT) or a double separator (RoBERTa) between the segments.
Inside the harness an input is a `ModelInput`: a str for a single text, a (text, text_pair) tuple for a pair;
the predictor takes either and caches by that value, so a pair never shares a cache entry with a string.

Truncation is "longest_first" (what `truncation=True` means, and what Hugging Face's GLUE scripts use): tokens
are taken one at a time from the end of the longer segment until the pair fits `max_length`, so both segments
keep their beginning. "only_second" would fail outright on any premise longer than max_length by itself.

Which segment attacks and perturbations change is `pair_target`: "second" by default (the hypothesis, the
second question: the premise stays the fixed context, as in TextAttack's NLI recipes and AdvGLUE's
hypothesis-side edits), "first", or "both". TextAttack recipes take it as a RecipeConfig field; the perturb
and augment stages read it from an augmenter config that has the field, else use "second".
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Mapping, Sequence, Union

from harness.core.types import AttackRecord, Example, WordAttribution

ModelInput = Union[str, tuple[str, str]]
"""What a model reads for one example: a single text, or a (text, text_pair) pair."""

PairTarget = Literal["second", "first", "both"]
"""Which segment of a pair an attack or perturbation changes (see the module docstring)."""
PAIR_TARGETS: tuple[str, ...] = ("second", "first", "both")
PAIR_TRUNCATION = "longest_first"
"""How a pair longer than max_length is cut (see the module docstring)."""

_TARGET_SEGMENTS = {"second": (1,), "first": (0,), "both": (0, 1)}


@dataclasses.dataclass(frozen=True)
class PairTargetSetting:
    """The `pair_target` parameter of a text perturbation's config (a base class: subclasses call
    `super().__post_init__()`): which segment of a sentence pair it changes, "second" (the hypothesis; the context
    of a QA question) by default, "first" (the premise; the question of a QA example) or "both"."""

    pair_target: PairTarget = "second"
    """Which segment of a sentence pair (or of a question-answering example) the perturbation changes: second (the
    hypothesis; the context), first (the premise; the question) or both."""

    def __post_init__(self):
        check_pair_target(self.pair_target)


def model_input(example: Example) -> ModelInput:
    """The example as its model reads it: `text`, or (`text`, `text_pair`)."""
    return example.text if example.text_pair is None else (example.text, example.text_pair)


def check_model_input(value: Any) -> ModelInput:
    """`value` as a hashable ModelInput (lists from other libraries become tuples); TypeError otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(part, str) for part in value):
        return tuple(value)  # type: ignore[return-value]
    raise TypeError(f"a model input is a text or a (text, text_pair) pair of strings, got {value!r}")


def check_pair_target(value: object) -> None:
    if value not in PAIR_TARGETS:
        raise ValueError(f"pair_target must be one of {', '.join(PAIR_TARGETS)}, got {value!r}")


def target_segments(pair_target: str) -> tuple[int, ...]:
    """Indices (0 = text, 1 = text_pair) of the segments `pair_target` changes."""
    check_pair_target(pair_target)
    return _TARGET_SEGMENTS[pair_target]


def pair_target_of(config: Any) -> str:
    """The `pair_target` of a component config that has one; "second" otherwise."""
    target = getattr(config, "pair_target", "second")
    check_pair_target(target)
    return target


def perturb_inputs(examples: Sequence[Example], perturb_texts: Any, pair_target: str = "second") -> list[ModelInput]:
    """Each example's model input with `perturb_texts(list of str) -> list of str` applied to its text, or, for a
    pair, to the segments `pair_target` names; the other segment is kept verbatim. One call over every text to
    change (in example order), so an augmenter batches as it did on single texts."""
    segments = target_segments(pair_target)
    wanted: list[str] = []
    for example in examples:
        parts = model_input_parts(example)
        wanted.extend(parts[index] for index in (segments if len(parts) == 2 else (0,)))
    changed = iter(perturb_texts(wanted))
    results: list[ModelInput] = []
    for example in examples:
        parts = list(model_input_parts(example))
        for index in (segments if len(parts) == 2 else (0,)):
            parts[index] = next(changed)
        results.append(parts[0] if len(parts) == 1 else (parts[0], parts[1]))
    return results


def model_input_parts(example: Example) -> tuple[str, ...]:
    return (example.text,) if example.text_pair is None else (example.text, example.text_pair)


def with_input(example: Example, value: ModelInput, **changes: Any) -> Example:
    """A copy of `example` whose text (and text_pair) are `value`."""
    if isinstance(value, str):
        return dataclasses.replace(example, text=value, text_pair=None, **changes)
    return dataclasses.replace(example, text=value[0], text_pair=value[1], **changes)


# ------------------------------------------------------------------------------------------- records
def make_attack_record(original: ModelInput, perturbed: ModelInput, **fields: Any) -> AttackRecord:
    """An AttackRecord of a text, or of a pair (both segments kept)."""
    if isinstance(original, str) and isinstance(perturbed, str):
        return AttackRecord(original_text=original, perturbed_text=perturbed, **fields)
    original, perturbed = _as_pair(original), _as_pair(perturbed)
    return AttackRecord(original_text=original[0], perturbed_text=perturbed[0], original_text_pair=original[1],
                            perturbed_text_pair=perturbed[1], **fields)


def _as_pair(value: ModelInput) -> tuple[str, str]:
    if isinstance(value, str):
        raise TypeError("an attack record keeps a pair on both sides or on neither")
    return value


def attack_record_from_dict(values: Mapping[str, Any]) -> AttackRecord:
    """An AttackRecord from its JSON form (records written before pairs existed lack the pair fields)."""
    return AttackRecord(**values)


def make_word_attribution(segments: Sequence[int], is_pair_example: bool, **fields: Any) -> WordAttribution:
    """A WordAttribution; for a pair, one that says which segment each word is in."""
    return WordAttribution(segments=tuple(segments) if is_pair_example else (), **fields)


def attribution_segments(attribution: Any) -> tuple[int, ...]:
    """Segment of each word (0 = text, 1 = text_pair); () for a single text or an explainer that does not say."""
    if isinstance(attribution, Mapping):
        return tuple(attribution.get("segments") or ())
    return tuple(getattr(attribution, "segments", ()) or ())
