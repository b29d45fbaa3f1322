"""A plugin-based robustness and explainability evaluation harness for NLP models.

`import harness` gives the public API (harness/api.py, documented in docs/plugins.md); the contract kit for a
plugin's tests is harness.testing. Importing either never imports torch.
"""

from harness.api import *  # noqa: F403 (the public API is exactly harness.api's __all__)
from harness.api import __all__  # noqa: F401

__version__ = "0.1.0"
