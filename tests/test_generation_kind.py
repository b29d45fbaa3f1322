"""Text generation (the `text-generation` kind) on CPU with tiny T5, BART, GPT-2 and Llama models built from
configs (harness.authoring.tiny_generation) and a toy word-for-word translation task they learn in seconds: the
`local-generation` task through `harness run`, every finetuner training and reloading an encoder-decoder and a
decoder, batched generation against one-at-a-time `generate`, prompts (templates, chat templates, long inputs cut),
and what the kind refuses at its suite line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import dump_suite

from harness.authoring.tiny_generation import (
    ARCHITECTURES,
    TOY_INSTRUCTION,
    tiny_generation_model_dir,
    toy_translation_examples,
    toy_translation_pairs,
)
from harness.cli import main
from harness.core.store import read_run
from harness.kinds.generation.examples import GenerationExample, GenerationSetup, read_choice
from harness.kinds.generation.prompts import IGNORED, encode_pairs, prompt_ids, rendered_prompt

FINETUNERS = ("full", "lora", "ia3", "adalora", "prompt-tuning", "prefix-tuning")
LEARNING_RATES = {"full": 1e-3, "lora": 5e-3, "ia3": 3e-2, "adalora": 5e-3, "prompt-tuning": 3e-2,
                  "prefix-tuning": 3e-2}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-generation")
    models = {architecture: tiny_generation_model_dir(root / architecture, architecture)
              for architecture in ARCHITECTURES}
    models["llama-chat"] = tiny_generation_model_dir(root / "llama-chat", "llama", chat_template=True)
    return models


def write_toy_files(directory: Path, train: int = 400, test: int = 60) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, count, seed in (("train", train, 1), ("test", test, 2)):
        files[split] = directory / f"{split}.jsonl"
        files[split].write_text("".join(json.dumps({"input": source, "target": target}) + "\n"
                                        for source, target in toy_translation_pairs(count, seed)), encoding="utf-8")
    return files


def toy_suite(files: dict[str, Path], model: Path, output: Path, **overrides) -> dict:
    suite = {
        "name": "toy-translation",
        "task": {"use": "local-generation", "train": str(files["train"]), "test": str(files["test"]),
                 "instruction": TOY_INSTRUCTION, "max_new_tokens": 12},
        "model": {"source": str(model), "max_length": 64},
        "methods": [{"use": "full", "epochs": 20, "batch_size": 16, "learning_rate": 1e-3}],
        "reports": ["json", "markdown"],
        "output": str(output),
    }
    suite.update(overrides)
    return suite


@pytest.mark.parametrize("architecture, learning_rate, least_exact_match, least_chrf, least_bleu", [
    ("gpt2", 1e-3, 0.8, 80.0, 60.0), ("t5", 2e-3, 0.3, 50.0, 5.0)])
def test_a_tiny_model_learns_the_toy_task_through_harness_run(architecture, learning_rate, least_exact_match,
                                                              least_chrf, least_bleu, tiny_models, tmp_path):
    """Full fine-tuning through `harness run` (a decoder-only LM and an encoder-decoder): BLEU, chrF, ROUGE and
    exact match move from ~0 to well above it, each with its interval, the per-example records and the metrics'
    signatures; a typo perturbation lowers the score and changes outputs."""
    files = write_toy_files(tmp_path / "data")
    suite = toy_suite(files, tiny_models[architecture], tmp_path / "out", perturbations=["keyboard-typos"],
                      methods=[{"use": "full", "epochs": 20, "batch_size": 16, "learning_rate": learning_rate}])
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run = read_run(next((tmp_path / "out" / "toy-translation").iterdir()))
    rows = {(row.stage, row.metric): row for row in run.results}
    assert rows[("evaluate", "exact_match")].value > least_exact_match
    assert rows[("evaluate", "chrf")].value > least_chrf and rows[("evaluate", "bleu")].value > least_bleu
    assert rows[("evaluate", "rougeL")].value > least_chrf / 100
    for metric in ("bleu", "chrf", "rouge1", "rougeL", "exact_match"):
        row = rows[("evaluate", metric)]
        assert row.ci_low <= row.value <= row.ci_high, metric
    assert rows[("finetune", "best_validation_score")].value > least_chrf  # the headline metric, chrF
    generations = run.records("full/seed0/evaluate", "generations")
    assert len(generations) == 60 and {"input", "prompt", "references", "output", "chrf"} <= set(generations[0])
    assert generations[0]["prompt"] == TOY_INSTRUCTION + generations[0]["input"]
    signatures = {row["metric"]: row["signature"] for row in run.records("full/seed0/evaluate", "metric-signatures")}
    assert signatures["bleu"].startswith("nrefs:1|bs:1000|seed:0|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert "stemmer:yes" in signatures["rougeL"]
    assert rows[("perturb", "score_drop")].value > 10
    assert rows[("perturb", "perturbed_chrf")].value < rows[("evaluate", "chrf")].value
    assert rows[("perturb", "output_change_rate")].value > 0.5
    assert 0 < rows[("perturb", "performance_drop_rate")].value <= 1


def capture_fit(monkeypatch) -> dict:
    import harness.training.train

    fitted: dict = {}
    original_fit = harness.training.train.fit

    def capturing_fit(model, *args, **kwargs):
        fitted["model"], fitted["tokenizer"] = model, args[0]
        return original_fit(model, *args, **kwargs)

    monkeypatch.setattr(harness.training.train, "fit", capturing_fit)
    return fitted


@pytest.mark.parametrize("architecture", ["t5", "llama"])
@pytest.mark.parametrize("method", FINETUNERS)
def test_every_finetuner_trains_and_reloads_a_generation_model(method, architecture, tiny_models, tmp_path,
                                                               monkeypatch):
    """Each finetuner trains an encoder-decoder and a decoder-only LM (its training loss falls) and the model
    reloaded from what it saved writes the same outputs, with the same log-probabilities, as the one in memory."""
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TaskData, TrainRequest
    from harness.kinds.generation.predictor import GenerationPredictor
    from harness.kinds.loading import load_trained_classifier

    fitted = capture_fit(monkeypatch)
    train, test = toy_translation_examples(96, seed=1, split="train"), toy_translation_examples(12, seed=2,
                                                                                                split="test")
    data = TaskData("toy", (), train, toy_translation_examples(12, seed=3, split="validation"), test,
                    kind="text-generation")
    component = Registry(make_plugin_manager()).get("finetuner", method)
    request = TrainRequest(ModelSource("tiny", str(tiny_models[architecture]), 48), data, Budgets(),
                           tmp_path / "model", StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    config = component.config_class(epochs=3, batch_size=16, learning_rate=LEARNING_RATES[method])
    trained = component.factory(config).train(request)
    assert 0 < trained.trainable_parameters <= trained.total_parameters
    assert (trained.adapter_of is None) == (method == "full")
    assert len(trained.history) == 3 and trained.history[-1].train_loss < trained.history[0].train_loss
    in_memory = GenerationPredictor(fitted["model"], fitted["tokenizer"], "cpu", 48, 8)
    reloaded = load_trained_classifier(trained, (), "cpu", 48, 8, kind="text-generation").predictor
    assert reloaded.texts(test) == in_memory.texts(test)
    targets = [example.target for example in test]
    # Merged adapters (LoRA, AdaLoRA) round differently from the unmerged ones: equal to float32 precision.
    expected = in_memory.score_outputs(test, targets)
    assert reloaded.score_outputs(test, targets) == pytest.approx(expected, rel=1e-4, abs=1e-3)


def test_quantized_lora_needs_a_gpu_and_says_so(tiny_models, tmp_path):
    from harness.core.errors import HarnessError
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TaskData, TrainRequest

    examples = toy_translation_examples(8)
    data = TaskData("toy", (), examples, examples, examples, kind="text-generation")
    component = Registry(make_plugin_manager()).get("finetuner", "lora")
    request = TrainRequest(ModelSource("tiny", str(tiny_models["gpt2"]), 48), data, Budgets(), tmp_path / "model",
                           StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    with pytest.raises(HarnessError, match="4bit quantization .QLoRA. needs a CUDA GPU"):
        component.factory(component.config_class(quantization="4bit")).train(request)


@pytest.mark.parametrize("architecture, beams", [*((architecture, 1) for architecture in ARCHITECTURES),
                                                 ("gpt2", 3), ("t5", 3)])
def test_batched_generation_writes_what_one_at_a_time_generate_writes(architecture, beams, tiny_models):
    """Length-sorted, padded batches (on the left for decoders) give each prompt the greedy (or beam-search) output
    that `model.generate` gives it alone."""
    import torch
    from transformers import AutoTokenizer

    from harness.kinds.generation.models import GenerationModels
    from harness.kinds.generation.predictor import GenerationPredictor

    model = GenerationModels.from_pretrained(str(tiny_models[architecture])).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models[architecture]))
    setup = GenerationSetup(instruction=TOY_INSTRUCTION, max_new_tokens=12, num_beams=beams)
    examples = toy_translation_examples(20, seed=5, setup=setup)
    batched = GenerationPredictor(model, tokenizer, "cpu", 64, 8).generate(examples)
    encoder_decoder = model.config.is_encoder_decoder
    for example, generation in zip(examples, batched):
        ids = torch.tensor([tokenizer(example.prompt)["input_ids"]])
        with torch.inference_mode():
            output = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                                    num_beams=beams, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                                    eos_token_id=tokenizer.eos_token_id)
        new = output[0] if encoder_decoder else output[0, ids.shape[1]:]
        assert generation.text == tokenizer.decode(new, skip_special_tokens=True).strip(), example.id


def test_a_decoder_is_trained_on_its_target_tokens_only(tiny_models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["gpt2"]))
    example = toy_translation_examples(1)[0]
    pairs = encode_pairs(tokenizer, [example], [example.target], 64, encoder_decoder=False)
    prompt = tokenizer(example.prompt)["input_ids"]
    target = tokenizer(example.target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert pairs.input_ids[0] == prompt + target
    assert pairs.labels[0] == [IGNORED] * len(prompt) + target
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["t5"]))
    pairs = encode_pairs(tokenizer, [example], [example.target], 64, encoder_decoder=True)
    assert pairs.input_ids[0] == tokenizer(example.prompt)["input_ids"]
    assert pairs.labels[0] == tokenizer(text_target=example.target)["input_ids"]
    assert pairs.labels[0][-1] == tokenizer.eos_token_id


def test_a_long_input_is_cut_and_the_instruction_and_template_tail_kept(tiny_models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["gpt2"]))
    setup = GenerationSetup(template="{instruction}{input}\nFrench:", instruction=TOY_INSTRUCTION)
    long_input = " ".join(["red cat"] * 100)
    [ids] = prompt_ids(tokenizer, setup, [long_input], 40)
    text = tokenizer.decode(ids)
    assert len(ids) <= 40 and text.startswith(TOY_INSTRUCTION + "red cat") and text.endswith("\nFrench:")
    [short] = prompt_ids(tokenizer, setup, ["red cat"], 40)
    assert tokenizer.decode(short) == setup.prompt("red cat")


def test_a_chat_model_is_prompted_through_its_chat_template(tiny_models, tmp_path):
    """The prompt becomes the user's turn of the tokenizer's chat template (with its own special tokens, none
    added twice); `chat_template: false` asks with the bare prompt."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_models["llama-chat"]))
    example = toy_translation_examples(1)[0]
    rendered = rendered_prompt(tokenizer, example.setup, example.input)
    assert rendered == f"<s>[user] {example.prompt}\n[assistant] "
    [ids] = prompt_ids(tokenizer, example.setup, [example.input], 64)
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    bare = GenerationSetup(instruction=TOY_INSTRUCTION, chat_template=False)
    assert rendered_prompt(tokenizer, bare, example.input) == example.prompt
    files = write_toy_files(tmp_path / "data", train=64, test=8)
    suite = toy_suite(files, tiny_models["llama-chat"], tmp_path / "out",
                      methods=[{"use": "lora", "epochs": 1, "batch_size": 16}])
    assert main(["run", str(dump_suite(suite, tmp_path / "suite.yaml")), "--no-progress"]) == 0
    run = read_run(next((tmp_path / "out" / "toy-translation").iterdir()))
    assert run.records("lora/seed0/evaluate", "generations")[0]["prompt"].startswith("<s>[user] " + TOY_INSTRUCTION)


def test_choices_are_read_from_outputs_as_promptbench_reads_them():
    choices = ("positive", "negative", "neutral")
    assert read_choice("Positive.", choices) == "positive"
    assert read_choice("  negative, clearly", choices) == "negative"
    assert read_choice("positively", choices) is None
    assert read_choice("I think it is positive", choices) is None
    assert read_choice("", choices) is None
    assert read_choice("not sure", ("not", "not sure")) == "not sure"


def test_local_generation_reads_label_words_and_indices_and_several_references(tmp_path):
    from harness.kinds.generation.tasks import local_generation_task

    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in [
        {"text": "a fine film", "label": 1}, {"text": "dull", "label": "Negative"},
        {"text": "great", "label": "1"}, {"text": "bad", "label": 0}]), encoding="utf-8")
    test = tmp_path / "test.csv"
    test.write_text("input,target\nbonjour,hello\n", encoding="utf-8")
    setup = GenerationSetup(template="Review: {input}\nSentiment:", metric="accuracy",
                            choices=("negative", "positive"))
    data = local_generation_task("sentiment", {"train": str(train), "test": str(train)}, setup, 0.25, 0)
    assert sorted(example.target for example in data.train + data.validation) == [
        "negative", "negative", "positive", "positive"]
    assert data.kind == "text-generation" and data.label_names == ()
    several = tmp_path / "several.jsonl"
    several.write_text(json.dumps({"source": "chat", "references": ["cat", "the cat"]}) + "\n", encoding="utf-8")
    data = local_generation_task("t", {"train": str(several), "test": str(several)}, GenerationSetup(), 0.0, 0)
    assert data.test[0].references == ("cat", "the cat")


@pytest.mark.parametrize("rows, expected", [
    ([{"input": "x", "target": " "}], r"train.jsonl line 1: reference 1 is empty"),
    ([{"input": "x", "target": "y"}, {"question": "x", "target": "y"}],
     r"train.jsonl line 2: no input column: expected one of input, prompt"),
    ([{"input": "x", "label": "maybe"}], r"line 1: its label word 'maybe' is not one of the choices"),
    ([{"input": "x", "label": 7}], r"line 1: label 7 is not the index of one of the choices"),
])
def test_a_bad_row_is_an_error_at_its_file_line_when_the_suite_is_validated(rows, expected, tiny_models, tmp_path,
                                                                            capsys):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    choices = {"choices": ["no", "yes"], "metric": "accuracy"} if "label" in rows[0] else {}
    suite = toy_suite({"train": train, "test": train}, tiny_models["gpt2"], tmp_path / "out")
    suite["task"].update(choices)
    assert main(["validate", str(dump_suite(suite, tmp_path / "suite.yaml"))]) != 0
    assert pytest.importorskip("re").search(expected, capsys.readouterr().err)


def test_what_cannot_serve_generation_is_refused_by_validate_at_its_line(tiny_models, tmp_path, capsys):
    files = write_toy_files(tmp_path / "data", train=8, test=4)
    suite = toy_suite(files, tiny_models["gpt2"], tmp_path / "out",
                      methods=["full", "frozen", {"use": "lora", "augment": {"use": "char-swap"}}],
                      attacks=["gradient-swap", "prompt-stresstest"],
                      explainers=["saliency"],
                      perturbations=["keyboard-typos", "ner-typos"])
    path = dump_suite(suite, tmp_path / "suite.yaml")
    assert main(["validate", str(path)]) != 0
    errors = capsys.readouterr().err
    lines = path.read_text().splitlines()
    for name, needle in (("frozen", "a language model has none"), ("gradient-swap", "attack its prompt instead"),
                         ("saliency", "explains classification only"),
                         ("char-swap", "is not supported by task kind 'text-generation'"),
                         ("ner-typos", "perturbation 'ner-typos'")):
        line = next(number for number, text in enumerate(lines, 1) if name in text)
        assert f"suite.yaml:{line}:" in errors and needle in errors, (name, errors)
    bad_template = toy_suite(files, tiny_models["gpt2"], tmp_path / "out")
    bad_template["task"]["template"] = "{instruction} {question}"
    assert main(["validate", str(dump_suite(bad_template, tmp_path / "bad.yaml"))]) != 0
    assert "a template knows {instruction} and {input} only" in capsys.readouterr().err


def test_peft_task_type_follows_the_model_family(tiny_models):
    from peft import TaskType

    from harness.core.errors import HarnessError
    from harness.kinds.generation.models import GenerationModels
    from harness.kinds.loading import peft_task_type

    t5 = GenerationModels.from_pretrained(str(tiny_models["t5"]))
    gpt2 = GenerationModels.from_pretrained(str(tiny_models["gpt2"]))
    assert peft_task_type("text-generation", t5) == TaskType.SEQ_2_SEQ_LM
    assert peft_task_type("text-generation", gpt2) == TaskType.CAUSAL_LM
    assert peft_task_type("sequence-classification", gpt2) == TaskType.SEQ_CLS
    with pytest.raises(HarnessError, match="depends on the model"):
        peft_task_type("text-generation")


def test_the_predictor_caches_outputs_and_scores_references_above_other_texts(tiny_models, tmp_path, monkeypatch):
    """score_outputs is the log-probability the model gives a text; a trained model gives its references more than
    their reversal. Repeated inputs are generated once."""
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TaskData, TrainRequest
    from harness.kinds.generation.predictor import GenerationPredictor
    from harness.testing import make_plugin_manager

    fitted = capture_fit(monkeypatch)
    train = toy_translation_examples(200, seed=1, split="train")
    data = TaskData("toy", (), train, train[:16], train[:16], kind="text-generation")
    component = Registry(make_plugin_manager()).get("finetuner", "full")
    request = TrainRequest(ModelSource("tiny", str(tiny_models["gpt2"]), 48), data, Budgets(), tmp_path / "model",
                           StageEnvironment("cpu", 0, tmp_path, make_progress(False)))
    component.factory(component.config_class(epochs=8, batch_size=16, learning_rate=1e-3)).train(request)
    predictor = GenerationPredictor(fitted["model"], fitted["tokenizer"], "cpu", 48, 8)
    examples = [example for example in toy_translation_examples(10, seed=7) if " " in example.target]
    right = predictor.score_outputs(examples, [example.target for example in examples])
    wrong = predictor.score_outputs(examples, [" ".join(reversed(example.target.split())) for example in examples])
    assert sum(r > w for r, w in zip(right, wrong)) >= 0.8 * len(examples)
    calls = []
    original = predictor._generate
    monkeypatch.setattr(predictor, "_generate", lambda setup, texts, bar: calls.append(len(texts)) or original(
        setup, texts, bar))
    predictor.generate(examples + examples)
    predictor.generate(examples[:2])
    assert calls == [len({example.input for example in examples})]
    assert isinstance(examples[0], GenerationExample)


def test_harness_compare_tests_generation_metrics_with_sacrebleus_paired_bootstrap(tiny_models, tmp_path):
    """Two runs on the same test set, a barely trained model (A) and a trained one (B): `harness compare` pairs
    their outputs per example and calls BLEU, chrF and exact match better with sacreBLEU's paired bootstrap."""
    from harness.core.text_metrics import paired_significance

    files = write_toy_files(tmp_path / "data", train=400, test=60)
    runs = {}
    for name, epochs in (("a", 1), ("b", 15)):
        suite = toy_suite(files, tiny_models["gpt2"], tmp_path / name, name="toy-translation",
                          methods=[{"use": "full", "epochs": epochs, "batch_size": 16, "learning_rate": 1e-3}])
        assert main(["run", str(dump_suite(suite, tmp_path / f"{name}.yaml")), "--no-progress"]) == 0
        runs[name] = next((tmp_path / name / "toy-translation").iterdir())
    assert main(["compare", str(runs["a"]), str(runs["b"]), "--out", str(tmp_path / "cmp")]) == 0
    table = (tmp_path / "cmp" / "compare.md").read_text()
    rows = {line.split(" | ")[1]: line for line in table.splitlines() if line.startswith("| full |")}
    for title in ("BLEU", "chrF", "Exact match"):
        assert "better" in rows[title], rows[title]
    # The p-value is sacreBLEU's paired test on the stored outputs, recomputed here from the records.
    outputs = {name: {record["example_id"]: record for record in read_run(run).records("full/seed0/evaluate",
                                                                                       "generations")}
               for name, run in runs.items()}
    ids = sorted(outputs["a"])
    expected = paired_significance([outputs["a"][key]["output"] for key in ids],
                                   [outputs["b"][key]["output"] for key in ids],
                                   [tuple(outputs["a"][key]["references"]) for key in ids], "bleu")
    assert f"| {expected.p_value:.3g} |" in rows["BLEU"]


def test_compare_pairs_a_prompted_classifiers_right_and_wrong_answers(tmp_path):
    """The verbaliser accuracy of a classification task posed as a prompt is paired per example (McNemar), read from
    the `correct` of each stored generation."""
    from types import SimpleNamespace

    from harness.core.files import safe_file_name, write_jsonl
    from harness.explain.significance import paired_outcomes, stage_outcomes

    stage = SimpleNamespace(kind="evaluate", stage_id="lora/seed0/evaluate")
    outcomes = []
    for name, right in (("a", range(2)), ("b", range(12))):
        run = SimpleNamespace(run_dir=tmp_path / name)
        write_jsonl(tmp_path / name / "records" / f"{safe_file_name(stage.stage_id)}.generations.jsonl",
                    ({"example_id": f"e{number}", "output": "positive", "references": ["positive"],
                      "correct": float(number in right)} for number in range(12)))
        outcomes.append(stage_outcomes(run, stage, "accuracy"))
    assert outcomes[0]["e1"] == 1.0 and outcomes[0]["e5"] == 0.0
    test = paired_outcomes(outcomes[0], outcomes[1], binary=True)
    assert test.test == "mcnemar" and test.pairs == 12 and test.p_value < 0.01
