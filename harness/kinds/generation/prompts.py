"""What a generation model reads and is trained to write, as token ids: one encoding for training, evaluation,
attacks and explanations, so that a model is always asked the same way.

- The prompt (`rendered_prompt`): the task's template with its instruction and the example's input, wrapped as the
  user's turn of the tokenizer's chat template when the tokenizer has one and the setup allows it.
- A prompt longer than the window: the *input* is cut (its last tokens), never the instruction or the template's
  tail ("Summary:"), which tells the model what to write. Only where the template alone overflows is the prompt cut
  from the left.
- Encoder-decoders: the prompt is the encoder's input (with the tokenizer's special tokens: T5's </s>) and the
  target the decoder's labels (`text_target`, cut to `max_new_tokens`).
- Decoder-only LMs: one sequence, prompt then target then EOS; the loss is on the target tokens only (the prompt's
  labels are -100), and the window (`max_length`) holds both: the prompt gets what the target leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

from harness.kinds.generation.examples import GenerationExample, GenerationSetup

IGNORED = -100
"""The label of a position the loss skips (transformers' convention)."""


def uses_chat_template(tokenizer: Any, setup: GenerationSetup) -> bool:
    return bool(setup.chat_template and getattr(tokenizer, "chat_template", None))


def rendered_prompt(tokenizer: Any, setup: GenerationSetup, text: str) -> str:
    """The text of the prompt for one input, chat template applied where it is used."""
    prompt = setup.prompt(text)
    if uses_chat_template(tokenizer, setup):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return prompt


def prompt_ids(tokenizer: Any, setup: GenerationSetup, texts: Sequence[str],
               budget: Union[int, Sequence[int]]) -> list[list[int]]:
    """The token ids of the prompts for `texts`, each at most `budget` tokens (or its own budget, a list), the
    input cut to fit."""
    budgets = [budget] * len(texts) if isinstance(budget, int) else list(budget)
    # A chat template writes the model's special tokens (BOS, turn markers) itself.
    special = not uses_chat_template(tokenizer, setup)
    encoded = tokenizer([rendered_prompt(tokenizer, setup, text) for text in texts], add_special_tokens=special,
                        verbose=False)["input_ids"]
    return [ids if len(ids) <= limit else _fitted(tokenizer, setup, text, limit, special)
            for ids, text, limit in zip(encoded, texts, budgets)]


def _fitted(tokenizer: Any, setup: GenerationSetup, text: str, budget: int, special: bool) -> list[int]:
    """A long prompt's ids with its input cut until the whole fits `budget` (fitted_input); the prompt's first
    tokens go only when the template alone overflows."""
    ids = tokenizer(rendered_prompt(tokenizer, setup, fitted_input(tokenizer, setup, text, budget)),
                    add_special_tokens=special, verbose=False)["input_ids"]
    return ids if len(ids) <= budget else ids[len(ids) - budget:]


def fitted_input(tokenizer: Any, setup: GenerationSetup, text: str, budget: int) -> str:
    """The input as the model reads it: cut at a token boundary until its whole prompt fits `budget` tokens (a few
    rounds, since tokens at the cut may merge differently); unchanged when it fits."""
    special = not uses_chat_template(tokenizer, setup)

    def length(cut: str) -> int:
        return len(tokenizer(rendered_prompt(tokenizer, setup, cut), add_special_tokens=special,
                             verbose=False)["input_ids"])

    if length(text) <= budget:
        return text
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
    kept, cut = len(offsets), text
    for _ in range(4):
        cut = text[:offsets[kept - 1][1]] if kept > 0 else ""
        overflow = length(cut) - budget
        if overflow <= 0 or kept == 0:
            break
        kept = max(0, kept - overflow)
    return cut


def target_ids(tokenizer: Any, targets: Sequence[str], max_new_tokens: int, encoder_decoder: bool) -> list[list[int]]:
    """The ids a model is trained to generate: an encoder-decoder's labels as its tokenizer makes them
    (`text_target`, with its EOS), a decoder's target tokens followed by EOS; at most `max_new_tokens` (the EOS kept
    where the target is cut, so that the model learns to stop)."""
    if encoder_decoder:
        encoded = tokenizer(text_target=list(targets), verbose=False)["input_ids"]
        return [ids if len(ids) <= max_new_tokens else ids[:max_new_tokens - 1] + ids[-1:] for ids in encoded]
    encoded = tokenizer(list(targets), add_special_tokens=False, verbose=False)["input_ids"]
    return [ids[:max_new_tokens - 1] + [tokenizer.eos_token_id] for ids in encoded]


@dataclass(frozen=True)
class EncodedPairs:
    """Training (or scoring) rows: the model's input ids and, per row, the labels: the decoder's target ids for an
    encoder-decoder, the whole sequence's labels (-100 over the prompt) for a decoder-only LM."""

    input_ids: list[list[int]]
    labels: list[list[int]]


def encode_pairs(tokenizer: Any, examples: Sequence[GenerationExample], targets: Sequence[str], max_length: int,
                 encoder_decoder: bool) -> EncodedPairs:
    """Each example's prompt with `targets[i]` (its reference, or a generated output to score), encoded as the
    model trains on it (see the module docstring)."""
    input_ids: list[list[int]] = [[] for _ in examples]
    labels: list[list[int]] = [[] for _ in examples]
    for setup, indices in _by_setup(examples).items():
        texts = [examples[index].input for index in indices]
        wanted = target_ids(tokenizer, [targets[index] for index in indices], setup.max_new_tokens, encoder_decoder)
        if encoder_decoder:
            for index, prompt, target in zip(indices, prompt_ids(tokenizer, setup, texts, max_length), wanted):
                input_ids[index], labels[index] = prompt, target
            continue
        # The target keeps its tokens; the prompt gets the rest of the window (at least one token).
        wanted = [target[:max(1, max_length - 1)] for target in wanted]
        prompts = prompt_ids(tokenizer, setup, texts, [max(1, max_length - len(target)) for target in wanted])
        for index, prompt, target in zip(indices, prompts, wanted):
            input_ids[index], labels[index] = prompt + target, [IGNORED] * len(prompt) + target
    return EncodedPairs(input_ids, labels)


def _by_setup(examples: Sequence[GenerationExample]) -> dict[GenerationSetup, list[int]]:
    """Example indices grouped by their setup (a task has one; an adversarial prompt makes another)."""
    groups: dict[GenerationSetup, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(example.setup, []).append(index)
    return groups
