"""Helpers that make text perturbations reproducible: a per-text random generator and the change count rule."""

from __future__ import annotations

import hashlib
import importlib.metadata
import random


def text_rng(seed: int, name: str, text: str) -> random.Random:
    """A generator that depends only on (seed, perturbation name, text): the same text is perturbed the same
    way whatever else is in the batch and in whatever order. hashlib, not hash(): str hashes are salted per
    process."""
    digest = hashlib.blake2b(f"{seed}\x00{name}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def text_seed(seed: int, name: str, text: str) -> int:
    """An integer seed that depends only on (seed, name, text), for libraries seeded through global state."""
    return text_rng(seed, name, text).getrandbits(32)


def installed_versions(*distributions: str) -> tuple[tuple[str, str], ...]:
    """(distribution, version) of each of `distributions` that is installed, in the order given: what an attack
    records as its search's `library_versions` (as pip and the run's manifest name them)."""
    versions = []
    for name in distributions:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(versions)


def changes_for(rate: float, candidates: int) -> int:
    """How many of `candidates` places to change: round(rate x candidates), halves up, at least one when the
    rate is positive and there is a candidate (so every text that can be perturbed is)."""
    if rate <= 0.0 or candidates == 0:
        return 0
    return min(candidates, max(1, int(rate * candidates + 0.5)))


def check_rate(rate: object) -> None:
    """Config validation shared by perturbations: a number in [0, 1] (not a boolean)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a number in [0, 1], got {rate!r}")


# QWERTY neighbours of each letter (horizontal and diagonal), shared by the `keyboard-typos` augmenter and the
# entity-preserving NER typos.
KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol",
    "a": "qwsz", "s": "weadzx", "d": "erfsxc", "f": "rtdgcv", "g": "tyfhvb", "h": "yugjbn", "j": "uihknm",
    "k": "iojlm", "l": "opk",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
