"""PEFT's question-answering models as the extractive-QA kind trains and runs them (`adapt_peft_model`).

- Token type ids: PEFT's (0.21) PeftModelForQuestionAnswering takes `token_type_ids` and drops it for LoRA, IA3 and
  AdaLoRA (its sequence- and token-classification models pass it on). A BERT-style model then reads the context as
  part of the question while it trains, but a LoRA model merged for inference reads it as the second segment:
  the merged model's answers differ from the trained one's. `pass_token_types` wraps those models so that the
  ids reach the model, in training and inference alike.
- Prompt tuning: PEFT puts its virtual tokens before the window and returns start and end logits for them too,
  while the labels (start_positions, end_positions) count from the window's first real token; its loss then points
  every answer `num_virtual_tokens` positions early. The wrapper cuts the virtual tokens' logits off and computes
  the loss on the real positions, as transformers' question-answering heads compute it (token type ids stay as
  PEFT handles them: dropped, in training and inference alike).
- Prefix tuning adds keys and values, not positions: such models are returned unchanged.

Everything else (save_pretrained, merge_and_unload, the config) is the PEFT model's own.
"""

from __future__ import annotations

from typing import Any

from harness.modeling.virtual_tokens import PROMPT_POSITION_TYPES, VirtualTokenTrimmer


def question_answering_loss(start_logits: Any, end_logits: Any, start_positions: Any, end_positions: Any) -> Any:
    """transformers' loss of a question-answering head: the mean of the start and end cross-entropies, positions
    outside the window ignored."""
    import torch

    ignored = start_logits.size(1)
    loss = torch.nn.CrossEntropyLoss(ignore_index=ignored)
    return (loss(start_logits.float(), start_positions.clamp(0, ignored))
            + loss(end_logits.float(), end_positions.clamp(0, ignored))) / 2


class PeftQAModel(VirtualTokenTrimmer):
    """A PEFT question-answering model whose token type ids reach the model (`virtual_tokens` 0), or whose virtual
    tokens' logits are cut off (prompt tuning)."""

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, token_type_ids=None,
                start_positions=None, end_positions=None, **kwargs):
        from transformers.modeling_outputs import QuestionAnsweringModelOutput

        if not self.virtual_tokens:
            # The PEFT model's own forward minus its forward hooks, which only serve adapter_names (not used here).
            return self.peft_model.base_model(input_ids=input_ids, attention_mask=attention_mask,
                                              inputs_embeds=inputs_embeds, token_type_ids=token_type_ids,
                                              start_positions=start_positions, end_positions=end_positions,
                                              **kwargs)
        outputs = self.peft_model(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                  **kwargs)
        start_logits = outputs.start_logits[:, self.virtual_tokens:]
        end_logits = outputs.end_logits[:, self.virtual_tokens:]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        return QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits)


def adapt_qa_peft_model(model: Any) -> Any:
    """A PEFT question-answering model as the kind uses it (see the module docstring)."""
    config = getattr(model, "active_peft_config", None)
    if config is None:
        return model
    peft_type = getattr(getattr(config, "peft_type", None), "value", None)
    if peft_type in PROMPT_POSITION_TYPES:
        return PeftQAModel(model, config.num_virtual_tokens)
    if getattr(config, "is_prompt_learning", False):  # prefix tuning
        return model
    return PeftQAModel(model, 0)
