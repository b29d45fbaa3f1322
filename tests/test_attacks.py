"""Attacks: every recipe builds or fails validation clearly; the offline ones run on a fine-tuned MiniLM."""

from __future__ import annotations

import pytest
from conftest import dump_suite, minilm_dir, tiny_suite

from harness.attack.textattack_recipes import RECIPES, TextAttackRecipe
from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.resources import without_needless_nltk_downloads
from harness.core.runner import make_progress
from harness.core.store import read_run
from harness.core.types import Budgets, Example, ModelSource, StageEnvironment, TaskData, TrainRequest
from harness.kinds.loading import load_trained_classifier

pytestmark = pytest.mark.textattack  # TextAttack's recipes (gradient-swap's own tests: test_gradient_swap.py)

OFFLINE_ATTACKS = {
    "deepwordbug": {}, "pwws": {}, "pruthi": {}, "input-reduction": {}, "gradient-swap": {},
    "textfooler-wordnet-sbert": {}, "leap": {"query_budget": 60},
}


@pytest.fixture(scope="module")
def registry():
    return Registry(make_plugin_manager())


@pytest.fixture(scope="module")
def minilm_sst2(registry, sst2_files, tmp_path_factory):
    """all-MiniLM-L6-v2 fine-tuned (full) on 160 SST-2 sentences: a real, if small, sentiment model."""
    def read(path):
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
        return tuple(Example(f"{path.stem}-{i}", text.strip(), int(label)) for i, (text, label) in enumerate(rows))

    train, test = read(sst2_files["train"]), read(sst2_files["test"])
    data = TaskData("sst2", ("negative", "positive"), train, test[:16], test)
    component = registry.get("finetuner", "full")
    directory = tmp_path_factory.mktemp("minilm-sst2")
    environment = StageEnvironment("cpu", 0, directory, make_progress(False))
    trained = component.factory(component.config_class(epochs=3, learning_rate=1e-4)).train(
        TrainRequest(ModelSource("minilm", str(minilm_dir()), 64), data, Budgets(), directory / "model", environment))
    classifier = load_trained_classifier(trained, data.label_names, "cpu", 64, 32)
    short = tuple(example for example in test if len(example.text.split()) <= 12)
    return classifier, short, environment


def test_every_recipe_builds_or_fails_validation_clearly(registry, tiny_model_dir):
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.predict import Predictor

    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), ("a", "b"))
    wrapper = Predictor(model, tokenizer, "cpu").textattack_wrapper()
    outcomes = {}
    for name in registry.names("attack"):
        component = registry.get("attack", name)
        try:
            config = component.config_class()
        except ValueError as error:
            message = str(error)
            if name == "prompt-semantic":  # its paraphrases are the task's: a suite must give them
                assert "give at least one paraphrase" in message, message
                outcomes[name] = "needs the suite's paraphrases"
                continue
            assert "needs" in message or "gradient-swap" in message, (name, message)
            assert name in RECIPES, f"{name} failed validation but is not a TextAttack recipe: {message}"
            outcomes[name] = "fails validation"
            continue
        attack = component.factory(config)
        if isinstance(attack, TextAttackRecipe):
            with without_needless_nltk_downloads():  # as TextAttackRecipe.attack builds: no omw-1.4 download
                built = attack.build(wrapper)
            assert built.goal_function is not None
        outcomes[name] = "builds"
    assert outcomes["hotflip"] == "fails validation"
    for name in OFFLINE_ATTACKS:
        assert outcomes[name] == "builds", outcomes
    assert set(RECIPES) <= set(outcomes)


def test_recipe_needing_downloads_fails_validate_at_its_suite_line(tmp_path, capsys, tiny_model_dir, sst2_files):
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path, attacks=["pwws", {"use": "textfooler"}])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) == 2
    error = capsys.readouterr().err
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "textfooler" in text)
    assert f"{path}:{line}:" in error and "needs resources" in error and "plugin 'textfooler'" in error


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OFFLINE_ATTACKS))
def test_offline_attack_runs_on_fine_tuned_minilm(name, registry, minilm_sst2):
    classifier, examples, environment = minilm_sst2
    component = registry.get("attack", name)
    outcome = component.factory(component.config_class(**OFFLINE_ATTACKS[name])).attack(
        classifier, examples[:3], environment)
    assert [record.example_id for record in outcome.records] == [example.id for example in examples[:3]]
    for record in outcome.records:
        assert record.status in ("successful", "failed", "skipped")
        assert record.original_prediction == int(classifier.predictor.predict([record.original_text])[0])
        if record.status == "skipped":
            assert record.original_prediction != record.label
            continue
        assert record.original_prediction == record.label and record.num_queries > 0
        if record.status == "successful":
            assert record.perturbed_text != record.original_text
            assert record.perturbed_prediction == int(classifier.predictor.predict([record.perturbed_text])[0])
            if name == "input-reduction":  # its goal: drop words while the prediction stays
                assert record.perturbed_prediction == record.original_prediction
                assert len(record.perturbed_text.split()) < len(record.original_text.split())
            else:
                assert record.perturbed_prediction != record.original_prediction


@pytest.mark.slow
def test_batching_across_examples_changes_no_result(registry, minilm_sst2, monkeypatch):
    """The cross-example pre-warm only fills the cache: same adversarial texts and query counts without it."""
    classifier, examples, environment = minilm_sst2
    component = registry.get("attack", "deepwordbug")
    from harness.core.seeding import set_seed

    classifier.predictor.clear_cache()
    set_seed(0)  # DeepWordBug's character substitutions and insertions draw random characters
    batched = component.factory(component.config_class()).attack(classifier, examples[:4], environment)
    classifier.predictor.clear_cache()
    set_seed(0)
    import harness.attack.textattack_bridge as bridge

    monkeypatch.setattr(bridge, "prewarm_first_queries", lambda attack, predictor, examples: None)
    sequential = component.factory(component.config_class()).attack(classifier, examples[:4], environment)
    strip = [(r.perturbed_text, r.num_queries, r.status) for r in batched.records]
    assert strip == [(r.perturbed_text, r.num_queries, r.status) for r in sequential.records]


def test_attack_results_are_reused_per_example(tmp_path, tiny_model_dir, sst2_files):
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}],
                       attacks=["pruthi"], explainers=[], budgets={"max_attack_examples": 2})
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 0
    suite["budgets"] = {"max_attack_examples": 4}
    dump_suite(suite, path)
    assert main(["run", str(path), "--no-progress"]) == 0
    runs = sorted((output / "tiny").iterdir(), key=lambda p: (p / "manifest.json").stat().st_mtime_ns)
    run = read_run(runs[-1])
    metrics = {row.metric: row.value for row in run.results if row.stage == "attack"}
    assert metrics["reused_examples"] == 2 and metrics["attacked_examples"] + metrics["skipped_examples"] == 4
    assert len(read_jsonl(runs[-1] / "records" / "full_seed0_attack_pruthi.attack.jsonl")) == 4


def test_max_candidates_only_where_the_transformation_honours_it():
    from harness_plugins.pwws import PWWSConfig

    with pytest.raises(ValueError, match="max_candidates: pwws's transformation has no candidate limit"):
        PWWSConfig(max_candidates=5)
    assert RECIPES["textfooler"].candidate_limit and RECIPES["bae"].candidate_limit


def test_constraint_parameters_apply_to_the_built_attack(tiny_model_dir):
    from textattack.constraints.overlap import MaxWordsPerturbed

    from harness.attack.textattack_recipes import apply_common_parameters
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.predict import Predictor
    from harness_plugins.pwws import PWWSAttack, PWWSConfig
    from harness_plugins.textfooler_wordnet_sbert import (
        TextFoolerWordNetSbertAttack,
        TextFoolerWordNetSbertConfig,
    )

    model, tokenizer = load_base_classifier(ModelSource("tiny", str(tiny_model_dir), 32), ("a", "b"))
    wrapper = Predictor(model, tokenizer, "cpu").textattack_wrapper()
    config = PWWSConfig(max_words_perturbed_percent=10)
    with without_needless_nltk_downloads():  # as TextAttackRecipe.attack builds: no omw-1.4 download
        attack = PWWSAttack(config).build(wrapper)
    apply_common_parameters(attack, config)
    assert any(isinstance(c, MaxWordsPerturbed) and c.max_percent == 0.1 for c in attack.constraints)
    with pytest.raises(ValueError, match="min_similarity: pwws has no sentence-similarity constraint"):
        PWWSConfig(min_similarity=0.9)
    variant_config = TextFoolerWordNetSbertConfig(min_similarity=0.95)
    with without_needless_nltk_downloads():
        variant = TextFoolerWordNetSbertAttack(variant_config).build(wrapper)
    apply_common_parameters(variant, variant_config)
    assert [c.threshold for c in variant.constraints if hasattr(c, "threshold")] == [0.95]


def test_attack_workers_give_the_same_records_in_order(registry, minilm_sst2):
    """Two worker processes attack halves of the examples; the merged records equal one process's, in order."""
    classifier, short, environment = minilm_sst2
    examples = list(short[:10])
    component = registry.get("attack", "deepwordbug")
    one = component.factory(component.config_class()).attack(classifier, examples, environment)
    two = component.factory(component.config_class(workers=2)).attack(classifier, examples, environment)
    assert [r.example_id for r in two.records] == [e.id for e in examples]
    assert [(r.perturbed_text, r.num_queries, r.status) for r in two.records] == \
        [(r.perturbed_text, r.num_queries, r.status) for r in one.records]
    # The searches did edit texts (DeepWordBug's edits are random: per-example seeding makes them reproducible).
    assert sum(r.perturbed_text != r.original_text for r in two.records) >= 2
    assert two.model_forwards > 0
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        component.config_class(workers=0)
