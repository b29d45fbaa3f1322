"""Generation speed: `model.generate` one prompt at a time (as the transformers docs show it) vs the harness's batched
generation (harness.GenerationPredictor), on the same model and prompts, greedy decoding.

Run:  .venv/bin/python bench/generate_speed.py [--architecture gpt2 t5] [--examples 256] [--batch-size 16]
      .venv/bin/python bench/generate_speed.py --model path/to/model [--instruction "..."]   # any local model, as is

Without --model, each architecture is a tiny model built from its config (harness.authoring.tiny_generation) and
first fine-tuned on the toy translation task for --epochs epochs, so that outputs are real (each stops at its EOS
after a few tokens, as a trained model's do); with --model the given model is used as it is. Then, in one process:
- plain: for each prompt, `tokenizer(prompt, return_tensors="pt")` and `model.generate(..., do_sample=False,
  max_new_tokens=N)`, then decode;
- the harness: one GenerationPredictor call over all prompts (length-sorted batches, left padding for decoders,
  KV cache, inference mode; bf16 autocast on CUDA, which the plain loop does not get: compare on CPU for the
  batching alone).
Prints both times, the ratio, and how many outputs are identical (the claim: all of them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def trained_tiny_model(architecture: str, directory: Path, epochs: float, device: str):
    """A tiny `architecture` model fine-tuned on the toy task with the harness's `full` finetuner, loaded."""
    from harness.authoring.tiny_generation import tiny_generation_model_dir, toy_translation_examples
    from harness.core.plugin_manager import make_plugin_manager
    from harness.core.registry import Registry
    from harness.core.runner import make_progress
    from harness.core.types import Budgets, ModelSource, StageEnvironment, TaskData, TrainRequest
    from harness.kinds.loading import load_trained_classifier

    base = tiny_generation_model_dir(directory / "base", architecture)
    train = toy_translation_examples(400, seed=1, split="train")
    data = TaskData("toy", (), train, toy_translation_examples(40, seed=3, split="validation"), train[:8],
                    kind="text-generation")
    component = Registry(make_plugin_manager()).get("finetuner", "full")
    request = TrainRequest(ModelSource("tiny", str(base), 64), data, Budgets(), directory / "trained",
                           StageEnvironment(device, 0, directory, make_progress(False)))
    learning_rate = 2e-3 if architecture in ("t5", "bart") else 1e-3
    trained = component.factory(component.config_class(epochs=epochs, batch_size=16,
                                                       learning_rate=learning_rate)).train(request)
    loaded = load_trained_classifier(trained, (), device, 64, 16, kind="text-generation")
    return loaded.model, loaded.tokenizer


def plain_generate(model, tokenizer, prompts, max_new_tokens: int, device: str) -> tuple[float, list[str]]:
    import torch

    encoder_decoder = model.config.is_encoder_decoder
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    started = time.perf_counter()
    outputs = []
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt").to(device)
        with torch.no_grad():
            sequences = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
        new = sequences[0] if encoder_decoder else sequences[0, inputs["input_ids"].shape[1]:]
        outputs.append(tokenizer.decode(new, skip_special_tokens=True).strip())
    return time.perf_counter() - started, outputs


def harness_generate(model, tokenizer, examples, device: str, batch_size: int) -> tuple[float, list[str]]:
    from harness.kinds.generation.predictor import GenerationPredictor

    predictor = GenerationPredictor(model, tokenizer, device, max_length=512, batch_size=batch_size)
    started = time.perf_counter()
    outputs = predictor.texts(examples)
    return time.perf_counter() - started, outputs


def compare(name: str, model, tokenizer, examples, device: str, batch_size: int) -> None:
    model.to(device).eval()
    prompts = [example.prompt for example in examples]
    max_new_tokens = examples[0].setup.max_new_tokens
    harness_generate(model, tokenizer, examples[:batch_size], device, batch_size)  # warm-up, both paths
    plain_generate(model, tokenizer, prompts[:2], max_new_tokens, device)
    plain_seconds, plain = plain_generate(model, tokenizer, prompts, max_new_tokens, device)
    harness_seconds, batched = harness_generate(model, tokenizer, examples, device, batch_size)
    same = sum(first == second for first, second in zip(plain, batched))
    tokens = sum(len(tokenizer(output, add_special_tokens=False)["input_ids"]) for output in batched)
    print(f"{name}: {len(examples)} prompts, {tokens / len(examples):.1f} output tokens each on average, "
          f"max_new_tokens {max_new_tokens}, device {device}")
    print(f"  plain generate, one prompt at a time: {plain_seconds:7.2f} s ({len(examples) / plain_seconds:7.1f} "
          f"prompts/s)")
    print(f"  harness, batches of {batch_size:<3}:            {harness_seconds:7.2f} s "
          f"({len(examples) / harness_seconds:7.1f} prompts/s)")
    print(f"  speed-up {plain_seconds / harness_seconds:.1f}x; identical outputs {same}/{len(examples)}")
    for first, second in [(a, b) for a, b in zip(plain, batched) if a != b][:3]:
        print(f"    differs: plain {first!r} harness {second!r}")


def main() -> int:
    import torch

    from harness.authoring.tiny_generation import TOY_INSTRUCTION, toy_translation_examples
    from harness.kinds.generation.examples import GenerationSetup

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--architecture", nargs="+", default=["gpt2", "t5"],
                        choices=["gpt2", "llama", "t5", "bart"])
    parser.add_argument("--model", default=None, help="a local model directory, used as it is (no training)")
    parser.add_argument("--instruction", default=TOY_INSTRUCTION)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=12)
    parser.add_argument("--epochs", type=float, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    setup = GenerationSetup(instruction=args.instruction, max_new_tokens=args.max_new_tokens)
    examples = toy_translation_examples(args.examples, seed=11, setup=setup)
    if args.model:
        from transformers import AutoTokenizer

        from harness.kinds.generation.models import GenerationModels

        model = GenerationModels.from_pretrained(args.model)
        compare(args.model, model, AutoTokenizer.from_pretrained(args.model), examples, args.device, args.batch_size)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        for architecture in args.architecture:
            model, tokenizer = trained_tiny_model(architecture, Path(scratch) / architecture, args.epochs,
                                                  args.device)
            compare(f"tiny {architecture} (toy-trained)", model, tokenizer, examples, args.device, args.batch_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
