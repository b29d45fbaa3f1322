"""Seeded, stratified subsets of a split: what a budget keeps, which examples are attacked and explained.

Every subset is a prefix of one ordering of the split, `stratified_order`: each label's examples are shuffled with
the seed, then the labels are interleaved in proportion to their sizes. Any prefix therefore has (within one
example per label) the split's label proportions, and a larger budget keeps every example a smaller one kept:
raising `max_attack_examples` from 100 to 200 attacks 100 new examples and reuses the first 100.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Optional, Sequence, TypeVar, Union

from harness.core.types import Example

ExampleT = TypeVar("ExampleT", bound=Example)


def stratified_order(examples: Sequence[ExampleT], seed: int, stratify: bool = True) -> list[ExampleT]:
    """All of `examples`, reordered so that every prefix is a seeded (stratified) sample."""
    rng = random.Random(seed)
    if not stratify:
        shuffled = list(examples)
        rng.shuffle(shuffled)
        return shuffled
    by_label: dict[int, list[ExampleT]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    keyed = []
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        size = len(members)
        # The k-th example of a label sits at the middle of its k-th share of the ordering: labels interleave
        # in proportion to their sizes. The random tie-breaker keeps equal positions from favouring low labels.
        keyed.extend(((rank + 0.5) / size, rng.random(), example) for rank, example in enumerate(members))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [example for _, _, example in keyed]


def resolve_count(limit: Optional[Union[int, float]], total: int) -> int:
    """A budget as a number of examples: None keeps all, an integer is a count, a float in (0, 1] a fraction."""
    if limit is None:
        return total
    if isinstance(limit, float):
        return min(total, max(1, round(limit * total)))
    return min(total, limit)


def sample(examples: Sequence[ExampleT], limit: Optional[Union[int, float]], seed: int,
           stratify: bool = True) -> list[ExampleT]:
    """The first `limit` examples of the split's stratified order (all of them, reordered, without a limit)."""
    return stratified_order(examples, seed, stratify)[:resolve_count(limit, len(examples))]
