"""Adversarial prompts in the PromptBench protocol (Zhu et al. 2023, "PromptBench: Towards Evaluating the Robustness
of Large Language Models on Adversarial Prompts"): the task's *instruction* is attacked, the examples' inputs are
left alone, and the attack's goal is the task score itself: a candidate instruction is scored by generating the
outputs of the whole attack sample under it (`PromptScorer`), and the search keeps the candidate that lowers the
score most.

The searches, as PromptBench runs them through TextAttack:
- `greedy_word_attack`: words ranked by how much deleting them (or replacing them with "[UNK]") lowers the score,
  then each word in that order swapped for the candidate that lowers the score most, kept when it lowers it
  (TextAttack's GreedyWordSwapWIR). Candidates per word: `deepwordbug_candidates` (DeepWordBug: swap two neighbouring
  characters, substitute, delete, insert one character), `textbugger_candidates` (TextBugger: a space inserted, a
  character deleted or two swapped inside the word, look-alike characters, and its word-level synonyms),
  `synonym_candidates` (TextFooler's word swaps, offline: WordNet synonyms instead of counter-fitted embeddings,
  which need a download), `MaskedWordCandidates` (BERT-Attack: a masked LM's words at the word's place, in the
  instruction's context). Stopwords and the task's protected words (its label words) are never changed.
- `best_suffix_attack`: sentence level: each suffix appended after the instruction's last word (before its closing
  punctuation), the worst kept (StressTest's tautologies, CheckList's random character sequences).
- `best_instruction_attack`: semantic level: each paraphrase of the instruction (written by people; PromptBench's
  are translations of its prompts), the worst kept.

What PromptBench reports and the harness too: the score under the original and the adversarial instruction on the
attack sample (the examples the search optimised over), and the performance drop rate PDR = drop / original score.
"""

from __future__ import annotations

import dataclasses
import random
import re
import string
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from harness.kinds.generation.examples import GenerationExample

UNKNOWN_WORD = "[UNK]"
"""What the "unk" word-importance method puts in a word's place (TextAttack's)."""
STRESS_TEST_SUFFIXES = (" and true is true ", " and false is not true ", " and true is true " * 5)
"""PromptBench's StressTest suffixes."""
LOOK_ALIKES = {"a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р", "s": "ѕ", "x": "х", "y": "у",
               "l": "ӏ", "0": "O", "1": "l", "3": "Ʒ", "5": "Ƽ", "6": "б"}
"""Latin letters and digits and a look-alike (mostly Cyrillic) character each: TextBugger's visual substitutions."""
_WORD = re.compile(r"\S+")
_CLOSING = string.punctuation + " \t\n"


@dataclass(frozen=True)
class PromptAttackSettings:
    """What every prompt attack's config has (its plugin's config extends it)."""

    protected_words: tuple[str, ...] = ()
    """Words the attack never changes, besides stopwords and the task's label words ("translate", a language)."""


@dataclass(frozen=True)
class PromptCandidate:
    """One instruction the search scored: why (`step`), the score of the attack sample under it, and whether the
    search kept it."""

    instruction: str
    score: float
    step: str
    kept: bool = False


@dataclass(frozen=True)
class PromptAttackOutcome:
    """What a prompt attack found: the adversarial instruction (the original where nothing lowered the score), both
    scores, and every candidate it scored, in order."""

    original_instruction: str
    adversarial_instruction: str
    original_score: float
    adversarial_score: float
    candidates: tuple[PromptCandidate, ...]


class PromptScorer:
    """The attack's goal function: the task's headline metric of the attack sample's outputs under a candidate
    instruction (harness.core.text_metrics.corpus_score), cached by instruction. `queries` counts the
    distinct instructions scored; every score costs one generation per example (less what the predictor's cache
    already holds)."""

    def __init__(self, predictor: Any, examples: Sequence[GenerationExample], seed: int = 0,
                 protected_words: Sequence[str] = (), bar: Any = None):
        from harness.core.text_metrics import corpus_score

        if not examples:
            raise ValueError("a prompt attack needs at least one example to score instructions on")
        self.predictor = predictor
        self.examples = list(examples)
        self.setup = examples[0].setup
        self.seed = seed
        self.protected_words = frozenset(word.lower() for word in (*self.setup.choices, *protected_words))
        self._corpus_score = corpus_score
        self._scores: dict[str, float] = {}
        self.trace: list[PromptCandidate] = []
        self.bar = bar
        """A tqdm-like bar advanced once per instruction scored (the searches cannot know their length ahead)."""

    @property
    def instruction(self) -> str:
        return self.setup.instruction

    @property
    def queries(self) -> int:
        return len(self._scores)

    def with_instruction(self, instruction: str) -> list[GenerationExample]:
        setup = dataclasses.replace(self.setup, instruction=instruction)
        return [dataclasses.replace(example, setup=setup) for example in self.examples]

    def outputs(self, instruction: str) -> list[str]:
        return self.predictor.texts(self.with_instruction(instruction), "attack (generate)")

    def __call__(self, instruction: str, step: str = "") -> float:
        if instruction not in self._scores:
            self._scores[instruction] = self._corpus_score(
                self.setup.metric, self.outputs(instruction), [example.references for example in self.examples],
                self.setup.choices)
            self.trace.append(PromptCandidate(instruction, self._scores[instruction], step))
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix(score=f"{min(self._scores.values()):.3g}", refresh=False)
        return self._scores[instruction]

    def keep(self, instruction: str) -> None:
        """Mark the last scoring of `instruction` in the trace as kept."""
        for index in range(len(self.trace) - 1, -1, -1):
            if self.trace[index].instruction == instruction:
                self.trace[index] = dataclasses.replace(self.trace[index], kept=True)
                return

    def outcome(self, adversarial: str) -> PromptAttackOutcome:
        return PromptAttackOutcome(self.instruction, adversarial, self(self.instruction), self(adversarial),
                                   tuple(self.trace))

    def modifiable(self, word: str) -> bool:
        """Whether the search may change a word: not a stopword, not a protected word, with a letter in it."""
        from harness.kinds.token.perturbations import english_stopwords

        core = word.strip(string.punctuation).lower()
        return bool(core) and any(character.isalpha() for character in core) and core not in english_stopwords() \
            and core not in self.protected_words


# --------------------------------------------------------------------------------------------- word level


def _replace_word(instruction: str, span: tuple[int, int], replacement: str) -> str:
    return instruction[:span[0]] + replacement + instruction[span[1]:]


def _word_spans(instruction: str) -> list[tuple[int, int]]:
    return [match.span() for match in _WORD.finditer(instruction)]


def greedy_word_attack(scorer: PromptScorer, candidates: Callable[..., Sequence[str]], importance: str = "delete",
                       max_edit_distance: Optional[int] = None, in_context: bool = False) -> PromptAttackOutcome:
    """TextAttack's greedy search with word importance ranking over the instruction's words (see the module
    docstring). `candidates(word, rng)` gives a word's replacements, or with `in_context` `candidates(words, index,
    rng)` (the instruction's current words and the position: BERT-Attack's masked LM reads the context);
    `importance` is "delete" or "unk"; `max_edit_distance` caps the characters changed in all (DeepWordBug's
    Levenshtein constraint, 30 in PromptBench), None: no cap."""
    if importance not in ("delete", "unk"):
        raise ValueError(f"importance must be 'delete' or 'unk', got {importance!r}")
    rng = random.Random(scorer.seed)
    original = scorer.instruction
    best_score = scorer(original, "original")
    spans = _word_spans(original)
    words = [original[start:end] for start, end in spans]
    drops = []
    for index, span in enumerate(spans):
        if not scorer.modifiable(words[index]):
            continue
        removed = _replace_word(original, span, "" if importance == "delete" else UNKNOWN_WORD)
        drops.append((best_score - scorer(removed, f"importance of word {index + 1} ({importance})"), index))
    current = list(words)
    for _, index in sorted(drops, key=lambda drop: (-drop[0], drop[1])):
        best: Optional[tuple[float, str]] = None
        found = candidates(list(current), index, rng) if in_context else candidates(words[index], rng)
        for candidate in found:
            if candidate == current[index] or not candidate.strip():
                continue
            trial = list(current)
            trial[index] = candidate
            if max_edit_distance is not None and _changed_characters(words, trial) > max_edit_distance:
                continue
            score = scorer(_joined(original, spans, trial), f"word {index + 1}: {words[index]!r} -> {candidate!r}")
            if best is None or score < best[0]:
                best = (score, candidate)
        if best is not None and best[0] < best_score:
            best_score, current[index] = best[0], best[1]
            scorer.keep(_joined(original, spans, current))
    return scorer.outcome(_joined(original, spans, current))


def _joined(original: str, spans: Sequence[tuple[int, int]], words: Sequence[str]) -> str:
    """The instruction with its words replaced, the text between them (blanks) kept."""
    pieces, end = [], 0
    for (start, stop), word in zip(spans, words):
        pieces += [original[end:start], word]
        end = stop
    return "".join(pieces) + original[end:]


def _changed_characters(original: Sequence[str], words: Sequence[str]) -> int:
    return sum(_levenshtein(first, second) for first, second in zip(original, words) if first != second)


def _levenshtein(first: str, second: str) -> int:
    previous = list(range(len(second) + 1))
    for row, left in enumerate(first, 1):
        current = [row]
        for column, right in enumerate(second, 1):
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (left != right)))
        previous = current
    return previous[-1]


def _split_word(word: str) -> tuple[str, str, str]:
    """(leading punctuation, the word's core, trailing punctuation): edits change the core only."""
    core = word.strip(string.punctuation)
    if not core:
        return "", word, ""
    start = word.index(core)
    return word[:start], core, word[start + len(core):]


def deepwordbug_candidates(word: str, rng: random.Random) -> list[str]:
    """DeepWordBug's four character edits of a word, one random position each (TextAttack's defaults): swap two
    neighbouring characters, substitute one, delete one, insert one."""
    before, core, after = _split_word(word)
    letters = string.ascii_lowercase
    found = []
    if len(core) > 1:
        position = rng.randrange(len(core) - 1)
        found.append(core[:position] + core[position + 1] + core[position] + core[position + 2:])
    position = rng.randrange(len(core))
    found.append(core[:position] + rng.choice(letters) + core[position + 1:])
    if len(core) > 1:
        position = rng.randrange(len(core))
        found.append(core[:position] + core[position + 1:])
    position = rng.randrange(len(core) + 1)
    found.append(core[:position] + rng.choice(letters) + core[position:])
    return [before + candidate + after for candidate in dict.fromkeys(found) if candidate != core]


def textbugger_candidates(word: str, rng: random.Random, synonyms: int = 5) -> list[str]:
    """TextBugger's bugs of a word: a space inserted, a character deleted, two neighbours swapped (inside the word:
    first and last characters kept), look-alike characters swapped in, and up to `synonyms` synonyms."""
    before, core, after = _split_word(word)
    found = []
    if len(core) > 2:
        inside = rng.randrange(1, len(core) - 1)
        found.append(core[:inside] + " " + core[inside:])
        found.append(core[:inside] + core[inside + 1:])
        if len(core) > 3:
            swap = rng.randrange(1, len(core) - 2)
            found.append(core[:swap] + core[swap + 1] + core[swap] + core[swap + 2:])
    looks = "".join(LOOK_ALIKES.get(character, character) for character in core)
    if looks != core:
        found.append(looks)
    found += list(synonym_candidates(core, rng, synonyms))
    return [before + candidate + after for candidate in dict.fromkeys(found) if candidate != core]


def synonym_candidates(word: str, rng: random.Random, limit: int = 50) -> list[str]:
    """Up to `limit` WordNet synonyms of a word (in WordNet's order, written in the word's case): TextFooler's word
    swaps offline, where its counter-fitted embeddings cannot be downloaded."""
    from harness.kinds.token.perturbations import match_case, wordnet_synonyms

    before, core, after = _split_word(word)
    return [before + match_case(synonym, core) + after for synonym in wordnet_synonyms(core)[:limit]]


class MaskedWordCandidates:
    """BERT-Attack's word candidates (Li et al. 2020): the word masked in the instruction, a masked language
    model's most likely whole words at its place (subword pieces, the word itself, stopwords and non-words
    dropped), in the model's order. `masked_lm` is a local directory or a hub id (bert-base-uncased in BERT-Attack
    and PromptBench)."""

    def __init__(self, masked_lm: str, max_candidates: int = 48, device: str = "cpu"):
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(masked_lm)
        self.model = AutoModelForMaskedLM.from_pretrained(masked_lm).to(device).eval()
        self.max_candidates, self.device = max_candidates, device

    def __call__(self, words: Sequence[str], index: int, rng: random.Random) -> list[str]:
        import torch

        from harness.kinds.token.perturbations import english_stopwords, match_case

        before, core, after = _split_word(words[index])
        masked = " ".join([*words[:index], before + self.tokenizer.mask_token + after, *words[index + 1:]])
        encoded = self.tokenizer(masked, return_tensors="pt", truncation=True).to(self.device)
        position = (encoded["input_ids"][0] == self.tokenizer.mask_token_id).nonzero()[0, 0]
        with torch.inference_mode():
            logits = self.model(**encoded).logits[0, position]
        found = []
        for token in logits.topk(min(len(logits), self.max_candidates * 4)).indices.tolist():
            word = self.tokenizer.convert_ids_to_tokens(token)
            if (word.isalpha() and word.lower() != core.lower() and word.lower() not in english_stopwords()
                    and word not in found):
                found.append(word)
            if len(found) == self.max_candidates:
                break
        return [before + match_case(word, core) + after for word in found]


# --------------------------------------------------------------------------------- sentence and semantic level


def with_suffix(instruction: str, suffix: str) -> str:
    """`suffix` after the instruction's last word, before its closing punctuation and blanks ("Translate to French:
    " + " and true is true " -> "Translate to French and true is true : ")."""
    core = instruction.rstrip(_CLOSING)
    return core + suffix + instruction[len(core):]


def best_suffix_attack(scorer: PromptScorer, suffixes: Sequence[str]) -> PromptAttackOutcome:
    """Each suffix appended (`with_suffix`); the one that lowers the score most, if any does."""
    return best_instruction_attack(scorer, [with_suffix(scorer.instruction, suffix) for suffix in suffixes],
                                   "suffix")


def best_instruction_attack(scorer: PromptScorer, instructions: Sequence[str],
                            what: str = "paraphrase") -> PromptAttackOutcome:
    """Each candidate instruction scored; the one that lowers the score most, if any does (PromptBench's brute-force
    search)."""
    original = scorer(scorer.instruction, "original")
    best = (original, scorer.instruction)
    for number, instruction in enumerate(instructions, 1):
        score = scorer(instruction, f"{what} {number}")
        if score < best[0]:
            best = (score, instruction)
    if best[1] != scorer.instruction:
        scorer.keep(best[1])
    return scorer.outcome(best[1])


def checklist_suffixes(count: int, seed: int, length: int = 10) -> list[str]:
    """CheckList's distractors as PromptBench uses them: `count` random sequences of `length` letters and digits,
    each appended as a word (seeded)."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    return [" " + "".join(rng.choice(alphabet) for _ in range(length)) for _ in range(count)]
