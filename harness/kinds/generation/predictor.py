"""The text-generation kind's predictor: batched, cached generation, and the log-probability of given outputs.

How it generates (and why it is faster than calling `generate` per prompt, with the same greedy outputs):
- prompts are encoded once (harness.kinds.generation.prompts) and batched by length (longest first), so a batch
  pads little and the KV cache (`use_cache`) serves every step of a batch at once;
- decoder-only models are padded on the left, so every row's next token follows its last real token (the
  attention mask makes transformers derive the positions), encoder-decoders on the right;
- `torch.inference_mode`, bf16 autocast on CUDA;
- a (setup, input) -> output cache: a perturbation or an attack that leaves an input unchanged costs nothing, and
  an attack's candidate prompts that repeat are generated once.

`score_outputs` is the teacher-forced log-probability of given outputs (a reference, or what the model
generated), what attacks and explanations measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from harness.kinds.generation.examples import GenerationExample, GenerationSetup
from harness.kinds.generation.models import generation_config_ids, is_encoder_decoder
from harness.kinds.generation.prompts import IGNORED, encode_pairs, prompt_ids


@dataclass(frozen=True)
class Generation:
    """One output: its text (special tokens dropped, surrounding blanks stripped) and how many tokens were
    generated for it (EOS and padding not counted)."""

    text: str
    tokens: int


class GenerationPredictor:
    """Generates the outputs of a generation model for GenerationExamples (see the module docstring)."""

    def __init__(self, model: Any, tokenizer: Any, device: str, max_length: int = 512, batch_size: int = 16,
                 progress: Optional[Callable[..., Any]] = None):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.encoder_decoder = is_encoder_decoder(model)
        self.progress = progress
        self.cache: dict[tuple[GenerationSetup, str], Generation] = {}

    def prompt_budget(self, setup: GenerationSetup) -> int:
        """Prompt tokens a model reads: a decoder's window also holds what it generates."""
        if self.encoder_decoder:
            return self.max_length
        return max(1, self.max_length - setup.max_new_tokens)

    def generate(self, examples: Sequence[GenerationExample], description: str = "generate") -> list[Generation]:
        """The model's output for each example, in order."""
        wanted: dict[tuple[GenerationSetup, str], None] = {}
        for example in examples:
            key = (example.setup, example.input)
            if key not in self.cache:
                wanted[key] = None
        by_setup: dict[GenerationSetup, list[str]] = {}
        for setup, text in wanted:
            by_setup.setdefault(setup, []).append(text)
        total = sum(len(texts) for texts in by_setup.values())
        bar = self.progress(total=total, desc=description, unit="output") if self.progress and total else None
        try:
            for setup, texts in by_setup.items():
                for text, generation in zip(texts, self._generate(setup, texts, bar)):
                    self.cache[(setup, text)] = generation
        finally:
            if bar is not None:
                bar.close()
        return [self.cache[(example.setup, example.input)] for example in examples]

    def _generate(self, setup: GenerationSetup, texts: Sequence[str], bar: Any) -> list[Generation]:
        import torch

        from harness.modeling.batching import pad_batch

        ids = prompt_ids(self.tokenizer, setup, texts, self.prompt_budget(setup))
        order = sorted(range(len(ids)), key=lambda row: -len(ids[row]))
        side = "right" if self.encoder_decoder else "left"
        special = generation_config_ids(self.model, self.tokenizer)
        outputs: list[Optional[Generation]] = [None] * len(ids)
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin:begin + self.batch_size]
            batch = pad_batch({"input_ids": ids}, rows, self.tokenizer, self.device, side=side)
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                        enabled=self.device.startswith("cuda")):
                sequences = self.model.generate(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    max_new_tokens=setup.max_new_tokens, num_beams=setup.num_beams, do_sample=False,
                    use_cache=True, **special)
            new = sequences if self.encoder_decoder else sequences[:, batch["input_ids"].shape[1]:]
            for row, generated in zip(rows, new.tolist()):
                outputs[row] = self._decoded(generated, special)
            if bar is not None:
                bar.update(len(rows))
        return outputs  # type: ignore[return-value]

    def _decoded(self, generated: list[int], special: dict[str, Any]) -> Generation:
        """The text of one row of generated ids, and its token count up to the first EOS (an encoder-decoder's
        decoder start token not counted)."""
        if self.encoder_decoder and generated and generated[0] == self.model.config.decoder_start_token_id:
            generated = generated[1:]
        eos = special["eos_token_id"]
        stops = set(eos) if isinstance(eos, (list, tuple)) else {eos}
        tokens = next((position for position, token in enumerate(generated) if token in stops), len(generated))
        text = self.tokenizer.decode(generated[:tokens], skip_special_tokens=True)
        return Generation(text.strip(), tokens)

    def texts(self, examples: Sequence[GenerationExample], description: str = "generate") -> list[str]:
        return [generation.text for generation in self.generate(examples, description)]

    def score_outputs(self, examples: Sequence[GenerationExample], outputs: Sequence[str]) -> list[float]:
        """The summed log-probability of each output (its tokens and EOS, as the model is trained to write them)
        given its example's prompt: teacher-forced, in batches."""
        import torch

        pairs = encode_pairs(self.tokenizer, examples, outputs, self.max_length, self.encoder_decoder)
        scores = [0.0] * len(examples)
        order = sorted(range(len(examples)), key=lambda row: -len(pairs.input_ids[row]))
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin:begin + self.batch_size]
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                        enabled=self.device.startswith("cuda")):
                log_probs = sequence_log_probs(self.model, self.tokenizer, pairs.input_ids, pairs.labels, rows,
                                               self.device, self.encoder_decoder)
            for row, value in zip(rows, log_probs.tolist()):
                scores[row] = value
        return scores


def sequence_log_probs(model: Any, tokenizer: Any, input_ids: Sequence[Sequence[int]],
                       labels: Sequence[Sequence[int]], rows: Sequence[int], device: str,
                       encoder_decoder: bool) -> Any:
    """The summed log-probabilities of the labelled tokens of `rows` (a tensor, one value per row): right-padded
    batches, labels -100 where nothing is scored."""
    import torch

    from harness.modeling.batching import pad_batch

    batch = pad_batch({"input_ids": input_ids}, rows, tokenizer, device, side="right")
    width = max(len(labels[row]) for row in rows) if encoder_decoder else batch["input_ids"].shape[1]
    target = torch.full((len(rows), width), IGNORED, dtype=torch.long)
    for position, row in enumerate(rows):
        target[position, :len(labels[row])] = torch.as_tensor(labels[row], dtype=torch.long)
    target = target.to(device)
    if encoder_decoder:
        logits = model(**batch, labels=target).logits
        scored = target
    else:
        logits = model(**batch).logits[:, -width:][:, :-1]  # prompt tuning's virtual tokens come first
        scored = target[:, 1:]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    mask = scored != IGNORED
    picked = log_probs.gather(-1, scored.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=-1)
