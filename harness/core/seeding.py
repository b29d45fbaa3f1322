"""Seeding every random number generator a stage draws from (Python, numpy, torch), so that a stage computed
twice computes the same."""

from __future__ import annotations

import random


def set_seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
