"""AddSent-style distractors (harness.kinds.qa.distractors): answer types, question mutation, declarative sentences,
the never-the-gold-answer guarantee over many seeds, and insertion that keeps every answer span aligned."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from harness.kinds.qa.distractors import (
    Distractor,
    DistractorPool,
    add_sent,
    answer_type,
    contains_answer,
    declarative,
    fake_answer,
    insert_sentence,
    mutate_question,
    question_answer_type,
    wordnet_antonyms,
)
from harness.kinds.qa.examples import Answer, QAExample, answer_problem
from harness.kinds.qa.squad_metrics import normalize_answer

WORDNET = Path("/usr/share/wordnet/data.noun").exists()

SUPER_BOWL = ("Super Bowl 50 was an American football game to determine the champion of the National Football League "
              "(NFL) for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the "
              "National Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl "
              "title. The game was played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area at "
              "Santa Clara, California. Von Miller was named the Most Valuable Player after recording five tackles.")
NORMANS = ("The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
           "France. In 1066, the Normans under William the Conqueror conquered England at the Battle of Hastings. "
           "The Norman dynasty had a major political, cultural and military impact on medieval Europe.")
PANTHERS = ("The Carolina Panthers finished the regular season with a 15–1 record. Quarterback Cam Newton threw 35 "
            "touchdowns and was named the league's Most Valuable Player. The team lost only one game, to the Atlanta "
            "Falcons in week 16.")
PARIS = ("Paris is the capital and most populous city of France. The city has an estimated population of 2,102,650 "
         "residents. Since the 17th century, Paris has been one of Europe's major centres of finance, diplomacy and "
         "the arts.")


def qa(identifier: str, question: str, context: str, *answers: str) -> QAExample:
    example = QAExample(id=identifier, question=question, context=context,
                        answers=tuple(Answer(text, context.index(text)) for text in answers), title=identifier)
    assert answer_problem(example) is None
    return example


EXAMPLES = (
    qa("nfl", "Which NFL team represented the AFC at Super Bowl 50?", SUPER_BOWL,
       "Denver Broncos", "Denver Broncos", "Denver Broncos"),
    qa("mvp", "Who was named the Most Valuable Player of Super Bowl 50?", SUPER_BOWL, "Von Miller"),
    qa("where", "Where did Super Bowl 50 take place?", SUPER_BOWL, "Santa Clara, California", "Levi's Stadium"),
    qa("year", "In what year did the Normans conquer England?", NORMANS, "1066"),
    qa("how-many", "How many touchdowns did Cam Newton throw in the regular season?", PANTHERS, "35"),
    qa("capital", "What is the capital of France?", PARIS, "Paris"),
    qa("impossible", "Who founded the city of Paris in 1500?", PARIS),
)
POOL = DistractorPool.from_examples(EXAMPLES)


def no_antonyms(word: str) -> tuple[str, ...]:
    return ()


def golds(example: QAExample) -> list[str]:
    return [answer.text for answer in example.answers]


# ----------------------------------------------------------------------------------------------- answer types


@pytest.mark.parametrize("text, expected", [
    ("1066", "year"), ("2016", "year"), ("February 7, 2016", "date"), ("7 February 2016", "date"),
    ("35", "number"), ("24–10", "number"), ("$1.2 billion", "number"), ("three", "number"),
    ("2,102,650 residents", "number"), ("Denver Broncos", "person_or_proper"),
    ("the Denver Broncos", "person_or_proper"), ("Santa Clara, California", "person_or_proper"),
    ("Levi's Stadium", "person_or_proper"), ("touchdown passes", "other"), ("in the late 1990s", "other"),
    ("", "other"),
])
def test_answer_type(text, expected):
    assert answer_type(text) == expected


@pytest.mark.parametrize("question, expected", [
    ("How many touchdowns did Cam Newton throw?", "number"), ("How much did the stadium cost?", "number"),
    ("When did the Normans conquer England?", "year"), ("In what year did the Normans conquer England?", "year"),
    ("What day was the game played on?", "date"), ("Who founded Paris?", "person_or_proper"),
    ("Where did Super Bowl 50 take place?", "person_or_proper"), ("Why did the Broncos win?", "other"),
    ("What is the capital of France?", "other"),
])
def test_question_answer_type(question, expected):
    assert question_answer_type(question) == expected


# ----------------------------------------------------------------------------------------------- declarative


@pytest.mark.parametrize("question, expected", [
    ("Which NFL team represented the AFC at Super Bowl 50?", "Chicago Bears represented the AFC at Super Bowl 50."),
    ("Who won Super Bowl 50?", "Chicago Bears won Super Bowl 50."),
    ("Who did the Broncos beat?", "The Broncos beat Chicago Bears."),
    ("What is the capital of France?", "The capital of France is Chicago Bears."),
    ("What was the name of the stadium?", "The name of the stadium was Chicago Bears."),
    ("What team did the Broncos beat?", "The Broncos beat Chicago Bears."),
    ("When did the Normans conquer England?", "The Normans conquer England in Chicago Bears."),
    ("Where did the Broncos play?", "The Broncos play at Chicago Bears."),
    ("When was the game played at Levi's Stadium?", "The game was played at Levi's Stadium in Chicago Bears."),
    ("In what year did the Normans conquer England?", "The Normans conquer England in Chicago Bears."),
    ("What year was the game played?", "The game was played in Chicago Bears."),
    ("How many people live in Paris?", "Chicago Bears people live in Paris."),
    ("How many points did the Broncos score?", "The Broncos score Chicago Bears points."),
    ("How much did the stadium cost?", "The stadium cost Chicago Bears."),
    ("The Broncos beat which team in the final?", "The Broncos beat Chicago Bears in the final."),
    ("Why did the Broncos win?", "Did the Broncos win, Chicago Bears."),
    ("Name the team that won.", "Name the team that won, Chicago Bears."),
])
def test_declarative_rules(question, expected):
    assert declarative(question, "Chicago Bears") == expected


def test_declarative_puts_a_full_date_after_on():
    assert declarative("When was the game played?", "March 3, 2011") == "The game was played on March 3, 2011."
    assert declarative("When was the game played?", "1998") == "The game was played in 1998."


@pytest.mark.parametrize("question", [example.question for example in EXAMPLES] + ["what?", "Why", "?"])
def test_declarative_is_always_a_capitalised_sentence(question):
    sentence = declarative(question, "fake answer")
    assert sentence[0].isupper() and sentence.endswith(".") and "?" not in sentence
    assert "fake answer" in sentence.lower()


# ----------------------------------------------------------------------------------------------- answers and fakes


def test_contains_answer_matches_normalised_token_runs():
    assert contains_answer("The Denver Broncos won.", ["denver broncos"])
    assert contains_answer("It ended 24–10, then", ["24–10"])
    assert not contains_answer("The Denverite Broncos won.", ["Denver Broncos"])
    assert not contains_answer("Broncos Denver", ["Denver Broncos"])
    assert not contains_answer("anything at all", ["", "the", "  "])  # answers that normalise to nothing


def test_fake_answers_keep_the_type_and_avoid_the_gold():
    for seed in range(100):
        rng = random.Random(seed)
        year = fake_answer("year", POOL, rng, ["1066"])
        assert answer_type(year) == "year" and year != "1066"
        number = fake_answer("number", POOL, rng, ["35"])
        assert answer_type(number) == "number" and normalize_answer(number) != "35"
        name = fake_answer("person_or_proper", POOL, rng, ["Denver Broncos"])
        assert answer_type(name) == "person_or_proper"
        assert not contains_answer(name, ["Denver Broncos"]) and not contains_answer("Denver Broncos", [name])


def test_numbers_are_shifted_when_the_pool_has_none():
    empty = DistractorPool(answers_by_type={}, proper_nouns=())
    for seed in range(50):
        year = fake_answer("year", empty, random.Random(seed), ["1066"])
        assert answer_type(year) == "year" and year != "1066" and abs(int(year) - 1066) <= 15
        number = fake_answer("number", empty, random.Random(seed), ["2,102,650 residents"])
        assert re.fullmatch(r"[\d,]+ residents", number) and number != "2,102,650 residents"
        date = fake_answer("date", empty, random.Random(seed), ["February 7, 2016"])
        assert answer_type(date) == "date" and date.startswith("February 7, ") and date != "February 7, 2016"
    assert fake_answer("person_or_proper", empty, random.Random(0), ["Von Miller"]) == ""
    with pytest.raises(ValueError, match="unknown answer type"):
        fake_answer("colour", empty, random.Random(0), [])


# ----------------------------------------------------------------------------------------------- the pool


def test_the_pool_is_deterministic_whatever_the_order():
    shuffled = list(EXAMPLES)
    random.Random(3).shuffle(shuffled)
    assert DistractorPool.from_examples(shuffled) == POOL == DistractorPool.from_examples(EXAMPLES)
    assert POOL.answers_by_type["year"] == ("1066",)
    assert "Denver Broncos" in POOL.answers_by_type["person_or_proper"]
    assert {"NFC", "Carolina Panthers", "Battle of Hastings", "Levi's Stadium"} <= set(POOL.proper_nouns)
    # A lone capitalised word opening a sentence is not taken for a name, nor is a month.
    assert not {"The", "In", "Since", "Quarterback", "February"} & set(POOL.proper_nouns)
    assert "2016" in POOL.numbers and "35" in POOL.numbers


# ----------------------------------------------------------------------------------------------- mutation


def test_mutation_changes_numbers_names_and_antonym_words():
    antonyms = {"first": ("last",), "good": ("bad",)}.get
    question = "Which NFL team represented the AFC at the first Super Bowl 50?"
    mutated, mutations = mutate_question(question, POOL, random.Random(0), lambda word: antonyms(word, ()))
    changed = [mutation.split(" -> ")[0] for mutation in mutations]
    assert changed == ["NFL", "AFC", "first", "Super Bowl", "50"]
    assert mutated.startswith("Which ") and "last" in mutated and mutated.endswith("?")
    assert all(old != new for old, new in (mutation.split(" -> ") for mutation in mutations))


def test_mutation_avoids_the_answers_and_keeps_the_wh_phrase():
    for seed in range(50):
        mutated, mutations = mutate_question("How many touchdowns did Cam Newton throw?", POOL, random.Random(seed),
                                             lambda word: ("few",) if word in ("many", "touchdowns") else (),
                                             avoid=["Carolina Panthers"])
        assert mutated.startswith("How many ") and mutations
        assert not contains_answer(mutated, ["Carolina Panthers"])


def test_a_question_with_nothing_to_change_stays_as_it_is():
    empty = DistractorPool(answers_by_type={"other": ("x",)}, proper_nouns=())
    assert mutate_question("what is it?", empty, random.Random(0), no_antonyms) == ("what is it?", ())
    assert add_sent(qa("none", "what is it?", PARIS, "Paris"), empty, random.Random(0), antonyms=no_antonyms) is None


@pytest.mark.skipif(not WORDNET, reason="WordNet (Debian's wordnet-base) is not installed")
def test_wordnet_antonyms():
    assert "bad" in wordnet_antonyms("good")
    assert "last" in wordnet_antonyms("first")
    assert all(antonym.isalpha() and antonym.islower() for antonym in wordnet_antonyms("good"))


def test_wordnet_antonyms_skips_stopwords_and_non_words():
    assert wordnet_antonyms("the") == () and wordnet_antonyms("50") == () and wordnet_antonyms("x") == ()


# ----------------------------------------------------------------------------------------------- AddSent


@pytest.mark.parametrize("antonyms", [wordnet_antonyms, no_antonyms], ids=["wordnet", "no-antonyms"])
def test_a_distractor_never_holds_a_gold_answer(antonyms):
    made = 0
    for seed in range(200):
        for example in EXAMPLES:
            distractor = add_sent(example, POOL, random.Random(f"{seed}-{example.id}"), antonyms=antonyms)
            if distractor is None:
                continue
            made += 1
            assert isinstance(distractor, Distractor) and distractor.mutations
            assert not contains_answer(distractor.sentence, golds(example)), (example.question, distractor)
            assert distractor.fake_answer in distractor.sentence
            assert normalize_answer(distractor.sentence) != normalize_answer(example.question)
            assert distractor.sentence.endswith(".") and distractor.sentence[0].isupper()
            if example.answers and answer_type(example.answers[0].text) in ("year", "number"):
                assert answer_type(distractor.fake_answer) == answer_type(example.answers[0].text)
    assert made >= 0.9 * 200 * len(EXAMPLES)


def test_every_example_gets_a_distractor_that_changes_the_question():
    for example in EXAMPLES:
        distractor = add_sent(example, POOL, random.Random(0), antonyms=no_antonyms)
        assert distractor is not None, example.question
        changed = {old for old, _ in (mutation.split(" -> ") for mutation in distractor.mutations)}
        assert changed and all(old in example.question for old in changed)


def test_add_sent_is_deterministic_given_the_rng():
    for example in EXAMPLES:
        first = add_sent(example, POOL, random.Random(7))
        assert first == add_sent(example, POOL, random.Random(7))


# ----------------------------------------------------------------------------------------------- insertion


def assert_aligned(original: QAExample, new: QAExample, span: tuple[int, int], sentence: str) -> None:
    assert answer_problem(new) is None
    assert (new.id, new.question, new.title) == (original.id, original.question, original.title)
    assert new.context[span[0]:span[1]] == sentence
    assert len(new.answers) == len(original.answers)
    for old, answer in zip(original.answers, new.answers):
        assert answer.text == old.text and new.context[answer.start:answer.end] == answer.text
        assert answer.end <= span[0] or answer.start >= span[1]  # the sentence never overlaps an answer
    # Removing the sentence (and the one space added with it) gives the original context back.
    assert (new.context[:span[0]] + new.context[span[1]:].removeprefix(" ")).rstrip() == original.context.rstrip()


def test_insert_at_the_end_and_the_start():
    example, sentence = EXAMPLES[0], "Chicago Bears represented the NFC at Champ Bowl 40."
    new, span = insert_sentence(example, sentence, "end", random.Random(0))
    assert new.context == example.context + " " + sentence and span == (len(example.context) + 1, len(new.context))
    assert new.answers == example.answers
    assert_aligned(example, new, span, sentence)
    new, span = insert_sentence(example, sentence, "start", random.Random(0))
    assert new.context == sentence + " " + example.context and span == (0, len(sentence))
    assert all(moved.start == old.start + len(sentence) + 1 for moved, old in zip(new.answers, example.answers))
    assert_aligned(example, new, span, sentence)


def test_insert_at_random_sentence_boundaries():
    sentence = "Chicago Bears represented the NFC at Champ Bowl 40."
    for example in EXAMPLES:
        seen = set()
        for seed in range(30):
            new, span = insert_sentence(example, sentence, "random", random.Random(seed))
            assert_aligned(example, new, span, sentence)
            start = span[0]
            # Just after a '.', '!' or '?' and its whitespace, in the original context, and followed by the rest.
            assert re.search(r"[.!?]\s+$", new.context[:start]) and new.context[span[1]:].startswith(" ")
            seen.add(start)
        assert len(seen) > 1  # every context here has several sentences


def test_random_insertion_never_splits_an_answer():
    context = "He moved to St. Louis in 1990. He died there in 2001."
    example = qa("st-louis", "Where did he move?", context, "St. Louis")
    starts = {insert_sentence(example, "X.", "random", random.Random(seed))[1][0] for seed in range(20)}
    assert starts == {context.index("He died")}


def test_random_insertion_in_a_single_sentence_goes_at_the_end():
    example = qa("one", "Who won?", "The Broncos won.", "The Broncos")
    new, span = insert_sentence(example, "The Bears lost.", "random", random.Random(0))
    assert new.context == "The Broncos won. The Bears lost." and span == (17, 32)


def test_insert_sentence_rejects_bad_input():
    with pytest.raises(ValueError, match="position"):
        insert_sentence(EXAMPLES[0], "X.", "middle", random.Random(0))
    with pytest.raises(ValueError, match="empty"):
        insert_sentence(EXAMPLES[0], "  ", "end", random.Random(0))
