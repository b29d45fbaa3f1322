"""Explainers on a small fine-tuned MiniLM (SST-2-style sentences written by the tests), and the explanation-quality
metrics of a run."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import SwapFirstWordAttack, dump_suite, minilm_dir, tiny_suite
from fixture_data import read_sst2_tsv

from harness import Example, hookimpl
from harness.cli import main
from harness.core.files import read_jsonl
from harness.core.plugin_manager import make_plugin_manager
from harness.core.registry import Registry
from harness.core.store import read_run
from harness.core.types import StageEnvironment
from harness.explain.metrics import faithfulness_metrics, rank_correlation_between
from harness.explain.quality import randomized_classifier

# Small settings for the sampling methods: the test checks the plumbing and the shape, not their convergence.
FAST_SETTINGS = {"integrated-gradients": {"n_steps": 32}, "gradient-shap": {"n_samples": 8},
                 "shapley-value-sampling": {"n_samples": 4}, "lime": {"n_samples": 40},
                 "kernel-shap": {"n_samples": 40}}


@pytest.fixture(scope="module")
def read_sst2(release_data):
    """read_sst2(split, count): the first `count` sentences (of six words or more) of a split of the written SST-2,
    whose test split's sentiment words never occur in its train split (see fixture_data)."""

    def read(split: str, count: int) -> list[Example]:
        rows = [(text, label) for text, label in read_sst2_tsv(release_data / "sst2" / f"{split}.tsv")
                if len(text.split()) >= 6][:count]
        return [Example(f"{split}-{index}", text, label) for index, (text, label) in enumerate(rows)]

    return read


def environment(tmp_path: Path = Path(".")) -> StageEnvironment:
    return StageEnvironment("cpu", 0, tmp_path, lambda iterable=None, **kwargs: _quiet(iterable, **kwargs))


def _quiet(iterable=None, **kwargs):
    from tqdm import tqdm

    return tqdm(iterable, disable=True, **kwargs)


@pytest.fixture(scope="module")
def classifier(read_sst2):
    """MiniLM fine-tuned on 400 SST-2-style training sentences (about 15 s on two CPU cores)."""
    return fine_tuned_minilm(read_sst2("train", 400), read_sst2("dev", 32))


def fine_tuned_minilm(train: list[Example], validation: list[Example]):
    """MiniLM fine-tuned for two epochs on `train` as a negative/positive classifier."""
    from harness.core.types import Budgets, ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor
    from harness.training.loop import TrainingSettings
    from harness.training.train import fit

    model, tokenizer = load_base_classifier(ModelSource("minilm", str(minilm_dir()), 64), ("negative", "positive"))
    fit(model, tokenizer, train, validation, TrainingSettings(epochs=2, learning_rate=1e-4, batch_size=16), Budgets(),
        "cpu", 0, 64, _quiet)
    return LoadedClassifier(model, tokenizer, Predictor(model, tokenizer, "cpu", 64, 32), ("negative", "positive"),
                            "cpu", 64)


def accuracy(classifier, examples: list[Example]) -> float:
    predictions = classifier.predictor.predict([example.text for example in examples])
    return float(np.mean(predictions == np.array([example.label for example in examples])))


@pytest.fixture(scope="module")
def registry():
    return Registry(make_plugin_manager())


def build(registry, name: str, **params):
    component = registry.get("explainer", name)
    return component.factory(component.config_class(**{**FAST_SETTINGS.get(name, {}), **params}))


def test_the_model_learned_the_task(classifier, read_sst2):
    # The test sentences' sentiment words never occur in training: MiniLM carries its training over to them.
    assert accuracy(classifier, read_sst2("test", 40)) >= 0.7


EXPLAINERS = ("integrated-gradients", "saliency", "input-x-gradient", "deeplift", "gradient-shap", "feature-ablation",
              "occlusion", "lime", "kernel-shap", "shapley-value-sampling", "attention")


def test_every_builtin_explainer_is_registered(registry):
    assert set(EXPLAINERS) <= set(registry.names("explainer"))


@pytest.mark.parametrize("name", EXPLAINERS)
def test_explainer_gives_one_score_per_word(name, classifier, registry, read_sst2):
    examples = read_sst2("test", 3) + [Example("punctuated", "well-made, but dull: I'd skip it.", 0)]
    reference = build(registry, "feature-ablation").explain(classifier, examples, environment())
    outcome = build(registry, name).explain(classifier, examples, environment())
    assert [a.example_id for a in outcome.attributions] == [example.id for example in examples]
    for attribution, expected, example in zip(outcome.attributions, reference.attributions, examples):
        # The words are the tokenizer's words, with their character spans in the text.
        assert attribution.words == expected.words and len(attribution.scores) == len(attribution.words)
        assert all(example.text[start:end] == word for word, (start, end) in zip(attribution.words, attribution.spans))
        assert all(math.isfinite(score) for score in attribution.scores)
        assert any(score != 0 for score in attribution.scores), (name, attribution)
        assert attribution.target == int(classifier.predictor.predict([example.text])[0])


def test_integrated_gradients_is_complete(classifier, registry, read_sst2):
    """Completeness: the attributions of each text sum to logit(text) - logit(baseline), up to the delta."""
    examples = read_sst2("test", 6)
    outcome = build(registry, "integrated-gradients", n_steps=64).explain(classifier, examples, environment())
    deltas = [abs(attribution.convergence_delta) for attribution in outcome.attributions]
    total = [abs(sum(attribution.scores)) for attribution in outcome.attributions]
    assert max(deltas) < 0.05 and min(total) > 10 * max(deltas)
    metrics = {m.name: m.value for m in outcome.metrics}
    assert metrics["mean_abs_convergence_delta"] == pytest.approx(np.mean(deltas))


@pytest.mark.parametrize("name", ["integrated-gradients", "feature-ablation"])
def test_faithful_explainers_beat_random_attributions(name, classifier, registry, read_sst2):
    check_faithful_explainer_beats_random(name, classifier, registry, read_sst2("test", 12))


def check_faithful_explainer_beats_random(name: str, classifier, registry, examples: list[Example]) -> None:
    outcome = build(registry, name).explain(classifier, examples, environment())
    texts = [example.text for example in examples]
    spans = [attribution.spans for attribution in outcome.attributions]
    targets = [attribution.target for attribution in outcome.attributions]
    rng = random.Random(0)
    random_scores = [[rng.gauss(0, 1) for _ in attribution.scores] for attribution in outcome.attributions]
    explained = {m.name: m.value for m in faithfulness_metrics(texts, spans, [a.scores for a in outcome.attributions],
                                                               targets, classifier.predictor)}
    chance = {m.name: m.value for m in faithfulness_metrics(texts, spans, random_scores, targets, classifier.predictor)}
    assert explained["comprehensiveness_aopc"] > chance["comprehensiveness_aopc"] + 0.05
    assert explained["sufficiency_aopc"] < chance["sufficiency_aopc"]
    assert explained["loo_correlation"] > 0.3


def test_randomised_model_changes_the_explanation(classifier, registry, read_sst2):
    """Model-parameter randomisation (Adebayo et al. 2018): IG must depend on the weights it explains."""
    examples = read_sst2("test", 8)
    explainer = build(registry, "integrated-gradients")
    first = explainer.explain(classifier, examples, environment())
    again = explainer.explain(classifier, examples, environment())
    randomized = explainer.explain(randomized_classifier(classifier, seed=0), examples, environment())

    def mean_correlation(a, b):
        values = [rank_correlation_between([abs(s) for s in x.scores], [abs(s) for s in y.scores])
                  for x, y in zip(a.attributions, b.attributions)]
        return np.mean([value for value in values if value is not None])

    assert mean_correlation(first, again) == pytest.approx(1.0)
    assert mean_correlation(first, randomized) < 0.5
    # The copy is randomised, not the model under test.
    assert explainer.explain(classifier, examples, environment()).attributions == first.attributions


@pytest.mark.parametrize("method", ["lora", "prompt-tuning"])
def test_explainers_run_on_peft_models(method, registry, read_sst2):
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model

    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor

    model, tokenizer = load_base_classifier(ModelSource("minilm", str(minilm_dir()), 64), ("negative", "positive"))
    config = (LoraConfig(task_type=TaskType.SEQ_CLS, r=4, target_modules=["query", "value"]) if method == "lora"
              else PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=4))
    model = get_peft_model(model, config).eval()
    peft_classifier = LoadedClassifier(model, tokenizer, Predictor(model, tokenizer, "cpu", 64, 32),
                                       ("negative", "positive"), "cpu", 64)
    examples = read_sst2("test", 2)
    for name in ("integrated-gradients", "feature-ablation", "attention"):
        outcome = build(registry, name).explain(peft_classifier, examples, environment())
        assert [len(a.words) for a in outcome.attributions] == [len(a.spans) for a in outcome.attributions]
        assert all(a.words and all(math.isfinite(s) for s in a.scores) for a in outcome.attributions), name


class SwapFirstWordPlugin:
    @hookimpl
    def register_attacks(self, register):
        register("swap-first-word", SwapFirstWordAttack)


def test_a_run_scores_its_explanations(tmp_path, tiny_model_dir, sst2_files):
    """Faithfulness, plausibility against the task's rationales, stability under attack and the randomisation
    check, as results rows and records."""
    rows = [("a gorgeous , witty , seductive movie .", 1, ["gorgeous", "witty"]),
            ("the plot is nothing but boilerplate clichés from start to finish", 0,
             ["nothing but boilerplate clichés"]),
            ("unflinchingly bleak and desperate", 0, ["bleak", "desperate"]),
            ("it 's a charming and often affecting journey .", 1, ["charming", "affecting"])]
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps({"text": text, "label": label, "evidence": rationale}) + "\n"
                                 for text, label, rationale in rows), encoding="utf-8")
    output = tmp_path / "reports"
    suite = tiny_suite(tiny_model_dir, sst2_files, output, methods=[{"use": "full", "epochs": 1}],
                       attacks=[{"use": "swap-first-word"}],
                       explainers=[{"use": "integrated-gradients", "n_steps": 8},
                                   {"use": "attention", "faithfulness": False, "stability": False,
                                    "randomization_check": False}])
    suite["task"].update(test=str(test_file), rationale_column="evidence", validation=str(sst2_files["test"]))
    suite["budgets"] = {"max_attack_examples": 4, "max_explain_examples": 4}
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"], extra_plugins=[SwapFirstWordPlugin()]) == 0
    run_dir = max((output / "tiny").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    values = {(row.component, row.metric): row for row in read_run(run_dir).results if row.stage == "explain"}
    for metric in ("comprehensiveness_aopc", "sufficiency_aopc", "log_odds_drop", "loo_correlation", "token_f1",
                   "iou_f1", "auprc", "attribution_rank_correlation", "top_k_overlap", "stability_pairs",
                   "randomization_rank_correlation"):
        assert ("integrated-gradients", metric) in values, metric
    assert values[("integrated-gradients", "token_f1")].n == 4
    assert 0 <= values[("integrated-gradients", "auprc")].value <= 1
    assert values[("integrated-gradients", "stability_pairs")].value == 4
    # Switched off: the attention explainer gets plausibility (free) and nothing that costs queries.
    assert ("attention", "token_f1") in values and ("attention", "comprehensiveness_aopc") not in values
    assert ("attention", "stability_pairs") not in values
    assert ("attention", "randomization_rank_correlation") not in values
    stability = read_jsonl(run_dir / "records" / "full_seed0_explain_integrated-gradients.stability.jsonl")
    assert len(stability) == 4 and all(record["adversarial_text"].startswith("indeed ") for record in stability)
    attributions = read_jsonl(run_dir / "records" / "full_seed0_explain_integrated-gradients.attributions.jsonl")
    # Which test sentences are explained is a seeded stratified sample; find the one that starts "a gorgeous".
    gorgeous = next(record for record in attributions if record["words"][:2] == ["a", "gorgeous"])
    assert gorgeous["spans"][1] == [2, 10]


def test_rationales_that_do_not_fit_their_text_are_reported_with_the_row(tmp_path, tiny_model_dir, sst2_files,
                                                                          capsys):
    test_file = tmp_path / "test.jsonl"
    test_file.write_text(json.dumps({"text": "a fine film", "label": 1, "evidence": ["superb"]}) + "\n",
                         encoding="utf-8")
    suite = tiny_suite(tiny_model_dir, sst2_files, tmp_path / "reports", attacks=[], explainers=[])
    suite["task"].update(test=str(test_file), rationale_column="evidence")
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["run", str(path), "--no-progress"]) == 3
    error = capsys.readouterr().err
    assert "rationale phrase 'superb' does not occur" in error and f"{test_file} row 0" in error


def test_rationales_are_read_as_phrases_or_character_spans(tiny_model_dir, sst2_files):
    from harness_plugins.local_task import LocalTask, LocalTaskConfig

    task = LocalTask(LocalTaskConfig(train=str(sst2_files["train"]), test=str(sst2_files["test"])))
    text = "unflinchingly bleak and desperate"
    assert task._rationale_spans(text, "bleak | desperate", "row 0") == ((14, 19), (24, 33))
    assert task._rationale_spans(text, ["desperate", "bleak"], "row 0") == ((14, 19), (24, 33))
    assert task._rationale_spans(text, [[14, 19]], "row 0") == ((14, 19),)
    assert task._rationale_spans(text, "", "row 0") is None
    with pytest.raises(Exception, match="outside the text"):
        task._rationale_spans(text, [[30, 40]], "row 0")


def test_captum_infidelity_and_sensitivity_for_gradient_explainers(classifier, registry, read_sst2):
    from harness_plugins.integrated_gradients import IntegratedGradientsConfig, IntegratedGradientsExplainer

    class RandomAttributions(IntegratedGradientsExplainer):
        """A broken explainer: attributions that ignore the model."""

        def attribute_embeddings(self, forward, inputs, baselines, attention_mask, targets):
            import torch

            generator = torch.Generator().manual_seed(0)
            return torch.randn(inputs.shape, generator=generator), None

    examples = read_sst2("test", 6)
    settings = IntegratedGradientsConfig(n_steps=32, infidelity_samples=16, sensitivity_samples=2)
    metrics = {m.name: m for m in IntegratedGradientsExplainer(settings).explain(classifier, examples,
                                                                                 environment()).metrics}
    broken = {m.name: m for m in RandomAttributions(settings).explain(classifier, examples, environment()).metrics}
    assert metrics["mean_infidelity"].n == 6 and math.isfinite(metrics["mean_infidelity"].value)
    assert metrics["mean_infidelity"].value < 0.5 * broken["mean_infidelity"].value
    assert 0 < metrics["mean_sensitivity_max"].value < float("inf")
    # Perturbation explainers have no embedding-level attributions: Captum's metrics do not apply.
    outcome = build(registry, "feature-ablation").explain(classifier, examples, environment())
    assert not {"mean_infidelity", "mean_sensitivity_max"} & {m.name for m in outcome.metrics}
