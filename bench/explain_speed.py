"""Explanation speed: Captum as its docs show it (one text per call) vs the harness's batched path, same n_steps.

Run:  .venv/bin/python bench/explain_speed.py [--examples 48] [--n-steps 50] [--batch-size N]

Fine-tunes all-MiniLM-L6-v2 (packaged, offline) on 400 SST-2 sentences, then explains the same SST-2 test
sentences with integrated gradients twice in one process:
- plain Captum, as in its BERT tutorials: LayerIntegratedGradients on the word embeddings, one tokenized text per
  `attribute` call, a [CLS] + [PAD]... + [SEP] baseline, default internal batching;
- the harness's `integrated-gradients` explainer: texts grouped by token length, several texts per Captum call on
  a GPU (n_steps x texts rows, chunked by internal_batch_size; one on a CPU, where bigger calls do not pay),
  bf16 autocast on CUDA.
Prints both times, the ratio, and the Spearman agreement of the word attributions (mean and minimum over texts).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attack_speed import fine_tuned_classifier  # noqa: E402
from sst2_data import add_data_argument, load_sst2  # noqa: E402


def explain_plain(classifier, examples, n_steps: int):
    """Per text: tokenize, build the reference, one LayerIntegratedGradients call; word scores by summing."""
    import torch
    from captum.attr import LayerIntegratedGradients

    model, tokenizer = classifier.model, classifier.tokenizer

    def forward(input_ids):
        return model(input_ids=input_ids).logits

    method = LayerIntegratedGradients(forward, model.get_input_embeddings())
    started = time.perf_counter()
    word_scores = []
    for example in examples:
        encoding = tokenizer(example.text, return_tensors="pt", truncation=True, max_length=classifier.max_length)
        input_ids = encoding["input_ids"].to(classifier.device)
        reference = torch.full_like(input_ids, tokenizer.pad_token_id)
        reference[0, 0], reference[0, -1] = input_ids[0, 0], input_ids[0, -1]
        target = int(model(input_ids=input_ids).logits.argmax(dim=-1))
        attributions = method.attribute(input_ids, baselines=reference, target=target, n_steps=n_steps)
        token_scores = attributions.sum(dim=-1)[0].detach().float().cpu().tolist()
        words: dict[int, float] = {}
        for position, word_id in enumerate(encoding.word_ids(0)):
            if word_id is not None:
                words[word_id] = words.get(word_id, 0.0) + token_scores[position]
        word_scores.append(list(words.values()))
    return time.perf_counter() - started, word_scores


def explain_harness(classifier, examples, n_steps: int, batch_size: int):
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import StageEnvironment

    component = Registry(make_plugin_manager()).get("explainer", "integrated-gradients")
    explainer = component.factory(component.config_class(n_steps=n_steps, batch_size=batch_size))
    env = StageEnvironment(classifier.device, 0, Path("."), make_progress(False))
    started = time.perf_counter()
    outcome = explainer.explain(classifier, examples, env)
    return (time.perf_counter() - started, [list(attribution.scores) for attribution in outcome.attributions],
            explainer.texts_per_call(classifier.device))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--n-steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="texts per Captum call for the harness (default: its own, 1 on CPU, 16 on GPU)")
    add_data_argument(parser)
    args = parser.parse_args()
    sst2 = load_sst2(args.data)

    from harness.core.resources import prepare_offline_resources
    from harness.modeling.models import resolve_device

    prepare_offline_resources()
    import numpy as np
    import torch
    from scipy.stats import spearmanr

    device = resolve_device("auto")
    classifier = fine_tuned_classifier(device, sst2)
    examples = list(sst2.test[:args.examples])
    explain_plain(classifier, examples[:2], args.n_steps)  # warm-up: first calls pay for lazy initialisation
    print(f"device: {device} "
          f"({torch.cuda.get_device_name(0) if device == 'cuda' else f'{torch.get_num_threads()} CPU threads'}); "
          f"model: all-MiniLM-L6-v2 fine-tuned on 400 SST-2 sentences; {len(examples)} SST-2 test sentences; "
          f"integrated gradients, n_steps={args.n_steps}")
    plain_seconds, plain = explain_plain(classifier, examples, args.n_steps)
    harness_seconds, ours, per_call = explain_harness(classifier, examples, args.n_steps, args.batch_size)
    agreement = [spearmanr(a, b).statistic if len(a) > 1 else 1.0 for a, b in zip(plain, ours)]
    assert all(len(a) == len(b) for a, b in zip(plain, ours)), "word segmentation differs"
    print(f"{'path':<44}{'seconds':>9}{'texts/s':>9}")
    print(f"{'Captum, one text per call (docs)':<44}{plain_seconds:>9.2f}{len(examples) / plain_seconds:>9.2f}")
    print(f"{f'harness, {per_call} text(s) per call, length-grouped':<44}{harness_seconds:>9.2f}"
          f"{len(examples) / harness_seconds:>9.2f}")
    print(f"speed-up: {plain_seconds / harness_seconds:.2f}x; Spearman agreement of word attributions: "
          f"mean {np.mean(agreement):.4f}, min {np.min(agreement):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
