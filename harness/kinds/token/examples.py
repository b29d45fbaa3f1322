"""The token-classification kind's example: a sentence's words and one tag per word."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenExample:
    """One sentence of a token-classification task (named-entity recognition): words and one tag per word.

    `tags` index `TaskData.label_names`, which are IOB2 tags ("O", "B-PER", "I-PER", ...). `id` is stable across
    runs, as for Example."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[int, ...]
