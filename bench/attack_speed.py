"""Attack speed: plain TextAttack (stock HuggingFaceModelWrapper) vs the harness, same model, same examples.

Run:  .venv/bin/python bench/attack_speed.py [--data DIR] [--examples 12] [--recipes deepwordbug,pwws] [--workers N]

Fine-tunes all-MiniLM-L6-v2 (packaged, offline) on 400 SST-2 phrases (SST-2 from the hub, or --data DIR: see
bench/sst2_data.py), then attacks the same SST-2 test sentences
with each recipe twice in one process: once exactly as TextAttack's docs show (HuggingFaceModelWrapper, which pads
every query to the tokenizer's 512 tokens), once through the harness (its predictor as the model wrapper: dynamic
padding, length-sorted batches, a text->logits cache, the first queries of all examples in shared batches). Random
state is reset before each so the searches can be compared. Prints both times, the ratio, and whether every
adversarial text, query count and status matches. With --workers N, also the harness's attack plugin in one
process vs N worker processes (each attacking a slice of the examples), and the speed-up of the N workers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sst2_data import add_data_argument, load_sst2  # noqa: E402

RECIPE_CLASSES = {"deepwordbug": "DeepWordBugGao2018", "pwws": "PWWSRen2019", "pruthi": "Pruthi2019"}


def fine_tuned_classifier(device: str, sst2):
    import tempfile

    from harness.core.runner import make_progress
    from harness.core.suite import resolve_model_location
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TaskData, TrainRequest
    from harness.kinds.loading import load_base_classifier, load_trained_classifier
    from harness.training.loop import TrainingSettings
    from harness.training.train import train_and_save

    data = TaskData("sst2", sst2.label_names, sst2.train[:400], sst2.validation[:100], ())
    source = ModelSource("minilm", resolve_model_location("minilm"), 128)
    directory = Path(tempfile.mkdtemp(prefix="attack-bench-"))
    model, tokenizer = load_base_classifier(source, data.label_names)
    request = TrainRequest(source, data, Budgets(), directory / "model",
                           StageEnvironment(device, 0, directory, make_progress(False)))
    trained = train_and_save(model, tokenizer, request, TrainingSettings(epochs=2, learning_rate=1e-4), False)
    return load_trained_classifier(trained, data.label_names, device, 128, 64)


def attack_plain(recipe, classifier, examples):
    from textattack.models.wrappers import HuggingFaceModelWrapper

    from harness.attack.perturbation import text_seed
    from harness.attack.textattack_bridge import seed_everything
    from harness.core.seeding import set_seed

    set_seed(0)
    attack = recipe.build(HuggingFaceModelWrapper(classifier.model, classifier.tokenizer))
    started = time.perf_counter()
    results = []
    for example in examples:
        # The harness seeds each example's search (reproducible per example); the same here, so the two searches
        # can be compared text for text.
        seed_everything(text_seed(0, "attack", example.id))
        results.append(attack.attack(example.text, example.label))
    return time.perf_counter() - started, [summary(result) for result in results]


def attack_harness(recipe, classifier, examples):
    from harness.attack.textattack_bridge import run_textattack_attack
    from harness.core.runner import make_progress
    from harness.core.seeding import set_seed
    from harness.core.types import StageEnvironment

    set_seed(0)
    classifier.predictor.clear_cache()
    attack = recipe.build(classifier.predictor.textattack_wrapper())
    started = time.perf_counter()
    outcome = run_textattack_attack(attack, classifier, examples, StageEnvironment(classifier.device, 0, Path("."),
                                                                                  make_progress(False)))
    seconds = time.perf_counter() - started
    return seconds, [(r.perturbed_text, r.num_queries, r.status) for r in outcome.records], outcome.model_forwards


def summary(result):
    name = type(result).__name__
    status = {"SuccessfulAttackResult": "successful", "FailedAttackResult": "failed",
              "SkippedAttackResult": "skipped"}.get(name, name)
    return result.perturbed_result.attacked_text.text, result.perturbed_result.num_queries, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=12)
    parser.add_argument("--recipes", default="deepwordbug,pwws")
    parser.add_argument("--workers", type=int, default=0, help="also time the plugin with this many worker processes")
    add_data_argument(parser)
    args = parser.parse_args()
    sst2 = load_sst2(args.data)

    from harness.core.resources import prepare_offline_resources
    from harness.modeling.models import resolve_device

    prepare_offline_resources()
    import torch

    device = resolve_device("auto")
    classifier = fine_tuned_classifier(device, sst2)
    classifier.predictor.textattack_wrapper()  # prepares NLTK data before textattack is imported
    import textattack.attack_recipes as recipes

    examples = list(sst2.test[:args.examples])
    print(f"device: {device} "
          f"({torch.cuda.get_device_name(0) if device == 'cuda' else f'{torch.get_num_threads()} CPU threads'}); "
          f"model: all-MiniLM-L6-v2 fine-tuned on 400 SST-2 sentences; {len(examples)} SST-2 test sentences")
    print(f"{'recipe':<13}{'TextAttack s':>13}{'harness s':>11}{'speed-up':>10}{'identical text+queries+status':>31}"
          f"   model forwards")
    for name in args.recipes.split(","):
        recipe = getattr(recipes, RECIPE_CLASSES[name])
        plain_seconds, plain = attack_plain(recipe, classifier, examples)
        harness_seconds, ours, forwards = attack_harness(recipe, classifier, examples)
        matches = sum(a == b for a, b in zip(plain, ours))
        queries = sum(q for _, q, s in plain if s != "skipped")
        print(f"{name:<13}{plain_seconds:>13.2f}{harness_seconds:>11.2f}{plain_seconds / harness_seconds:>9.1f}x"
              f"{f'{matches}/{len(plain)}':>31}   {forwards} (TextAttack counted {queries} queries)", flush=True)
        for index, (a, b) in enumerate(zip(plain, ours)):
            if a != b:
                print(f"  mismatch on example {index}: TextAttack {a} vs harness {b}")
    if args.workers > 1:
        print(f"\n{'plugin':<13}{'1 process s':>13}{f'{args.workers} workers s':>14}{'speed-up':>10}{'identical':>11}")
        for name in args.recipes.split(","):
            one_seconds, one = attack_with_workers(name, classifier, examples, 1)
            many_seconds, many = attack_with_workers(name, classifier, examples, args.workers)
            print(f"{name:<13}{one_seconds:>13.2f}{many_seconds:>14.2f}{one_seconds / many_seconds:>9.2f}x"
                  f"{f'{sum(a == b for a, b in zip(one, many))}/{len(one)}':>11}", flush=True)
    return 0


def attack_with_workers(name, classifier, examples, workers):
    """The harness's attack plugin (per-example seeding, its predictor), in one process or several."""
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import StageEnvironment

    component = Registry(make_plugin_manager()).get("attack", name)
    attack = component.factory(component.config_class(workers=workers))
    classifier.predictor.clear_cache()
    started = time.perf_counter()
    outcome = attack.attack(classifier, examples, StageEnvironment(classifier.device, 0, Path("."),
                                                                   make_progress(False)))
    return time.perf_counter() - started, [(r.perturbed_text, r.num_queries, r.status) for r in outcome.records]


if __name__ == "__main__":
    sys.exit(main())
