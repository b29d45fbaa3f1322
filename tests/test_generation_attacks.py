"""Adversarial prompts (PromptBench's protocol) for the text-generation kind: the candidate makers, the greedy word
search and the brute-force searches against a scripted model whose score the test controls, and every built-in
prompt attack through `harness run` on a tiny GPT-2 that learned the toy translation task."""

from __future__ import annotations

import random
import re

import pytest
from conftest import dump_suite
from test_generation_kind import toy_suite, write_toy_files

from harness.authoring.tiny_generation import TOY_INSTRUCTION, tiny_generation_model_dir
from harness.cli import main
from harness.core.store import read_run
from harness.kinds.generation.examples import GenerationExample, GenerationSetup
from harness.kinds.generation.prompt_attacks import (
    STRESS_TEST_SUFFIXES,
    PromptScorer,
    best_instruction_attack,
    best_suffix_attack,
    checklist_suffixes,
    deepwordbug_candidates,
    greedy_word_attack,
    synonym_candidates,
    textbugger_candidates,
    with_suffix,
)

PROMPT_ATTACKS = ("prompt-deepwordbug", "prompt-textbugger", "prompt-textfooler", "prompt-stresstest",
                  "prompt-checklist", "prompt-semantic")


class ScriptedPredictor:
    """Answers each example right while the instruction holds every word in `needed` unchanged, wrong otherwise; a
    suffix with "false" costs half the examples. Counts the generations asked for."""

    def __init__(self, needed: set[str]):
        self.needed = needed
        self.generations = 0

    def texts(self, examples, description=""):
        self.generations += len(examples)
        outputs = []
        for number, example in enumerate(examples):
            words = set(re.findall(r"\S+", example.setup.instruction))
            right = self.needed <= words and not ("false" in words and number % 2)
            outputs.append(example.references[0] if right else "nothing")
        return outputs


def scripted_scorer(instruction: str, needed: set[str], **options) -> PromptScorer:
    setup = GenerationSetup(instruction=instruction, metric="exact_match")
    examples = [GenerationExample(f"e{number}", f"input {number}", (f"output {number}",), setup)
                for number in range(6)]
    return PromptScorer(ScriptedPredictor(needed), examples, seed=3, **options)


def test_deepwordbug_makes_one_character_edits_inside_a_words_punctuation():
    rng = random.Random(0)
    for word in ("translate", "French:", "(English)", "ab"):
        for candidate in deepwordbug_candidates(word, rng):
            core = word.strip("():")
            assert candidate.startswith(word[:len(word) - len(word.lstrip("():"))])
            edited = candidate.strip("():")
            assert edited != core and abs(len(edited) - len(core)) <= 1
            assert sum(a != b for a, b in zip(edited, core)) <= 2 or len(edited) != len(core)


def test_textbugger_keeps_a_words_first_and_last_letters_and_swaps_in_look_alikes():
    candidates = textbugger_candidates("translate", random.Random(1), synonyms=0)
    plain = [candidate for candidate in candidates if candidate.isascii()]
    assert plain and all(candidate[0] == "t" and candidate[-1] == "e" for candidate in plain)
    assert any(" " in candidate for candidate in plain)
    # Cyrillic letters for a, s, l, e: the word looks the same and is not the same word.
    [looks] = [candidate for candidate in candidates if not candidate.isascii()]
    assert len(looks) == len("translate") and looks != "translate" and looks[0] == "t"


def test_synonyms_come_from_wordnet_in_the_words_case():
    synonyms = synonym_candidates("Translate:", random.Random(0), limit=3)
    assert synonyms and all(candidate.endswith(":") and candidate[0].isupper() for candidate in synonyms)
    assert synonym_candidates("the", random.Random(0)) == []  # stopwords have none


def test_suffixes_go_after_the_last_word_and_checklist_sequences_are_seeded():
    assert with_suffix("Translate to French: ", " and true is true ") == "Translate to French and true is true : "
    assert with_suffix("Summarise", " x") == "Summarise x"
    assert checklist_suffixes(5, seed=1) == checklist_suffixes(5, seed=1) != checklist_suffixes(5, seed=2)
    assert all(len(suffix) == 11 and suffix[1:].isalnum() for suffix in checklist_suffixes(5, seed=1))


def test_the_greedy_search_ranks_words_and_keeps_an_edit_only_when_it_lowers_the_score():
    scorer = scripted_scorer("please translate this text into French now", {"translate", "French"})
    outcome = greedy_word_attack(scorer, deepwordbug_candidates, importance="delete")
    assert outcome.original_score == 1.0 and outcome.adversarial_score == 0.0
    changed = [(old, new) for old, new in zip(outcome.original_instruction.split(),
                                              outcome.adversarial_instruction.split()) if old != new]
    assert len(changed) == 1 and changed[0][0] in {"translate", "French"}  # one edit suffices; the rest stays
    importance = [candidate for candidate in outcome.candidates if candidate.step.startswith("importance")]
    # Stopwords ("this", "into", "now") are neither ranked nor changed.
    from harness.kinds.token.perturbations import english_stopwords

    words = outcome.original_instruction.split()
    assert len(importance) == len([word for word in words if word.lower() not in english_stopwords()]) == 4
    assert [candidate.kept for candidate in outcome.candidates].count(True) == 1
    assert scorer.queries == len(outcome.candidates)
    assert scorer.predictor.generations == 6 * scorer.queries  # one generation per example and instruction


def test_protected_and_label_words_are_never_changed():
    scorer = scripted_scorer("please translate into French", {"translate", "French"},
                             protected_words=("translate", "french"))
    outcome = greedy_word_attack(scorer, deepwordbug_candidates)
    assert outcome.adversarial_instruction == outcome.original_instruction
    assert outcome.adversarial_score == outcome.original_score == 1.0
    assert not any("translate" not in candidate.instruction or "French" not in candidate.instruction
                   for candidate in outcome.candidates)


def test_the_edit_distance_cap_limits_the_characters_changed():
    scorer = scripted_scorer("translate French", {"impossible"})  # nothing lowers a score of 0
    outcome = greedy_word_attack(scorer, lambda word, rng: [word[::-1] + "xx"], max_edit_distance=3)
    assert outcome.adversarial_instruction == "translate French"
    assert all(candidate.step.startswith(("original", "importance")) for candidate in outcome.candidates)


def test_brute_force_searches_keep_the_worst_candidate_or_the_original():
    scorer = scripted_scorer("translate to French:", {"translate"})
    outcome = best_suffix_attack(scorer, STRESS_TEST_SUFFIXES)
    assert outcome.adversarial_instruction == "translate to French and false is not true :"
    assert outcome.adversarial_score == 0.5
    scorer = scripted_scorer("translate to French:", {"translate"})
    outcome = best_instruction_attack(scorer, ["translate into French:", "turn into French:"])
    assert outcome.adversarial_instruction == "turn into French:" and outcome.adversarial_score == 0.0
    scorer = scripted_scorer("translate to French:", {"translate"})
    outcome = best_instruction_attack(scorer, ["please translate to French:"])
    assert outcome.adversarial_instruction == "translate to French:" and not any(
        candidate.kept for candidate in outcome.candidates)


@pytest.fixture(scope="module")
def toy_gpt2(tmp_path_factory):
    return tiny_generation_model_dir(tmp_path_factory.mktemp("gpt2"), "gpt2")


@pytest.fixture(scope="module")
def attacked_run(toy_gpt2, tmp_path_factory):
    """A tiny GPT-2 fine-tuned on the toy task, attacked by every prompt attack, perturbed by typos and explained,
    with every reporter."""
    tmp_path = tmp_path_factory.mktemp("attacked")
    files = write_toy_files(tmp_path / "data", train=400, test=40)
    attacks = [*PROMPT_ATTACKS[:-1], {"use": "prompt-semantic", "paraphrases": ["French translation of: "]}]
    suite = toy_suite(files, toy_gpt2, tmp_path / "out", attacks=attacks, budgets={"max_attack_examples": 20},
                      methods=[{"use": "full", "epochs": 15, "batch_size": 16, "learning_rate": 1e-3}],
                      perturbations=["keyboard-typos"], explainers=["feature-ablation"],
                      reports=["json", "markdown", "junit", "html"],
                      gates=[{"metric": "performance_drop_rate", "attack": "prompt-stresstest", "op": "<=",
                              "threshold": 1.0}])
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    return next((tmp_path / "out" / "toy-translation").iterdir())


def test_every_prompt_attack_runs_through_harness_run_and_reports_its_drop(attacked_run):
    run = read_run(attacked_run)
    rows = {(row.component, row.metric): row for row in run.results if row.stage == "attack"}
    for attack in PROMPT_ATTACKS:
        original, drop = rows[(attack, "original_score")].value, rows[(attack, "score_drop")].value
        assert original > 60, attack  # the model learned the task under its instruction
        assert rows[(attack, "candidate_instructions")].value >= 2
        if rows[(attack, "instruction_changed")].value:
            assert drop > 0 and rows[(attack, "performance_drop_rate")].value == pytest.approx(drop / original)
        else:
            assert drop == 0
        trace = run.records(f"full/seed0/attack/{attack}", "prompt-attack")
        assert trace[0]["instruction"] == TOY_INSTRUCTION and trace[0]["step"] == "original"
        outputs = run.records(f"full/seed0/attack/{attack}", "prompt-attack-outputs")
        assert len(outputs) == 20 and all(row["original_instruction"] == TOY_INSTRUCTION for row in outputs)
    assert rows[("prompt-stresstest", "instruction_changed")].value == 1  # the toy model never saw a suffix
    assert "prompt-stresstest" in (attacked_run / "junit.xml").read_text()
    explain = {row.metric: row.value for row in run.results if row.stage == "explain"}
    assert explain["explained_examples"] == 20 and 0 < explain["instruction_attribution_share"] < 1
    assert "output_faithfulness_gain" in explain


def test_the_scorecard_shows_the_generation_table_and_drill_downs(attacked_run):
    summary = (attacked_run / "summary.md").read_text()
    assert "### Text generation" in summary and "PDR (prompt-stresstest)" in summary
    page = (attacked_run / "scorecard.html").read_text()
    for section in ('id="generation-methods"', 'id="generation-outputs"', 'id="generation-adversarial-prompts"',
                    'id="generation-perturbations"', 'id="generation-attributions"'):
        assert section in page, section
    assert TOY_INSTRUCTION.strip() in page and "gen-changed" in page
    assert page.count('id="generation-attributions"') == page.count('id="generation-methods"') == 1


def test_the_generation_scorecard_in_a_real_browser(attacked_run, browser):
    from selenium.webdriver.common.by import By

    browser.get((attacked_run / "scorecard.html").as_uri())
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table#generation-methods thead th")]
    assert "chrF" in headers and any("prompt-deepwordbug" in header for header in headers)
    group = browser.find_element(By.CSS_SELECTOR, "#generation-adversarial-prompts .drilldown-group")
    assert "instruction" in group.text and "adversarial" in group.text
    perturbed = browser.find_element(By.CSS_SELECTOR, "#generation-perturbations details.drilldown")
    perturbed.find_element(By.TAG_NAME, "summary").click()
    marked = perturbed.find_elements(By.CSS_SELECTOR, ".gen-changed")
    assert marked and all(span.is_displayed() for span in marked)
    explained = browser.find_element(By.CSS_SELECTOR, "#generation-attributions details.drilldown")
    explained.find_element(By.TAG_NAME, "summary").click()
    assert explained.find_element(By.CSS_SELECTOR, ".heat span.gen-instruction").is_displayed()
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) >= 1
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_prompt_attacks_are_refused_for_a_classification_task(tmp_path, capsys):
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"text {n},{'ab'[n % 2]}\n" for n in range(8)), encoding="utf-8")
    suite = {"name": "classify", "task": {"use": "local", "train": str(data), "test": str(data)},
             "model": {"source": "minilm"}, "methods": ["full"], "attacks": ["prompt-stresstest"],
             "output": str(tmp_path / "out")}
    path = dump_suite(suite, tmp_path / "suite.yaml")
    # `local` does not declare its kind, so the kind's check runs once the task is loaded, before anything trains.
    assert main(["run", str(path), "--no-progress"]) != 0
    errors = capsys.readouterr().err
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "prompt-stresstest" in text)
    assert f"suite.yaml:{line}:" in errors and "serves task kinds text-generation" in errors


@pytest.fixture(scope="module")
def tiny_masked_lm(tmp_path_factory):
    """A random two-layer BERT masked LM with MiniLM's real WordPiece tokenizer (no pretrained MLM exists offline:
    its candidates are arbitrary words of the vocabulary, which is all the search's mechanics need)."""
    import torch
    from conftest import minilm_dir
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    directory = tmp_path_factory.mktemp("masked-lm")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                       num_attention_heads=2, intermediate_size=64))
    model.save_pretrained(str(directory), safe_serialization=True)
    tokenizer.save_pretrained(str(directory))
    return directory


def test_bert_attack_swaps_a_word_for_a_masked_lm_word_in_context(tiny_masked_lm):
    from harness.kinds.generation.prompt_attacks import MaskedWordCandidates

    candidates = MaskedWordCandidates(str(tiny_masked_lm), max_candidates=5)
    words = ["Translate", "this", "text", "into", "French:"]
    found = candidates(words, 4, random.Random(0))
    assert 0 < len(found) <= 5 and all(word.endswith(":") and word[0].isupper() for word in found)
    assert all(word[:-1].isalpha() and word != "French:" for word in found)
    scorer = scripted_scorer("please translate this text into French now", {"translate", "French"})
    outcome = greedy_word_attack(scorer, MaskedWordCandidates(str(tiny_masked_lm), max_candidates=3),
                                 importance="unk", in_context=True)
    assert outcome.adversarial_score == 0.0 and outcome.original_score == 1.0
    assert any(candidate.step.startswith("importance of word") and "(unk)" in candidate.step
               for candidate in outcome.candidates)
