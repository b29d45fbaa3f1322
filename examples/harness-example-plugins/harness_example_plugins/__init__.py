"""Example third-party plugins for nlp-robustness-harness (one module per plugin, each its own entry point):

- `vowel-drop` (harness_example_plugins.vowel_drop): an augmenter / perturbation that drops vowels;
- `leave-one-out` (harness_example_plugins.leave_one_out): a word-occlusion explainer.
"""
