"""Explainer `feature-ablation`: Captum's FeatureAblation with words as features (leave-one-word-out).

Each word's score is how much the predicted logit drops when the word's subwords are replaced by the pad token.
One model evaluation per word position for a whole batch of texts. On an extractive-QA task it explains each
predicted answer: each word of the question and of the context masked in turn, scored by the drop of the answer's
start + end logit (harness.kinds.qa.explaining).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import ExplainerSettings, WordPerturbationExplainer, hookimpl


@dataclass(frozen=True)
class FeatureAblationConfig(ExplainerSettings):
    batch_size: int = 32
    perturbations_per_eval: int = 8
    """Perturbed copies of the batch per model call (bigger calls, fewer of them)."""


class FeatureAblationExplainer(WordPerturbationExplainer):
    def attribute_ids(self, forward, batch, feature_mask, targets):
        from captum.attr import FeatureAblation

        return FeatureAblation(forward).attribute(
            batch.input_ids, baselines=batch.baseline_ids, target=targets,
            additional_forward_args=(batch.attention_mask,),
            perturbations_per_eval=self.config.perturbations_per_eval, feature_mask=feature_mask)


    def explain_answers(self, classifier, examples, env, allow_impossible):
        """Extractive QA: each word of the question and of the context masked in turn; its score is the drop of
        the predicted answer's start + end logit (harness.kinds.qa.explaining)."""
        from harness import explain_answers

        return explain_answers(classifier, examples, "feature-ablation", allow_impossible=allow_impossible,
                               progress=env.progress)


    def explain_generations(self, classifier, examples, env):
        """Text generation: the log-probability of the output the model generates, attributed over the prompt's
        words (the instruction's, the input's, the template's; harness.kinds.generation.explaining)."""
        from harness import explain_outputs

        return explain_outputs(classifier, examples, "feature-ablation",
                               perturbations_per_eval=self.config.perturbations_per_eval, progress=env.progress)


@hookimpl
def register_explainers(register):
    register("feature-ablation", FeatureAblationExplainer, config=FeatureAblationConfig,
             description="Captum feature ablation over words: the logit drop when a word is replaced by padding")
