"""Tiny generation models built from configs, and a toy task they learn in seconds: what the tests, the benchmarks
and plugin authors use where no pretrained seq2seq or LLM weights can be downloaded.

`tiny_generation_model_dir(directory, architecture)` saves a randomly initialised T5, BART, GPT-2 or Llama (two
layers, width 64) with a byte-level BPE tokenizer trained on the toy task's words, in Hugging Face format
(safetensors): a model directory like any other, loaded with from_pretrained. The Llama variant may carry a chat
template (an instruction-tuned LLM's prompt format).

`toy_translation_examples(count)` is word-for-word "translation" of short English colour-and-animal phrases into
French (`translate English to French: red cat` -> `rouge chat`); word order is kept, so a tiny model learns it
from a few hundred examples in a few epochs, and BLEU, chrF and exact match move from about 0 to near 100.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Sequence

ENGLISH = ("red", "blue", "green", "black", "white", "cat", "dog", "bird", "fish", "tree", "sun", "moon")
FRENCH = ("rouge", "bleu", "vert", "noir", "blanc", "chat", "chien", "oiseau", "poisson", "arbre", "soleil", "lune")
TOY_INSTRUCTION = "translate English to French: "
ARCHITECTURES = ("t5", "bart", "gpt2", "llama")
SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>", "<s>")
TOY_CHAT_TEMPLATE = ("{% for message in messages %}<s>[{{ message['role'] }}] {{ message['content'] }}\n{% endfor %}"
                     "{% if add_generation_prompt %}[assistant] {% endif %}")
"""A minimal chat template (the shape of an instruction-tuned LLM's), for testing prompts through one."""


def toy_translation_pairs(count: int, seed: int = 0, max_words: int = 4) -> list[tuple[str, str]]:
    """(English phrase, its French words) pairs of 1 to `max_words` words, seeded."""
    rng = random.Random(seed)
    dictionary = dict(zip(ENGLISH, FRENCH))
    pairs = []
    for _ in range(count):
        words = [rng.choice(ENGLISH) for _ in range(rng.randint(1, max_words))]
        pairs.append((" ".join(words), " ".join(dictionary[word] for word in words)))
    return pairs


def toy_translation_examples(count: int, seed: int = 0, split: str = "toy", setup: Any = None) -> tuple[Any, ...]:
    """GenerationExamples of the toy translation task (ids `<split>-<n>`), posed with `setup` (default: the
    instruction TOY_INSTRUCTION, the headline metric chrF, at most 12 new tokens)."""
    from harness.kinds.generation.examples import GenerationExample, GenerationSetup

    setup = setup or GenerationSetup(instruction=TOY_INSTRUCTION, metric="chrf", max_new_tokens=12)
    return tuple(GenerationExample(f"{split}-{index}", source, (target,), setup)
                 for index, (source, target) in enumerate(toy_translation_pairs(count, seed), 1))


def _tokenizer(architecture: str, texts: Sequence[str], chat_template: bool) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    pad, eos, unk, bos = SPECIAL_TOKENS
    ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    # Each family's special tokens, as their real tokenizers add them: T5 ends with </s>, BART wraps in <s> ... </s>,
    # Llama starts with <s>, GPT-2 adds nothing.
    single = {"t5": f"$A {eos}", "bart": f"{bos} $A {eos}", "llama": f"{bos} $A", "gpt2": "$A"}[architecture]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[(token, ids[token]) for token in (eos, bos) if token in single])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=pad, eos_token=eos, unk_token=unk,
                                   bos_token=bos, model_input_names=["input_ids", "attention_mask"])
    if chat_template:
        fast.chat_template = TOY_CHAT_TEMPLATE
    return fast


def _model(architecture: str, tokenizer: Any, seed: int) -> Any:
    import torch
    from transformers import (
        BartConfig,
        BartForConditionalGeneration,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    torch.manual_seed(seed)
    vocabulary = len(tokenizer)
    pad, eos, bos = tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id
    if architecture == "t5":
        return T5ForConditionalGeneration(T5Config(
            vocab_size=vocabulary, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, dropout_rate=0.0,
            decoder_start_token_id=pad, pad_token_id=pad, eos_token_id=eos))
    if architecture == "bart":
        return BartForConditionalGeneration(BartConfig(
            vocab_size=vocabulary, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, max_position_embeddings=256,
            pad_token_id=pad, eos_token_id=eos, bos_token_id=bos, decoder_start_token_id=eos,
            forced_eos_token_id=eos, dropout=0.0))
    if architecture == "gpt2":
        return GPT2LMHeadModel(GPT2Config(
            vocab_size=vocabulary, n_embd=64, n_layer=2, n_head=4, n_positions=256, bos_token_id=bos,
            eos_token_id=eos, pad_token_id=pad, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=vocabulary, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad))


def tiny_generation_model_dir(directory: Path, architecture: str = "gpt2", texts: Sequence[str] = (), seed: int = 0,
                              chat_template: bool = False) -> Path:
    """A random tiny `architecture` ("t5", "bart", "gpt2", "llama") model with a tokenizer trained on `texts` (by
    default the toy task's words and instruction), saved under `directory`; returns the directory."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r} is not one of {', '.join(ARCHITECTURES)}")
    if chat_template and architecture != "llama":
        raise ValueError("only the llama variant carries a chat template")
    corpus = list(texts) or [TOY_INSTRUCTION + " " + " ".join(ENGLISH), " ".join(FRENCH),
                             *(" ".join(pair) for pair in toy_translation_pairs(200))]
    tokenizer = _tokenizer(architecture, corpus, chat_template)
    model = _model(architecture, tokenizer, seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory), safe_serialization=True)
    tokenizer.save_pretrained(str(directory))
    return directory
