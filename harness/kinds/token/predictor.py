"""The token-classification kind's predictor: batched, cached word tags (what NER attacks, perturbations and
explainers query)."""

from __future__ import annotations

from typing import Any, Sequence

from harness.kinds.token.encoding import TokenPrediction, encode_words, word_predictions
from harness.modeling.predict import CachedModelPredictor, pad_token_rows


class TokenPredictor(CachedModelPredictor):
    """Batched word tags for a token-classification model (NER): Predictor's counterpart for a model that tags
    every word.

    A sentence is a sequence of words. They are tokenized pre-split (harness.kinds.token.encoding.encode_words),
    sorted by length and padded per batch to the batch's longest sentence, run under inference_mode (bf16 autocast
    on CUDA), and read back at each word's first subword (`word_predictions`: the argmax tag and the softmax over
    the labels). Results are cached per sentence because attacks ask for the same sentences again and again."""

    def __init__(self, model: Any, tokenizer: Any, device: str, max_length: int = 128, batch_size: int = 64,
                 cache_size: int = 50_000, outside_index: int = 0):
        super().__init__(model, tokenizer, device, max_length, batch_size, cache_size)
        self.outside_index = outside_index
        """The tag of words the model never saw (cut off by max_length): "O"."""

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[Any]:
        """One harness.kinds.token.encoding.TokenPrediction per sentence (tag index and label probabilities per
        word), in the order of `sentences`."""
        keys = [tuple(sentence) for sentence in sentences]
        for key in keys:
            if not all(isinstance(word, str) for word in key):
                raise TypeError(f"a sentence must be a sequence of words (strings), got {key!r:.80}")
        self.queries += len(keys)
        return self._cache.get_all(keys, self._forward)

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[tuple[int, ...]]:
        """Tag indices per word of each sentence."""
        return [prediction.tags for prediction in self.tag(sentences)]

    def _forward(self, sentences: list[tuple[str, ...]]) -> list[Any]:
        import torch

        # An empty sentence has nothing to tag (and the tokenizer rejects an empty word list).
        results: list[Any] = [TokenPrediction((), (), 0) if not sentence else None for sentence in sentences]
        nonempty = [index for index, sentence in enumerate(sentences) if sentence]
        encoded = dict(zip(nonempty, encode_words(self.tokenizer, [sentences[index] for index in nonempty],
                                                  max_length=self.max_length)))
        order = sorted(nonempty, key=lambda index: len(encoded[index].input_ids))
        was_training = self.model.training
        self.model.eval()
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        try:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                        enabled=self.device.startswith("cuda")):
                for start in range(0, len(order), self.batch_size):
                    batch = order[start:start + self.batch_size]
                    input_ids, attention_mask = pad_token_rows([encoded[index].input_ids for index in batch],
                                                               self.tokenizer.pad_token_id, left)
                    logits = self.model(input_ids=input_ids.to(self.device),
                                        attention_mask=attention_mask.to(self.device)).logits.float().cpu().numpy()
                    for row, index in enumerate(batch):
                        length = len(encoded[index].input_ids)
                        # Left padding puts the sentence at the end of the row.
                        rows = logits[row, logits.shape[1] - length:] if left else logits[row, :length]
                        results[index] = word_predictions(rows, encoded[index].word_ids, encoded[index].words,
                                                          outside_index=self.outside_index)
        finally:
            if was_training:
                self.model.train()
        self.forwards += len(sentences)
        return results
