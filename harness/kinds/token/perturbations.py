"""Entity-preserving perturbations of NER sentences: the text changes, the gold entities stay known.

Each function takes a TokenExample and returns a new one with the same id (a perturbation test pairs it with its
clean original by id) and tags kept aligned with the tokens:

- `token_typos`: a keyboard-neighbour letter or a swap of two adjacent characters, in words outside every entity
  span. Same tokens count, same tags.
- `synonym_swaps`: WordNet synonyms for words outside every entity span. One token per word (multiword synonyms
  are skipped), no proper nouns (a capitalised lemma could be an entity the tags do not mark), no stopwords,
  capitalisation of the original kept. Same tokens count, same tags.
- `entity_swaps`: an entity replaced by another entity of the same type from an `EntityPool` (built from the
  training split's entities, or given), tagged B-TYPE I-TYPE ... for its own length. The only perturbation that
  changes the number of tokens: the tags change with them.

Entity spans are read as the metrics read them (harness.kinds.token.entity_metrics, seqeval's default mode). How many
places
change is round(rate x candidates), at least one when rate > 0 and there is a candidate
(harness.attack.perturbation.changes_for). Randomness comes from harness.attack.perturbation.text_rng(seed, name, text)
with the
sentence's tokens joined by spaces as the text: a sentence is perturbed the same way in any batch and order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources as package_resources
from typing import Callable, Iterable, Mapping, Optional, Sequence

from harness.attack.perturbation import KEYBOARD_NEIGHBOURS, changes_for, check_rate, text_rng
from harness.kinds.token.entity_metrics import Entity, decode_tags, extract_entities
from harness.kinds.token.examples import TokenExample

"""QWERTY neighbours (the table of the keyboard-typos augmenter; the core cannot import a plugin)."""
TYPO_KINDS = ("keyboard", "swap", "mixed")


def sentence_text(tokens: Sequence[str]) -> str:
    """The text a sentence's random generator is seeded with."""
    return " ".join(tokens)


def entity_positions(tags: Sequence[str]) -> set[int]:
    """Positions of the tokens inside some entity."""
    return {position for entity in extract_entities(tags) for position in range(entity.start, entity.end)}


def _outside(example: TokenExample, label_names: Sequence[str]) -> list[int]:
    inside = entity_positions(decode_tags(example.tags, label_names))
    return [position for position in range(len(example.tokens)) if position not in inside]


def _with_tokens(example: TokenExample, replacements: Mapping[int, str]) -> TokenExample:
    tokens = tuple(replacements.get(position, token) for position, token in enumerate(example.tokens))
    return TokenExample(id=example.id, tokens=tokens, tags=example.tags)


# ----------------------------------------------------------------------------------------------- typos


def keyboard_typo_positions(word: str) -> list[int]:
    return [index for index, character in enumerate(word)
            if character.isascii() and character.lower() in KEYBOARD_NEIGHBOURS]


def swap_positions(word: str) -> list[int]:
    """Indices i where swapping characters i and i+1 changes the word."""
    return [index for index in range(len(word) - 1) if word[index] != word[index + 1]]


def token_typos(example: TokenExample, label_names: Sequence[str], *, rate: float = 0.1, seed: int = 0,
                kind: str = "mixed") -> TokenExample:
    """One typo in each of round(rate x candidates) words outside the entities (see the module docstring).
    `kind`: "keyboard" (a letter becomes a neighbouring QWERTY key, case kept), "swap" (two adjacent characters
    trade places) or "mixed" (either, drawn per word among those the word allows)."""
    check_rate(rate)
    if kind not in TYPO_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TYPO_KINDS)}, got {kind!r}")
    kinds = ("keyboard", "swap") if kind == "mixed" else (kind,)

    def options(word: str) -> list[str]:
        return [k for k in kinds if (keyboard_typo_positions if k == "keyboard" else swap_positions)(word)]

    candidates = [position for position in _outside(example, label_names) if options(example.tokens[position])]
    count = changes_for(rate, len(candidates))
    if count == 0:
        return example
    rng = text_rng(seed, "ner-typos", sentence_text(example.tokens))
    replacements = {}
    for position in sorted(rng.sample(candidates, count)):
        word = example.tokens[position]
        characters = list(word)
        if rng.choice(options(word)) == "keyboard":
            index = rng.choice(keyboard_typo_positions(word))
            original = characters[index]
            replacement = rng.choice(KEYBOARD_NEIGHBOURS[original.lower()])
            characters[index] = replacement.upper() if original.isupper() else replacement
        else:
            index = rng.choice(swap_positions(word))
            characters[index], characters[index + 1] = characters[index + 1], characters[index]
        replacements[position] = "".join(characters)
    return _with_tokens(example, replacements)


# ----------------------------------------------------------------------------------------------- synonyms


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    text = package_resources.files("harness.data").joinpath("stopwords-english.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def english_stopwords() -> frozenset[str]:
    """The English stopwords word-level perturbations and attacks leave alone (the classic 179-word list)."""
    return _stopwords()


@functools.lru_cache(maxsize=65536)
def wordnet_synonyms(word: str) -> tuple[str, ...]:
    """Single-word, lower-case (not proper-noun) WordNet synonyms of `word`, in WordNet's order, without the word
    itself or its base forms; () for stopwords and for words that are not purely alphabetic. Synonyms are base forms
    (WordNet lists lemmas): "bought" gets "purchase", not "purchased"."""
    lowered = word.lower()
    if not word.isalpha() or len(word) < 2 or lowered in _stopwords():
        return ()
    from harness.core.resources import prepare_offline_resources

    prepare_offline_resources()  # WordNet from the harness's offline NLTK data
    from nltk.corpus import wordnet

    # The word's own base forms ("buy" for "bought") are the same word, not a synonym.
    forms = {lowered} | {wordnet.morphy(lowered, pos) for pos in ("n", "v", "a", "r")}
    found: dict[str, None] = {}
    for synset in wordnet.synsets(lowered):
        for lemma in synset.lemma_names():
            # "_" joins multiword lemmas; capitals mark proper nouns (which would be untagged entities).
            if lemma.isalpha() and lemma.islower() and lemma not in forms:
                found[lemma] = None
    return tuple(found)


def match_case(replacement: str, original: str) -> str:
    """`replacement` written with the capitalisation of `original` (UPPER, Title or lower)."""
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def synonym_swaps(example: TokenExample, label_names: Sequence[str], *, rate: float = 0.1, seed: int = 0,
                  synonyms: Callable[[str], Sequence[str]] = wordnet_synonyms) -> TokenExample:
    """Synonyms for round(rate x candidates) words outside the entities that have one (see the module docstring).
    `synonyms(word)` lists a word's candidates (default: WordNet)."""
    check_rate(rate)
    choices = {position: tuple(synonyms(example.tokens[position])) for position in _outside(example, label_names)}
    candidates = [position for position, options in choices.items() if options]
    count = changes_for(rate, len(candidates))
    if count == 0:
        return example
    rng = text_rng(seed, "ner-synonyms", sentence_text(example.tokens))
    replacements = {position: match_case(rng.choice(choices[position]), example.tokens[position])
                    for position in sorted(rng.sample(candidates, count))}
    return _with_tokens(example, replacements)


# ----------------------------------------------------------------------------------------------- entity swaps


@dataclass(frozen=True)
class EntityPool:
    """Entities by type, as token tuples, each once, sorted (the same pool whatever the order of the data)."""

    entities: Mapping[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def from_examples(cls, examples: Iterable[TokenExample], label_names: Sequence[str]) -> "EntityPool":
        """Every entity of the examples (e.g. the training split: names a model may have seen)."""
        found: dict[str, set[tuple[str, ...]]] = {}
        for example in examples:
            for entity in extract_entities(decode_tags(example.tags, label_names)):
                found.setdefault(entity.type, set()).add(tuple(example.tokens[entity.start:entity.end]))
        return cls({entity_type: tuple(sorted(names)) for entity_type, names in sorted(found.items())})

    @classmethod
    def from_names(cls, names: Mapping[str, Iterable[str | Sequence[str]]]) -> "EntityPool":
        """A given list: type -> names, each a string (split at whitespace) or a token sequence."""
        pool = {}
        for entity_type, entries in names.items():
            tokens = {tuple(entry.split()) if isinstance(entry, str) else tuple(entry) for entry in entries}
            tokens.discard(())
            pool[entity_type] = tuple(sorted(tokens))
        return cls(dict(sorted(pool.items())))

    def options(self, entity_type: str, current: Sequence[str], max_length: Optional[int] = None
                ) -> tuple[tuple[str, ...], ...]:
        """Entities of `entity_type` other than `current` (and at most `max_length` tokens long, if given)."""
        return tuple(entry for entry in self.entities.get(entity_type, ())
                     if entry != tuple(current) and (max_length is None or len(entry) <= max_length))


def entity_tag_indices(entity_type: str, length: int, label_names: Sequence[str]) -> Optional[tuple[int, ...]]:
    """Indices of B-TYPE I-TYPE ... for an entity of `length` tokens, or None if the labels lack a needed tag."""
    index = {name: position for position, name in enumerate(label_names)}
    begin, inside = index.get(f"B-{entity_type}"), index.get(f"I-{entity_type}")
    if begin is None or (length > 1 and inside is None):
        return None
    return (begin, *([inside] * (length - 1)))


def _longest_taggable(entity_type: str, label_names: Sequence[str]) -> Optional[int]:
    if f"B-{entity_type}" not in label_names:
        return 0
    return None if f"I-{entity_type}" in label_names else 1


def replace_entity(example: TokenExample, entity: Entity, tokens: Sequence[str],
                   label_names: Sequence[str]) -> TokenExample:
    """The example with `entity`'s tokens replaced by `tokens`, tagged as an entity of the same type."""
    tags = entity_tag_indices(entity.type, len(tokens), label_names)
    if tags is None or not tokens:
        raise ValueError(f"cannot tag {len(tokens)} tokens as a {entity.type} entity with labels {list(label_names)}")
    return TokenExample(id=example.id,
                        tokens=(*example.tokens[:entity.start], *tokens, *example.tokens[entity.end:]),
                        tags=(*example.tags[:entity.start], *tags, *example.tags[entity.end:]))


def entity_swaps(example: TokenExample, label_names: Sequence[str], pool: EntityPool, *, rate: float = 0.5,
                 seed: int = 0) -> TokenExample:
    """round(rate x candidates) entities replaced by others of their type from `pool` (candidates: entities whose
    type has another pool entry the labels can tag). The tokens count changes with the new entities' lengths."""
    check_rate(rate)
    entities = extract_entities(decode_tags(example.tags, label_names))
    options = {entity: pool.options(entity.type, example.tokens[entity.start:entity.end],
                                    _longest_taggable(entity.type, label_names)) for entity in entities}
    candidates = [entity for entity in entities if options[entity]]
    count = changes_for(rate, len(candidates))
    if count == 0:
        return example
    rng = text_rng(seed, "ner-entity-swaps", sentence_text(example.tokens))
    chosen = sorted(rng.sample(candidates, count))
    replacements = {entity: rng.choice(options[entity]) for entity in chosen}
    # Right to left: a replacement of another length does not move the entities still to replace.
    for entity in reversed(chosen):
        example = replace_entity(example, entity, replacements[entity], label_names)
    return example
