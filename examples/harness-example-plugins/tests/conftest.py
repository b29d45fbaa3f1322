"""The harness's contract-kit fixtures, made available to this package's tests by importing them."""

from harness.testing import harness_environment, harness_tiny_classifier  # noqa: F401 (pytest fixtures)
