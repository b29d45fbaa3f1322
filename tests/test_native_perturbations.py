"""The harness-native perturbation augmenters: each changes text exactly as its module docstring says,
deterministically per (seed, text), one output per input."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from harness.core.types import StageEnvironment
from harness_plugins import (
    case_change,
    char_drop,
    char_swap,
    contractions,
    keyboard_typos,
    number_to_words,
    punctuation,
    whitespace,
)
from harness_plugins.case_change import CaseChange, CaseChangeConfig
from harness_plugins.char_drop import CharDrop, CharDropConfig
from harness_plugins.char_swap import CharSwap, CharSwapConfig
from harness_plugins.contractions import Contractions, ContractionsConfig
from harness_plugins.keyboard_typos import KEYBOARD_NEIGHBOURS, KeyboardTypos, KeyboardTyposConfig
from harness_plugins.number_to_words import NumberToWords, NumberToWordsConfig, number_words, ordinal_words
from harness_plugins.punctuation import Punctuation, PunctuationConfig
from harness_plugins.whitespace import Whitespace, WhitespaceConfig

MODULES = {
    "keyboard-typos": keyboard_typos, "char-swap": char_swap, "char-drop": char_drop, "case-change": case_change,
    "punctuation": punctuation, "contractions": contractions, "whitespace": whitespace,
    "number-to-words": number_to_words,
}

# One configured augmenter per plugin and mode; the seeded ones are the ones a seed can change.
SEEDED = {
    "keyboard-typos": lambda: KeyboardTypos(KeyboardTyposConfig()),
    "char-swap": lambda: CharSwap(CharSwapConfig()),
    "char-drop": lambda: CharDrop(CharDropConfig()),
    "case-change-random": lambda: CaseChange(CaseChangeConfig(mode="random")),
    "punctuation-add": lambda: Punctuation(PunctuationConfig(mode="add")),
    "whitespace-extra": lambda: Whitespace(WhitespaceConfig(mode="extra")),
    "whitespace-remove-random": lambda: Whitespace(WhitespaceConfig(mode="remove-random")),
}
UNSEEDED = {
    "case-change-lower": lambda: CaseChange(CaseChangeConfig(mode="lower")),
    "case-change-upper": lambda: CaseChange(CaseChangeConfig(mode="upper")),
    "case-change-title": lambda: CaseChange(CaseChangeConfig(mode="title")),
    "punctuation-strip": lambda: Punctuation(PunctuationConfig(mode="strip")),
    "contractions-expand": lambda: Contractions(ContractionsConfig(direction="expand")),
    "contractions-contract": lambda: Contractions(ContractionsConfig(direction="contract")),
    "whitespace-collapse": lambda: Whitespace(WhitespaceConfig(mode="collapse")),
    "number-to-words": lambda: NumberToWords(NumberToWordsConfig(also_ordinals=True)),
}
ALL = {**SEEDED, **UNSEEDED}

VOCABULARY = ("the", "film", "is", "a", "charming", "and", "often", "hilarious", "portrait", "of", "it", "'s",
              "do", "n't", "don't", "cannot", "42", "1,000", "3rd", ",", ".", "!", "surprisingly", "Tedious",
              "MOVIE", "we", "are", "not", "sure", "that", "director", "will", "never", "o'clock", "well-made")


def make_env(tmp_path, seed: int = 0) -> StageEnvironment:
    return StageEnvironment(device="cpu", seed=seed, work_dir=tmp_path, progress=lambda *a, **k: None)


def sst2_like_texts(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(5, 35))) for _ in range(count)]


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path)


# ------------------------------------------------------------------------------------------------ all plugins

@pytest.mark.parametrize("name", sorted(ALL))
def test_one_output_per_input_in_order_and_empty_stays_empty(name, env):
    augmenter = ALL[name]()
    texts = ["", *sst2_like_texts(6), "", "x"]
    outputs = augmenter.augment(texts, env)
    assert isinstance(outputs, list) and len(outputs) == len(texts)
    assert all(isinstance(output, str) for output in outputs)
    assert outputs[0] == "" and outputs[7] == ""
    # Order kept: each output is what the text gives on its own.
    assert outputs == [augmenter.augment([text], env)[0] for text in texts]
    assert augmenter.augment([], env) == []
    assert augmenter.augment(("a tuple", "of texts"), env) == augmenter.augment(["a tuple", "of texts"], env)


@pytest.mark.parametrize("name", sorted(ALL))
def test_same_seed_same_output_whatever_the_batch(name, tmp_path):
    texts = sst2_like_texts(40)
    env = make_env(tmp_path, seed=7)
    reference = ALL[name]().augment(texts, env)
    assert ALL[name]().augment(texts, make_env(tmp_path, seed=7)) == reference
    order = list(range(len(texts)))
    random.Random(3).shuffle(order)
    shuffled = ALL[name]().augment([texts[i] for i in order], env)
    assert {i: out for i, out in zip(order, shuffled)} == dict(enumerate(reference))
    halves = ALL[name]().augment(texts[25:], env) + ALL[name]().augment(texts[:25], env)
    assert halves == reference[25:] + reference[:25]
    # A duplicated text is perturbed the same way each time.
    assert ALL[name]().augment([texts[0], texts[0]], env) == [reference[0], reference[0]]


def test_same_seed_same_output_in_a_fresh_process(tmp_path):
    # hash() of a str is salted per process; the digest must not be.
    texts = sst2_like_texts(5)
    code = ("import sys, json; from pathlib import Path; from harness.core.types import StageEnvironment; "
            "from harness_plugins.keyboard_typos import KeyboardTypos, KeyboardTyposConfig; "
            "env = StageEnvironment(device='cpu', seed=3, work_dir=Path('.'), progress=None); "
            "print(json.dumps(KeyboardTypos(KeyboardTyposConfig()).augment(json.loads(sys.argv[1]), env)))")
    import json

    outputs = {subprocess.run([sys.executable, "-c", code, json.dumps(texts)], capture_output=True, text=True,
                              check=True, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == KeyboardTypos(KeyboardTyposConfig()).augment(texts, make_env(tmp_path, 3))


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_another_seed_gives_another_perturbation(name, tmp_path):
    texts = sst2_like_texts(10, seed=5)
    augmenter = SEEDED[name]()
    first = augmenter.augment(texts, make_env(tmp_path, seed=0))
    second = augmenter.augment(texts, make_env(tmp_path, seed=1))
    assert first != second
    assert sum(a != t for a, t in zip(first, texts)) == len(texts)  # every long text is changed


@pytest.mark.parametrize("name", sorted(UNSEEDED))
def test_deterministic_modes_ignore_the_seed(name, tmp_path):
    texts = sst2_like_texts(10, seed=5)
    augmenter = UNSEEDED[name]()
    assert augmenter.augment(texts, make_env(tmp_path, seed=0)) == augmenter.augment(texts, make_env(tmp_path, 1))


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_rate_zero_changes_nothing(name, env):
    augmenter = SEEDED[name]()
    augmenter.config = type(augmenter.config)(**{**augmenter.config.__dict__, "rate": 0.0})
    texts = sst2_like_texts(10)
    assert augmenter.augment(texts, env) == texts


@pytest.mark.parametrize("name, unchanged", [
    ("keyboard-typos", ["123 456 !?", "  ", "ßüé 42"]),
    ("char-swap", ["a cat is on it", "aaaa", "123 !"]),
    ("char-drop", ["a it on", "12 34", "!!"]),
    ("case-change-random", ["123 !?", "  "]),
    ("case-change-lower", ["already lower, 42"]),
    ("case-change-upper", ["ALREADY UPPER, 42"]),
    ("case-change-title", ["Title Case Text Don't 42"]),
    ("punctuation-strip", ["no punctuation here", "don't o'clock well-known 3.5 1,000", "it 's good"]),
    ("punctuation-add", ["   ", "\n"]),
    ("contractions-expand", ["do not worry, John's dog and John 's cat", "cant its dont"]),
    ("contractions-contract", ["don't worry, I know what it is.", "I have a dog, let us know"]),
    ("whitespace-collapse", ["one space only", "word"]),
    ("whitespace-extra", ["word", "  word  "]),
    ("whitespace-remove-random", ["word", " word\n"]),
    ("number-to-words", ["no digits", "3.5 v2 90s 007 1,0000 1000000000 1th"]),
])
def test_texts_with_nothing_to_change_come_back_unchanged(name, unchanged, env):
    assert ALL[name]().augment(unchanged, env) == unchanged


def test_every_plugin_registers_its_augmenter():
    for name, module in MODULES.items():
        registered = []
        module.register_augmenters(lambda *args, **kwargs: registered.append((args, kwargs)))
        (args, kwargs), = registered
        assert args[0] == name == module.PLUGIN
        assert kwargs["description"] and kwargs["config"].__dataclass_params__.frozen
        kwargs["config"]()  # the defaults are valid
        assert args[1](kwargs["config"]()).augment  # the factory takes the config


def test_importing_the_plugins_does_not_import_torch():
    modules = ", ".join(module.__name__ for module in MODULES.values())
    code = f"import sys, {modules}; print('torch' in sys.modules, 'textattack' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False False"


@pytest.mark.parametrize("name", sorted(ALL))
def test_ten_thousand_sst2_length_texts(name, env):
    # A sanity check that every plugin is linear and cheap; no timing assertion (CI machines vary).
    texts = sst2_like_texts(10_000, seed=2)
    outputs = ALL[name]().augment(texts, env)
    assert len(outputs) == len(texts)


# ------------------------------------------------------------------------------------------------ keyboard-typos

def test_keyboard_typos_replace_letters_with_neighbouring_keys(env):
    text = "The quick brown fox jumps over the lazy dog, again and again!"  # 47 letters
    output, = KeyboardTypos(KeyboardTyposConfig(rate=0.05)).augment([text], env)
    assert len(output) == len(text)
    changed = [(a, b) for a, b in zip(text, output) if a != b]
    assert len(changed) == round(0.05 * 47)
    for original, replacement in changed:
        assert original.isalpha() and replacement.lower() in KEYBOARD_NEIGHBOURS[original.lower()]
        assert original.isupper() == replacement.isupper()


def test_keyboard_typos_change_at_least_one_letter_and_keep_other_characters(env):
    augmenter = KeyboardTypos(KeyboardTyposConfig(rate=0.01))
    output, = augmenter.augment(["Hi, 42 ñ!"], env)
    assert sum(a != b for a, b in zip("Hi, 42 ñ!", output)) == 1
    assert output[2:] == ", 42 ñ!"


def test_keyboard_typos_case(env):
    upper = "THE QUICK BROWN FOX JUMPS"
    kept, = KeyboardTypos(KeyboardTyposConfig(rate=1.0)).augment([upper], env)
    assert kept.isupper() and all(a != b for a, b in zip(upper, kept) if a.isalpha())
    lowered, = KeyboardTypos(KeyboardTyposConfig(rate=1.0, preserve_case=False)).augment([upper], env)
    assert all(b.islower() for a, b in zip(upper, lowered) if a.isalpha())


# ------------------------------------------------------------------------------------------------ char-swap

def _adjacent_swap(original: str, changed: str) -> int:
    """The index i such that `changed` is `original` with letters i and i + 1 swapped."""
    differences = [i for i, (a, b) in enumerate(zip(original, changed)) if a != b]
    assert len(original) == len(changed) and len(differences) == 2
    i, j = differences
    assert j == i + 1 and original[i] == changed[j] and original[j] == changed[i]
    return i


def test_char_swap_swaps_two_inner_letters_of_some_words(env):
    text = "robustness matters for every classifier we deploy"  # 5 eligible words -> round(0.5) = 1
    output, = CharSwap(CharSwapConfig()).augment([text], env)
    changed = [(a, b) for a, b in zip(text.split(), output.split()) if a != b]
    assert len(changed) == 1
    original, swapped = changed[0]
    i = _adjacent_swap(original, swapped)
    assert 1 <= i and i + 1 <= len(original) - 2
    many, = CharSwap(CharSwapConfig(rate=0.5)).augment([text], env)
    assert sum(a != b for a, b in zip(text.split(), many.split())) == 3  # round(2.5) rounds half up


def test_char_swap_without_keep_ends_may_move_the_first_letter(env):
    outputs = CharSwap(CharSwapConfig(rate=1.0, keep_ends=False)).augment(["ab"], env)
    assert outputs == ["ba"]
    assert CharSwap(CharSwapConfig(rate=1.0)).augment(["abc"], env) == ["abc"]


# ------------------------------------------------------------------------------------------------ char-drop

def test_char_drop_deletes_one_inner_letter_of_some_words(env):
    text = "robustness matters for every classifier we deploy"  # 6 eligible words -> round(0.6) = 1
    output, = CharDrop(CharDropConfig()).augment([text], env)
    assert len(output) == len(text) - 1
    changed = [(a, b) for a, b in zip(text.split(), output.split()) if a != b]
    (original, dropped), = changed
    assert dropped[0] == original[0] and dropped[-1] == original[-1]
    assert any(original[:i] + original[i + 1:] == dropped for i in range(1, len(original) - 1))


def test_char_drop_never_removes_a_word(env):
    texts = ["an ox is at it", "a b c"]
    outputs = CharDrop(CharDropConfig(rate=1.0, keep_ends=False)).augment(texts, env)
    assert [len(word) for word in outputs[0].split()] == [1, 1, 1, 1, 1]
    assert outputs[1] == "a b c"


# ------------------------------------------------------------------------------------------------ case-change

def test_case_change_modes(env):
    text = "The BBC's news: don't PANIC, it 's 3d do n't 'quote' straße"
    assert CaseChange(CaseChangeConfig()).augment([text], env) == [
        "the bbc's news: don't panic, it 's 3d do n't 'quote' straße"]
    assert CaseChange(CaseChangeConfig(mode="upper")).augment([text], env) == [
        "THE BBC'S NEWS: DON'T PANIC, IT 'S 3D DO N'T 'QUOTE' STRASSE"]
    assert CaseChange(CaseChangeConfig(mode="title")).augment([text], env) == [
        "The Bbc's News: Don't Panic, It 's 3d Do n't 'Quote' Straße"]


def test_case_change_random_toggles_a_fraction_of_letters(env):
    text = "Robustness Matters for every classifier we deploy"  # 43 cased letters
    output, = CaseChange(CaseChangeConfig(mode="random", rate=0.1)).augment([text], env)
    assert output.lower() == text.lower()
    assert sum(a != b for a, b in zip(text, output)) == 4


# ------------------------------------------------------------------------------------------------ punctuation

def test_punctuation_strip_keeps_what_belongs_to_words_and_numbers(env):
    strip = Punctuation(PunctuationConfig(mode="strip"))
    assert strip.augment([
        "Great , isn't it ?",
        "Don't panic: it's 3.5% of 1,000 (U.S.) people's well-known dogs' -- \"o'clock\"!",
        "it 's good , and I do n't know .",
        ". Hello ...",
    ], env) == [
        "Great isn't it",
        "Don't panic it's 3.5 of 1,000 US people's well-known dogs o'clock",
        "it 's good and I do n't know",
        "Hello",
    ]


def test_punctuation_add_appends_marks_after_a_fraction_of_the_tokens(env):
    text = "a charming and often hilarious portrait of a director at work"  # 11 tokens -> round(1.1) = 1
    output, = Punctuation(PunctuationConfig(mode="add")).augment([text], env)
    added = Counter(output) - Counter(text)
    assert sum(added.values()) == 1 and set(added) <= set(".,;:!?")
    assert "".join(c for c in output if c not in ".,;:!?") == text
    marks_only, = Punctuation(PunctuationConfig(mode="add", rate=1.0, marks="!")).augment([text], env)
    assert marks_only == " ".join(word + "!" for word in text.split())


# ------------------------------------------------------------------------------------------------ contractions

def test_contractions_expand_joined_and_tokenised_forms(env):
    expand = Contractions(ContractionsConfig(direction="expand"))
    assert expand.augment([
        "it 's good and I do n't know",
        "don't",
        "Don't stop, I'm sure it’s fine; they're here, we've won, you'll see, I'd go, let's go",
        "DON'T CAN'T won't ca n't wo n't sha n't isn't John's dog, John 's dog",
    ], env) == [
        "it is good and I do not know",
        "do not",
        "Do not stop, I am sure it is fine; they are here, we have won, you will see, I would go, let us go",
        "DO NOT CANNOT will not cannot will not shall not is not John's dog, John 's dog",
    ]


def test_contractions_contract(env):
    text = "I do not know. It is not good. I will not go, I cannot, you are great and I am sure that is fine."
    assert Contractions(ContractionsConfig(direction="contract")).augment([text, "IT IS GOOD"], env) == [
        "I don't know. It isn't good. I won't go, I can't, you're great and I'm sure that's fine.", "IT'S GOOD"]
    assert Contractions(ContractionsConfig(direction="contract", split_clitics=True)).augment([text], env) == [
        "I do n't know. It is n't good. I wo n't go, I ca n't, you 're great and I 'm sure that 's fine."]
    assert Contractions(ContractionsConfig(direction="contract")).augment(["it’s so, it is so"], env) == [
        "it’s so, it’s so"]


# ------------------------------------------------------------------------------------------------ whitespace

def test_whitespace_modes(env):
    assert Whitespace(WhitespaceConfig()).augment(["  a \t good\n\nfilm  "], env) == ["a good film"]
    text = "a charming and often hilarious portrait of a director at work"  # 10 gaps
    extra, = Whitespace(WhitespaceConfig(mode="extra", rate=0.2)).augment([text], env)
    assert extra.split() == text.split() and len(extra) == len(text) + 2 and "   " not in extra
    removed, = Whitespace(WhitespaceConfig(mode="remove-random", rate=0.2)).augment([text], env)
    assert removed.replace(" ", "") == text.replace(" ", "") and len(removed) == len(text) - 2


# ------------------------------------------------------------------------------------------------ number-to-words

def test_number_to_words(env):
    numbers = NumberToWords(NumberToWordsConfig())
    assert numbers.augment(["I have 42 cats and 1,000 dogs", "$5, -3 (7) 42. 0 101 1999 999,999,999 3.5"], env) == [
        "I have forty-two cats and one thousand dogs",
        "$five, -three (seven) forty-two. zero one hundred one one thousand nine hundred ninety-nine "
        "nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred ninety-nine 3.5"]
    assert numbers.augment(["the 1st and 22nd"], env) == ["the 1st and 22nd"]
    ordinals = NumberToWords(NumberToWordsConfig(also_ordinals=True))
    assert ordinals.augment(["the 1st, 2nd, 3rd, 11th, 12TH, 22nd, 100th and 1th of 5"], env) == [
        "the first, second, third, eleventh, twelfth, twenty-second, one hundredth and 1th of five"]


@pytest.mark.parametrize("number, words, ordinal", [
    (0, "zero", "zeroth"), (13, "thirteen", "thirteenth"), (20, "twenty", "twentieth"),
    (21, "twenty-one", "twenty-first"), (105, "one hundred five", "one hundred fifth"),
    (1_000_000, "one million", "one millionth"),
    (12_345_678, "twelve million three hundred forty-five thousand six hundred seventy-eight",
     "twelve million three hundred forty-five thousand six hundred seventy-eighth"),
])
def test_number_words(number, words, ordinal):
    assert number_words(number) == words and ordinal_words(number) == ordinal


# ------------------------------------------------------------------------------------------------ configs

@pytest.mark.parametrize("config_class, kwargs, field", [
    (KeyboardTyposConfig, {"rate": 1.5}, "rate"),
    (KeyboardTyposConfig, {"rate": -0.1}, "rate"),
    (KeyboardTyposConfig, {"rate": "0.1"}, "rate"),
    (KeyboardTyposConfig, {"rate": float("nan")}, "rate"),
    (KeyboardTyposConfig, {"preserve_case": "yes"}, "preserve_case"),
    (CharSwapConfig, {"rate": 2}, "rate"),
    (CharSwapConfig, {"keep_ends": 1}, "keep_ends"),
    (CharDropConfig, {"rate": True}, "rate"),
    (CharDropConfig, {"keep_ends": None}, "keep_ends"),
    (CaseChangeConfig, {"mode": "sideways"}, "mode"),
    (CaseChangeConfig, {"mode": "random", "rate": 1.01}, "rate"),
    (PunctuationConfig, {"mode": "shout"}, "mode"),
    (PunctuationConfig, {"mode": "add", "rate": -1}, "rate"),
    (PunctuationConfig, {"mode": "add", "marks": ""}, "marks"),
    (PunctuationConfig, {"mode": "add", "marks": "a!"}, "marks"),
    (ContractionsConfig, {"direction": "both"}, "direction"),
    (ContractionsConfig, {"split_clitics": "no"}, "split_clitics"),
    (WhitespaceConfig, {"mode": "tabs"}, "mode"),
    (WhitespaceConfig, {"mode": "extra", "rate": 3.0}, "rate"),
    (NumberToWordsConfig, {"also_ordinals": "true"}, "also_ordinals"),
])
def test_config_validation_names_the_field(config_class, kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field} "):
        config_class(**kwargs)


def test_configs_are_frozen():
    config = KeyboardTyposConfig()
    with pytest.raises(AttributeError):
        config.rate = 0.5  # type: ignore[misc]
