"""AddSent-style adversarial distractors for extractive QA, built offline from text alone (no model).

AddSent (Jia & Liang 2017, "Adversarial Examples for Evaluating Reading Comprehension Systems", EMNLP,
https://arxiv.org/abs/1707.07328) adds to a paragraph one sentence that looks like the question but does not answer
it: (1) the question is mutated (nouns and adjectives replaced by WordNet antonyms, named entities and numbers by
nearby ones: "Super Bowl 50" -> "Champ Bowl 40", "AFC" -> "NFC"); (2) a fake answer of the same type as the real one
is made up (a person for a person, a year for a year); (3) the two are turned into a declarative sentence. A model
that matches words instead of reading is drawn to the fake answer; a person is not: the sentence is about something
else and never holds the gold answer.

This version does the same three steps with rules and the task's own data: numbers become other numbers (from the
contexts, or shifted arithmetically), capitalised phrases other capitalised phrases of the contexts, lower-case words
with a WordNet noun or adjective antonym that antonym; fake answers are other answers of the task of the same type
(`answer_type`); a dozen question patterns are rearranged into statements (`declarative`); no sentence may contain a
gold answer (`contains_answer`). It does not use CoreNLP (no parser, tagger or named-entity recogniser: types and
phrases are read from capitals, digits and month names), nor GloVe (replacements come from the data, not nearest
neighbours), nor crowdworkers fixing the grammar (the paper had people correct every sentence; here the grammar is
approximate: "When did the Broncos win X?" becomes "The Broncos win X in 1998.", the tense lost).

Deterministic given the `random.Random` passed in; no network: WordNet comes from the harness's offline NLTK data,
and without it `wordnet_antonyms` gives () and mutation uses numbers and names only.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from harness.kinds.qa.examples import Answer, QAExample, answer_problem
from harness.kinds.qa.squad_metrics import normalize_answer
from harness.kinds.token.perturbations import _stopwords, match_case

# The answer types, kept few because they are read from the surface of the text (no named-entity recogniser).
ANSWER_TYPES = ("year", "number", "date", "person_or_proper", "other")
POSITIONS = ("end", "start", "random")

# A number (not the digits of "2nd"), a word (letters, with inner apostrophes or hyphens: "Levi's"), anything else.
_TOKEN = re.compile(r"(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)(?!\w)|(?P<word>[^\W\d_]+(?:['’-][^\W\d_]+)*)|(?P<other>\w+)")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?!\w)")
_YEAR = re.compile(r"1\d{3}|20\d{2}")
_NUMBER_START = re.compile(r"[$£€]?\d")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                          "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                          "hundred thousand million billion dozen".split())
_WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
_DO = frozenset({"do", "does", "did"})
_AUX = _DO | frozenset("is are was were has have had can could will would should may might must".split())
# Common irregular past forms: without a tagger, "-ed" and this list are how a verb is recognised.
_IRREGULAR_VERBS = frozenset("won lost became begun began wrote written led held made took taken gave given found "
                             "built sold bought brought taught thought fought left met paid said sent spent told known "
                             "knew grew grown saw seen went gone came come ran beat born chose chosen drew drawn fell "
                             "flew kept laid rose set shot sang spoke stood struck threw understood wore".split())
_PREPOSITIONS = frozenset("in at on by during for from of to with under after before since within".split())
_TIME_NOUNS = frozenset({"year", "decade", "century", "month", "day", "date", "era", "period", "season"})


# ----------------------------------------------------------------------------------------------- answer types


def answer_type(text: str) -> str:
    """The type of an answer, read from its surface (one of ANSWER_TYPES, checked in this order):
    "year" (a lone year, 1000-2099), "date" (a month name and a digit: "February 7, 2016"), "number" (starts with a
    number, digits or a number word: "24–10", "$1.2 billion", "three"), "person_or_proper" (every word that is not
    a stopword is capitalised: "Denver Broncos", "Santa Clara, California"), "other" (the rest)."""
    stripped = text.strip().strip(".,;:")
    words = stripped.split()
    if not words:
        return "other"
    if _YEAR.fullmatch(stripped):
        return "year"
    months = {month.lower() for month in _MONTHS}
    if any(word.strip(",.").lower() in months for word in words) and any(ch.isdigit() for ch in stripped):
        return "date"
    if _NUMBER_START.match(stripped) or words[0].lower() in _NUMBER_WORDS:
        return "number"
    content = [word for word in words if word.strip(",.()").lower() not in _stopwords()]
    if content and all(word[:1].isupper() or word[:1].isdigit() for word in content):
        if any(word[:1].isupper() for word in content):
            return "person_or_proper"
    return "other"


def question_answer_type(question: str) -> str:
    """The answer type a question asks for, from its wh-word (for unanswerable questions, which have no answer to
    read): how many/much -> "number"; what/which year (decade, century) -> "year"; what/which day or date -> "date";
    when -> "year" (SQuAD's "when" answers are mostly years); who/whom/whose and where -> "person_or_proper";
    anything else -> "other"."""
    lowered = question.lower()
    if re.search(r"\bhow (many|much)\b", lowered):
        return "number"
    if re.search(r"\b(what|which) (day|date)\b", lowered):
        return "date"
    if re.search(r"\b(what|which) (year|decade|century)\b", lowered):
        return "year"
    found = re.search(r"\b(who|whom|whose|where|when)\b", lowered)
    if found is None:
        return "other"
    return "year" if found.group(1) == "when" else "person_or_proper"


# ----------------------------------------------------------------------------------------------- the pool


def _is_capitalised(token: re.Match[str]) -> bool:
    return token.lastgroup == "word" and len(token.group()) > 1 and token.group()[0].isupper()


def _capitalised_runs(text: str) -> list[tuple[int, int]]:
    """Token index ranges [first, last) of capitalised words joined by single spaces ("Super Bowl", "University of
    Notre Dame": an inner "of" joins two capitalised words). The phrases a named-entity recogniser would mostly find."""
    tokens = list(_TOKEN.finditer(text))
    runs, index = [], 0
    while index < len(tokens):
        if not _is_capitalised(tokens[index]):
            index += 1
            continue
        end = index + 1
        while end < len(tokens):
            joined = text[tokens[end - 1].end():tokens[end].start()] == " "
            if joined and _is_capitalised(tokens[end]):
                end += 1
            elif (joined and tokens[end].group() == "of" and end + 1 < len(tokens) and _is_capitalised(tokens[end + 1])
                  and text[tokens[end].end():tokens[end + 1].start()] == " "):
                end += 2
            else:
                break
        runs.append((index, end))
        index = end
    return runs


def _phrase_bounds(text: str, tokens: list[re.Match[str]], first: int, last: int) -> tuple[int, int]:
    """The character range of tokens [first, last), without a trailing possessive ("Beyoncé's" -> "Beyoncé")."""
    start, end = tokens[first].start(), tokens[last - 1].end()
    if text[start:end].endswith(("'s", "’s")):
        end -= 2
    return start, end


def _context_phrases(context: str) -> list[str]:
    """The capitalised phrases of a context that look like names. A sentence's first word is capitalised for being
    first: leading stopwords there are dropped ("The Broncos" -> "Broncos"; "the Most Valuable Player" inside a
    sentence keeps its "Most"), and a lone word opening a sentence is skipped."""
    tokens, phrases = list(_TOKEN.finditer(context)), []
    for first, last in _capitalised_runs(context):
        before = context[:tokens[first].start()].rstrip()
        if not before or before[-1] in ".!?\"'":
            opening = first
            while first < last and tokens[first].group().lower() in _stopwords():
                first += 1
            if last - opening == 1 or first == last:
                continue
        start, end = _phrase_bounds(context, tokens, first, last)
        if end - start > 1 and context[start:end] not in _MONTHS:
            phrases.append(context[start:end])
    return phrases


@dataclass(frozen=True)
class DistractorPool:
    """Replacement material drawn from a task's own data (deterministic: each entry once, sorted, so the same data in
    any order gives the same pool; the randomness is the `random.Random` of each draw): answers grouped by answer type
    (`answer_type`), capitalised phrases (entity-like) seen in contexts, and numbers seen in contexts."""

    answers_by_type: Mapping[str, tuple[str, ...]]
    proper_nouns: tuple[str, ...]
    numbers: tuple[str, ...] = ()

    @classmethod
    def from_examples(cls, examples: Sequence[QAExample]) -> "DistractorPool":
        """The pool of `examples` (e.g. the split under test, as the paper drew from SQuAD's own answers)."""
        answers: dict[str, set[str]] = {}
        proper: set[str] = set()
        numbers: set[str] = set()
        for example in examples:
            for answer in example.answers:
                text = answer.text.strip()
                if normalize_answer(text):
                    answers.setdefault(answer_type(text), set()).add(text)
            proper.update(_context_phrases(example.context))
            numbers.update(match.group() for match in _NUMBER.finditer(example.context))
        return cls(answers_by_type={kind: tuple(sorted(texts)) for kind, texts in sorted(answers.items())},
                   proper_nouns=tuple(sorted(proper)), numbers=tuple(sorted(numbers)))


# ----------------------------------------------------------------------------------------------- fake answers


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether the normalised tokens (SQuAD's `normalize_answer`) of any gold answer that normalises to something
    occur as a contiguous run of the normalised tokens of `text`: what a model could extract as that answer."""
    tokens = normalize_answer(text).split()
    for answer in answers:
        needle = normalize_answer(answer).split()
        size = len(needle)
        if needle and any(tokens[index:index + size] == needle for index in range(len(tokens) - size + 1)):
            return True
    return False


def _clashes(candidate: str, avoid: Sequence[str]) -> bool:
    """A candidate that is empty, holds an avoided answer or is held by one ("Broncos" for "Denver Broncos": a
    model predicting it would get partial credit, so it is no fake)."""
    if not normalize_answer(candidate):
        return True
    return any(contains_answer(candidate, [gold]) or contains_answer(gold, [candidate]) for gold in avoid)


def _is_year(text: str) -> bool:
    return _YEAR.fullmatch(text) is not None


def _shifted_number(number: str, rng: random.Random) -> str:
    """Another number near `number`, written the same way (thousands commas and decimals kept): a year moves by 1-15
    years, another number by up to half its size (never to itself, never below zero)."""
    integer, dot, decimals = number.partition(".")
    value = int(integer.replace(",", ""))
    if _is_year(number):
        shifted = value + rng.randint(1, 15) * rng.choice((-1, 1))
    else:
        delta = rng.randint(1, max(1, value // 2))
        shifted = value - delta if value - delta >= 0 and rng.random() < 0.5 else value + delta
    written = f"{shifted:,}" if "," in integer else str(shifted)
    return written + (dot + decimals if dot else "")


def _shifted_text(text: str, rng: random.Random) -> Optional[str]:
    """`text` with one number shifted (its year if it has one, else its first number), or None if it has none."""
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return None
    chosen = next((match for match in numbers if _is_year(match.group())), numbers[0])
    return text[:chosen.start()] + _shifted_number(chosen.group(), rng) + text[chosen.end():]


def _invented(kind: str, rng: random.Random) -> str:
    if kind == "year":
        return str(rng.randint(1800, 2020))
    if kind == "date":
        return f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(1800, 2020)}"
    return str(rng.randint(2, 999))


def _candidate_lists(kind: str, pool: DistractorPool) -> list[Sequence[str]]:
    """Where fake answers of `kind` come from, best first."""
    lists: list[Sequence[str]] = [pool.answers_by_type.get(kind, ())]
    if kind == "person_or_proper":
        lists.append(pool.proper_nouns)
    elif kind == "year":
        lists.append([number for number in pool.numbers if _is_year(number)])
    elif kind == "number":
        lists.append([number for number in pool.numbers if not _is_year(number)])
    elif kind == "other":
        # No typed material: any answer of the task still reads as an answer (the paper's fixed fakes did the same).
        lists.append(sorted({text for texts in pool.answers_by_type.values() for text in texts}))
    return lists


def fake_answer(kind: str, pool: DistractorPool, rng: random.Random, avoid: Sequence[str]) -> str:
    """A fake answer of type `kind` (one of ANSWER_TYPES) that does not normalise equal to, contain or lie inside any
    answer in `avoid` (the gold answers): another answer of that type from the pool, else (names) a phrase of the
    contexts or (numbers, years) a number of the contexts; years, numbers and dates the pool lacks are made by
    shifting a number of a gold answer (or invented). "" when nothing fits (a kind with no material)."""
    if kind not in ANSWER_TYPES:
        raise ValueError(f"unknown answer type {kind!r}; expected one of {', '.join(ANSWER_TYPES)}")
    for candidates in _candidate_lists(kind, pool):
        usable = [candidate for candidate in candidates if not _clashes(candidate, avoid)]
        if usable:
            return rng.choice(usable)
    if kind not in ("year", "number", "date"):
        return ""
    bases = [gold for gold in avoid if _NUMBER.search(gold) and answer_type(gold) == kind]
    for _ in range(20):
        shifted = _shifted_text(bases[0], rng) if bases else None
        candidate = shifted if shifted is not None else _invented(kind, rng)
        if not _clashes(candidate, avoid):
            return candidate
    return ""


# ----------------------------------------------------------------------------------------------- mutation


@functools.lru_cache(maxsize=65536)
def wordnet_antonyms(word: str) -> tuple[str, ...]:
    """Single-word, lower-case WordNet antonyms of `word` as a noun or an adjective (AddSent mutates nouns and
    adjectives; a verb's antonym would also lose the verb's tense), in WordNet's order; () for stopwords, words that
    are not purely alphabetic, and when WordNet is not installed."""
    lowered = word.lower()
    if not word.isalpha() or len(word) < 2 or lowered in _stopwords():
        return ()
    from harness.core.resources import prepare_offline_resources

    prepare_offline_resources()  # WordNet from the harness's offline NLTK data
    from nltk.corpus import wordnet

    try:
        found: dict[str, None] = {}
        for pos in ("n", "a", "s"):
            forms = {lowered, wordnet.morphy(lowered, pos)}
            for synset in wordnet.synsets(lowered, pos=pos):
                # Antonymy links lemmas, not synsets: only the word's own lemma's antonyms are its antonyms.
                for lemma in synset.lemmas():
                    if lemma.name().lower() not in forms:
                        continue
                    for antonym in lemma.antonyms():
                        name = antonym.name()
                        if name.isalpha() and name.islower() and name != lowered:
                            found[name] = None
        return tuple(found)
    except LookupError:  # WordNet absent: mutation goes on with numbers and names
        return ()


def _replacement_number(number: str, pool: DistractorPool, rng: random.Random, question: str,
                        avoid: Sequence[str]) -> str:
    """Another number for one in the question: from the contexts (a year for a year), else shifted."""
    same_kind = [other for other in pool.numbers if _is_year(other) == _is_year(number) and other != number
                 and not contains_answer(question, [other]) and not _clashes(other, avoid)]
    return rng.choice(same_kind) if same_kind else _shifted_number(number, rng)


def _shape(phrase: str) -> tuple[bool, int]:
    """What a good replacement looks like: an acronym for an acronym ("AFC" -> "NFC"), else as many words."""
    return phrase.isupper() and " " not in phrase, min(len(phrase.split()), 3)


def _replacement_phrase(phrase: str, pool: DistractorPool, rng: random.Random, question: str,
                        avoid: Sequence[str]) -> Optional[str]:
    candidates = [other for other in pool.proper_nouns if normalize_answer(other) != normalize_answer(phrase)
                  and not contains_answer(question, [other]) and not _clashes(other, avoid)]
    alike = [other for other in candidates if _shape(other) == _shape(phrase)]
    options = alike or candidates
    return rng.choice(options) if options else None


def mutate_question(question: str, pool: DistractorPool, rng: random.Random,
                    antonyms: Callable[[str], Sequence[str]] = wordnet_antonyms, *,
                    avoid: Sequence[str] = ()) -> tuple[str, tuple[str, ...]]:
    """The question about something else, and what changed ("old -> new" each): every number becomes another,
    every capitalised phrase after the first word another phrase of the pool, then every lower-case word with an
    antonym (`antonyms`, default WordNet nouns and adjectives) its antonym, capitalisation kept. No replacement
    holds or lies inside an answer of `avoid`. (question, ()) when nothing could change."""
    tokens = list(_TOKEN.finditer(question))
    edits: dict[tuple[int, int], str] = {}  # character range -> replacement
    taken: set[int] = set()  # token indices already replaced
    for index, token in enumerate(tokens):
        if token.lastgroup == "number":
            edits[token.span()] = _replacement_number(token.group(), pool, rng, question, [*avoid, *edits.values()])
            taken.add(index)
    for first, last in _capitalised_runs(question):
        # The first word is capitalised for opening the question ("Which NFL team ..."), not for being a name.
        first = max(first, 1)
        if first >= last:
            continue
        start, end = _phrase_bounds(question, tokens, first, last)
        # Each phrase gets its own replacement ("NFL" and "AFC" both becoming "NFC" would merge two names).
        replacement = _replacement_phrase(question[start:end], pool, rng, question, [*avoid, *edits.values()])
        if replacement is not None:
            edits[(start, end)] = replacement
            taken.update(range(first, last))
    for index, token in enumerate(tokens):
        word = token.group()
        # "How many" -> "How few" would break the wh-phrase that `declarative` reads.
        wh_phrase = word.lower() in _WH_WORDS or (index > 0 and tokens[index - 1].group().lower() == "how")
        if index in taken or wh_phrase or token.lastgroup != "word" or (index > 0 and not word.islower()):
            continue
        options = [option for option in antonyms(word.lower()) if not _clashes(option, avoid)]
        if options:
            edits[token.span()] = match_case(rng.choice(options), word)
    if not edits:
        return question, ()
    mutated, mutations, cursor = [], [], 0
    for (start, end), replacement in sorted(edits.items()):
        mutated.append(question[cursor:start] + replacement)
        mutations.append(f"{question[start:end]} -> {replacement}")
        cursor = end
    mutated.append(question[cursor:])
    return "".join(mutated), tuple(mutations)


# ----------------------------------------------------------------------------------------------- declarative


def _looks_like_verb(word: str) -> bool:
    lowered = word.lower()
    if lowered in _AUX or lowered in _IRREGULAR_VERBS:
        return True
    return word.islower() and len(lowered) > 3 and lowered.endswith("ed") and not lowered.endswith("eed")


def _split_noun_phrase(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the noun phrase after a wh-determiner, the rest from its verb on): "NFL team" | "represented the AFC ..."."""
    for index, word in enumerate(words):
        if _looks_like_verb(word):
            return list(words[:index]), list(words[index:])
    return list(words), []


def _clause(aux: str, rest: Sequence[str]) -> list[str]:
    """The statement order of an inverted clause: do/does/did dropped ("did the Broncos win" -> "the Broncos win",
    the tense lost); another auxiliary moved before the first verb-like word after the subject ("was the game played"
    -> "the game was played"), or after everything when there is none ("is Paris" -> "Paris is")."""
    if aux.lower() in _DO:
        return list(rest)
    for index in range(1, len(rest)):
        if _looks_like_verb(rest[index]):
            return [*rest[:index], aux.lower(), *rest[index:]]
    return [*rest, aux.lower()]


def _prepositional(aux_and_rest: Sequence[str], fake: str, preposition: str) -> Optional[list[str]]:
    """"did X happen" -> "X happen <preposition> <fake>"; None without an auxiliary to invert."""
    if aux_and_rest and aux_and_rest[0].lower() in _AUX:
        return [*_clause(aux_and_rest[0], aux_and_rest[1:]), preposition, fake]
    return None


def _time_preposition(fake: str, noun: str = "") -> str:
    full_date = answer_type(fake) == "date" and re.search(r"\b\d{1,2}\b", fake) is not None
    return "on" if noun in ("day", "date") or full_date else "in"


def _wh_determiner(words: Sequence[str], fake: str, preposition: Optional[str]) -> Optional[list[str]]:
    """What/Which questions: "Which NFL team represented X" -> "<fake> represented X"; "What is X" -> "X is <fake>";
    "What (team) did X beat" -> "X beat <fake>"; "(In) what year did X happen" -> "X happen in <fake>"."""
    noun_phrase, rest = _split_noun_phrase(words)
    if not rest:
        return None
    noun = noun_phrase[-1].lower() if noun_phrase else ""
    if preposition is None and noun in _TIME_NOUNS and rest[0].lower() in _AUX:
        preposition = _time_preposition(fake, noun)
    if preposition is not None:
        return _prepositional(rest, fake, preposition)
    verb = rest[0].lower()
    if verb in _DO or (not noun_phrase and verb in _AUX):
        return [*_clause(rest[0], rest[1:]), fake]
    return [fake, *rest]


def _how_many(words: Sequence[str], fake: str) -> list[str]:
    """"How many people live in X" -> "<fake> people live in X"; "How many points did X score" -> "X score <fake>
    points"; "How much did X cost" -> "X cost <fake>"."""
    noun_phrase, rest = _split_noun_phrase(words)
    if rest and rest[0].lower() in _DO:
        return [*_clause(rest[0], rest[1:]), fake, *noun_phrase]
    if rest and not noun_phrase and rest[0].lower() in _AUX:
        return [*_clause(rest[0], rest[1:]), fake]
    return [fake, *noun_phrase, *rest]


def _mid_question(words: Sequence[str], fake: str) -> Optional[list[str]]:
    """A wh-word inside the question ("The Broncos beat which team in 2015"): the wh-phrase becomes the fake."""
    for index in range(1, len(words)):
        lowered = words[index].lower()
        if lowered in ("who", "whom"):
            return [*words[:index], fake, *words[index + 1:]]
        if lowered in ("when", "where"):
            preposition = _time_preposition(fake) if lowered == "when" else "at"
            return [*words[:index], preposition, fake, *words[index + 1:]]
        if lowered in ("what", "which"):
            end = index + 1
            while end < len(words) and words[end].lower() not in _stopwords() and not _looks_like_verb(words[end]):
                end += 1
            return [*words[:index], fake, *words[end:]]
    return None


def _rearranged(words: list[str], fake: str) -> Optional[list[str]]:
    lowered = [word.lower() for word in words]
    preposition = None
    if len(words) > 2 and lowered[0] in _PREPOSITIONS and lowered[1] in ("what", "which"):
        preposition, words, lowered = lowered[0], words[1:], lowered[1:]  # "In what year ..."
    head, rest = lowered[0], words[1:]
    if head == "how" and rest and lowered[1] in ("many", "much"):
        return _how_many(rest[1:], fake)
    if head in ("who", "whom"):
        if rest and rest[0].lower() in _DO:
            return [*_clause(rest[0], rest[1:]), fake]
        return [fake, *rest]
    if head in ("when", "where"):
        return _prepositional(rest, fake, _time_preposition(fake) if head == "when" else "at")
    if head in ("what", "which"):
        return _wh_determiner(rest, fake, preposition)
    return _mid_question(words, fake)


def _as_sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(" ,;:")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def declarative(question: str, fake: str) -> str:
    """The question as a statement whose answer slot holds `fake`, by rules (see the rule helpers):
    "Which NFL team represented the AFC ...?" -> "<fake> represented the AFC ..."; "Who <verb> ...?" -> "<fake>
    <verb> ..."; "What is/was X?" -> "X is/was <fake>."; "When/Where did X <verb> ...?" -> "X <verb> ... in/at
    <fake>." (do/did/does dropped); "How many X <verb> ...?" -> "<fake> X <verb> ..."; "How many X did Y <verb>?" ->
    "Y <verb> <fake> X."; a wh-word inside the question is replaced where it stands. Anything else: the question
    without its wh-word and '?', then ", <fake>.". Always a first capital and a final '.'.

    The grammar is approximate (no parser: verbs are found by "-ed" and a list of irregular forms, tense is lost when
    do/did is dropped); the paper had crowdworkers fix each sentence, this offline version does not."""
    words = question.strip().rstrip("?.! ").split()
    fake = fake.strip()
    if not words:
        return _as_sentence(fake)
    arranged = _rearranged(words, fake)
    if arranged is None:
        wh_index = next((index for index, word in enumerate(words) if word.lower() in _WH_WORDS), None)
        kept = [word for index, word in enumerate(words) if index != wh_index]
        return _as_sentence(f"{' '.join(kept)}, {fake}" if kept else fake)
    return _as_sentence(" ".join(arranged))


# ----------------------------------------------------------------------------------------------- AddSent


@dataclass(frozen=True)
class Distractor:
    """One AddSent sentence: what to insert, the fake answer it holds, and what the question mutation changed."""

    sentence: str
    fake_answer: str
    mutations: tuple[str, ...]


def _content(text: str, without: str = "") -> set[str]:
    dropped = set(normalize_answer(without).split()) | _WH_WORDS | _stopwords()
    return {token for token in normalize_answer(text).split() if token not in dropped}


def add_sent(example: QAExample, pool: DistractorPool, rng: random.Random, attempts: int = 5, *,
             antonyms: Callable[[str], Sequence[str]] = wordnet_antonyms) -> Optional[Distractor]:
    """An AddSent distractor for `example`: the answer type from its first gold answer (from the question when it
    has none), the question mutated, a fake answer of that type, the two made a statement. Up to `attempts` tries
    with fresh draws from `rng`; None when none gives a sentence that says something the question does not (beyond
    the fake answer) and holds no gold answer."""
    golds = [answer.text for answer in example.answers]
    kind = answer_type(golds[0]) if golds else question_answer_type(example.question)
    for _ in range(attempts):
        fake = fake_answer(kind, pool, rng, golds)
        if not fake:
            return None  # no material for this answer type: every attempt would fail the same way
        # The fake drawn first, so that no replacement in the question repeats it (or holds a gold answer).
        mutated, mutations = mutate_question(example.question, pool, rng, antonyms, avoid=[*golds, fake])
        if not mutations:
            continue
        sentence = declarative(mutated, fake)
        if contains_answer(sentence, golds) or _content(sentence, fake) <= _content(example.question):
            continue
        return Distractor(sentence=sentence, fake_answer=fake, mutations=mutations)
    return None


def _boundaries(context: str, answers: Sequence[Answer]) -> list[int]:
    """Offsets where a sentence may go: just after a '.', '!' or '?' and the whitespace that follows it (the next
    sentence's first character), never strictly inside an answer span."""
    return [match.end() for match in re.finditer(r"[.!?]\s+(?=\S)", context)
            if not any(answer.start < match.end() < answer.end for answer in answers)]


def insert_sentence(example: QAExample, sentence: str, position: str,
                    rng: random.Random) -> tuple[QAExample, tuple[int, int]]:
    """`example` with `sentence` added to its context, and the (start, end) of the sentence in the new context.
    `position`: "end" (after the last sentence, one space between), "start" (before the first), or "random" (a
    sentence boundary drawn with `rng`, see `_boundaries`; the end when the context has none). Answers after the
    insertion move with it, so they still point at their text."""
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {', '.join(POSITIONS)}, got {position!r}")
    problem = answer_problem(example)
    if problem is not None:
        raise ValueError(f"example {example.id!r}: {problem}")
    sentence = sentence.strip()
    if not sentence:
        raise ValueError("the sentence to insert is empty")
    context = example.context
    boundaries = _boundaries(context, example.answers) if position == "random" else []
    if position == "start" or boundaries:
        offset, added = (0 if position == "start" else rng.choice(boundaries)), sentence + " "
    else:  # "end", or "random" in a one-sentence context
        offset = len(context)
        added = sentence if context[-1:].isspace() else " " + sentence
    start = offset + added.index(sentence)
    new_context = context[:offset] + added + context[offset:]
    answers = tuple(Answer(answer.text, answer.start + len(added) if answer.start >= offset else answer.start)
                    for answer in example.answers)
    new = dataclasses.replace(example, context=new_context, answers=answers)
    assert answer_problem(new) is None  # by construction: the insertion never lands inside an answer
    return new, (start, start + len(sentence))
