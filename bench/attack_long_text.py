"""Attack cost on long texts: the whole text (what TextAttack searches when handed it) vs the harness, which cuts
each example to the part the model reads (its first max_length tokens) before the search.

Run:  .venv/bin/python bench/attack_long_text.py [--recipe deepwordbug] [--lengths 1000,3000,10000]
                                                  [--harness-lengths 1000,10000,100000] [--max-length 128]

Loads all-MiniLM-L6-v2 (packaged, offline) with a fresh two-label head (what a search costs does not depend on
what the model learnt), builds one text per length from review-like sentences, and attacks it in one process run
twice: through the harness predictor as TextAttack gets it (the whole text; searched with the harness's warm-up
and cache, i.e. the code before the cut) and as the harness's attack stage gives it (cut to the window). Prints
seconds, queries and model forwards per text, and the ratio where both ran. The uncut search grows with the
square of the length (one leave-one-out copy of the whole text per word), so keep its lengths modest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = ("the acting is superb and the story moves along nicely", "a charming and often affecting journey",
             "the plot is thin but the performances are great", "it is a dull , lifeless film at times")


def text_of_length(characters: int) -> str:
    words, number = [], 0
    while sum(map(len, words)) + len(words) < characters:
        words.append(SENTENCES[number % len(SENTENCES)])
        number += 1
    return " ".join(words)[:characters]


def attack_once(recipe_name: str, classifier, text: str, cut: bool) -> tuple[float, int, int, int]:
    """(seconds, queries, model forwards, characters attacked) of one example."""
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Example, StageEnvironment
    from harness.modeling.batching import example_in_model_window
    from harness.testing import make_plugin_manager

    classifier.predictor.clear_cache()
    label = int(classifier.predictor.predict([text])[0])  # the model is right: the search runs in full
    example = Example("long", text, label)
    if cut:
        example, _ = example_in_model_window(example, classifier.tokenizer, classifier.max_length)
    component = Registry(make_plugin_manager()).get("attack", recipe_name)
    attack = component.factory(component.config_class())
    before = classifier.predictor.forwards
    started = time.perf_counter()
    outcome = attack.attack(classifier, [example],
                            StageEnvironment("cpu", 0, Path(tempfile.gettempdir()), make_progress(False)))
    seconds = time.perf_counter() - started
    return seconds, outcome.records[0].num_queries, classifier.predictor.forwards - before, len(example.text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="deepwordbug")
    parser.add_argument("--lengths", default="1000,3000,10000", help="characters, attacked whole and cut")
    parser.add_argument("--harness-lengths", default="100000", help="characters, attacked cut only")
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    from harness.core.suite import resolve_model_location
    from harness.core.types import ModelSource
    from harness.kinds.loading import load_base_classifier
    from harness.modeling.models import LoadedClassifier
    from harness.modeling.predict import Predictor

    source = ModelSource("minilm", resolve_model_location("minilm"), args.max_length)
    model, tokenizer = load_base_classifier(source, ("negative", "positive"))
    predictor = Predictor(model, tokenizer, "cpu", max_length=args.max_length)
    classifier = LoadedClassifier(model, tokenizer, predictor, ("negative", "positive"), "cpu", args.max_length)
    print(f"{args.recipe} on MiniLM (max_length {args.max_length}), CPU, one example per length")
    print(f"{'characters':>10} {'whole s':>9} {'queries':>8} {'forwards':>9} {'cut s':>7} {'queries':>8} "
          f"{'forwards':>9} {'attacked chars':>15} {'ratio':>7}")
    both = [int(value) for value in args.lengths.split(",") if value]
    only_cut = [int(value) for value in args.harness_lengths.split(",") if value]
    for characters in sorted(set(both + only_cut)):
        text = text_of_length(characters)
        cut = attack_once(args.recipe, classifier, text, cut=True)
        if characters in both:
            whole = attack_once(args.recipe, classifier, text, cut=False)
            print(f"{characters:>10} {whole[0]:>9.2f} {whole[1]:>8} {whole[2]:>9} {cut[0]:>7.2f} {cut[1]:>8} "
                  f"{cut[2]:>9} {cut[3]:>15} {whole[0] / cut[0]:>6.1f}x")
        else:
            print(f"{characters:>10} {'-':>9} {'-':>8} {'-':>9} {cut[0]:>7.2f} {cut[1]:>8} {cut[2]:>9} "
                  f"{cut[3]:>15} {'-':>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
