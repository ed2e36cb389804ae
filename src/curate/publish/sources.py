"""Where a mixture source's documents are, and how many tokens it has.

A source's ``path`` (or, without one, its ``hub`` id) is one of:

- a local Parquet/JSONL file, folder (searched recursively) or glob;
- a curate recipe output folder (``run.json`` + ``data/<config>/``): its ``data/<config>`` for the source's
  ``config``, or all of ``data/`` for no config or ``default``;
- a Hub dataset id (``org/name`` or ``hf://datasets/org/name``), read through huggingface_hub: the files of the
  source's config (the card's ``configs`` entry) in the Hugging Face cache, downloaded into it when allowed.

Counting a Hub source that has no local copy uses the token count in its card's YAML (``token_counts:
{<config>: N}``, or one number for the whole dataset); with neither, the error names the source.
"""

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.utils.logging import logger

from curate.assets import BUNDLED_PREFIX, resolve

DATA_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz")
HUB_PREFIX = "hf://datasets/"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class MixtureError(ValueError):
    """A mixture file or a source that cannot be used; the message says what to change."""


@dataclass
class SourceCount:
    """Documents and text tokens of one source (``tokens`` leaves out the end-of-document token)."""

    documents: int
    tokens: int
    method: str  # "token_count column", "tokenizer <ref>", "tokenized shards (<ref>)" or "card of <hub id>"
    skipped_empty: int = 0


@dataclass(frozen=True)
class TokenizerChoice:
    """The tokenizer a run uses: the name recorded in the shards, and the local file it loads."""

    name: str
    file: str


def choose_tokenizer(ref: str) -> TokenizerChoice:
    """A Hub id (its ``tokenizer.json`` through the Hugging Face cache), a ``bundled:`` asset, a file or folder."""
    if ref.startswith(BUNDLED_PREFIX):
        return TokenizerChoice(ref, resolve(ref))
    path = Path(ref)
    if path.is_dir():
        path = path / "tokenizer.json"
    if path.is_file():
        return TokenizerChoice(ref, str(path))
    if not hub_id(ref):
        raise MixtureError(f"tokenizer {ref!r} is neither a tokenizer.json, a folder with one, nor a Hub id")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return TokenizerChoice(ref, hf_hub_download(ref, "tokenizer.json"))
    except (HfHubHTTPError, OSError) as error:
        raise MixtureError(
            f"tokenizer {ref}: no tokenizer.json in the Hugging Face cache and none could be downloaded "
            f"({type(error).__name__}); run online once, or pass --offline to use the mixture's offline tokenizer"
        ) from None


def hub_id(ref: str | None) -> str | None:
    """``org/name`` when ``ref`` names a Hub dataset rather than an existing local path, else None."""
    if not ref:
        return None
    if ref.startswith(HUB_PREFIX):
        return ref[len(HUB_PREFIX) :].strip("/")
    return ref if _HUB_ID.match(ref) and not Path(ref).exists() else None


def source_files(location: str, config: str | None, download: bool) -> list[Path] | None:
    """The data files of a source at ``location``; None for a Hub dataset with no local copy (and no ``download``)."""
    repo_id = hub_id(location)
    if repo_id:
        return hub_files(repo_id, config, download)
    return data_files(str(recipe_data_dir(Path(location), config) or location))


def recipe_data_dir(path: Path, config: str | None) -> Path | None:
    """``data/<config>`` (or ``data/``) of a curate recipe output folder; None when ``path`` is not one."""
    if not ((path / "run.json").is_file() and (path / "data").is_dir()):
        return None
    if not config or config == "default":
        return path / "data"
    if not (path / "data" / config).is_dir():
        known = sorted(p.name for p in (path / "data").iterdir() if p.is_dir())
        raise MixtureError(f"recipe output {path} has no data/{config} (configs: {', '.join(known)})")
    return path / "data" / config


def data_files(path: str) -> list[Path]:
    """Parquet/JSONL files of a local source: a file, a folder (searched recursively) or a glob."""
    target = Path(path)
    if target.is_file():
        candidates = [target]
    elif target.is_dir():
        candidates = sorted(p for p in target.rglob("*") if p.is_file())
    else:
        anchor = Path(target.anchor or ".")
        candidates = sorted(p for p in anchor.glob(str(target.relative_to(anchor))) if p.is_file())
    files = [p for p in candidates if p.name.endswith(DATA_SUFFIXES)]
    if not files:
        raise MixtureError(f"no Parquet or JSONL files at {path}")
    return files


def dataset_card(repo_id: str, local_only: bool) -> dict:
    """The YAML of a Hub dataset's card (``{}`` when it has none or it cannot be had)."""
    from huggingface_hub import DatasetCard, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        readme = hf_hub_download(repo_id, "README.md", repo_type="dataset", local_files_only=local_only)
    except (HfHubHTTPError, OSError):  # OSError covers a file not in the cache when offline
        return {}
    return DatasetCard.load(readme).data.to_dict()


def config_patterns(card: dict, config: str | None) -> list[str]:
    """The ``data_files`` of ``config`` in the card, as patterns; by default every data file (or ``<config>/*``)."""
    for entry in card.get("configs") or []:
        if entry.get("config_name") == (config or "default"):
            files = entry.get("data_files") or []
            paths = [f if isinstance(f, str) else f["path"] for f in (files if isinstance(files, list) else [files])]
            return [p for path in paths for p in (path if isinstance(path, list) else [path])]  # a split's list
    if config and config != "default":
        return [f"{config}/*"]
    return [f"*{suffix}" for suffix in DATA_SUFFIXES]


def hub_files(repo_id: str, config: str | None, download: bool) -> list[Path] | None:
    """The files of ``config`` of a Hub dataset in the Hugging Face cache, downloaded first when ``download``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    patterns = config_patterns(dataset_card(repo_id, local_only=not download), config)
    try:
        folder = snapshot_download(
            repo_id, repo_type="dataset", allow_patterns=patterns, local_files_only=not download
        )
    except LocalEntryNotFoundError:
        if download:
            raise MixtureError(
                f"Hub dataset {repo_id} is not in the Hugging Face cache and cannot be downloaded now"
            ) from None
        return None
    except HfHubHTTPError as error:
        raise MixtureError(f"Hub dataset {repo_id}: {type(error).__name__} {error}") from None
    root = Path(folder)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name.endswith(DATA_SUFFIXES)
        and any(fnmatch(str(p.relative_to(root)), pat) for pat in patterns)
    )
    if files or not download:
        return files or None
    raise MixtureError(f"Hub dataset {repo_id} has no Parquet or JSONL files matching {patterns}")


def card_token_count(repo_id: str, config: str | None) -> int | None:
    """Tokens of ``config`` from the card's YAML ``token_counts`` (one number, or one per config), if it has them."""
    counts = dataset_card(repo_id, local_only=False).get("token_counts")
    if isinstance(counts, dict):
        counts = counts.get(config or "default")
    return int(counts) if isinstance(counts, int | float) and not isinstance(counts, bool) else None


def _jsonl_rows(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for line_number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise MixtureError(f"{path}:{line_number} is not valid JSON: {error}") from error


def _column_batches(path: Path, column: str, batch_size: int = 1024) -> Iterator[list]:
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        if column not in parquet.schema_arrow.names:
            raise MixtureError(f"{path} has no column {column!r}")
        for batch in parquet.iter_batches(columns=[column], batch_size=batch_size):
            yield batch.column(0).to_pylist()
        return
    batch = []
    for row in _jsonl_rows(path):
        if column not in row:
            raise MixtureError(f"{path}: a row has no field {column!r}")
        batch.append(row[column])
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _has_column(path: Path, column: str) -> bool:
    if path.suffix == ".parquet":
        return column in pq.read_schema(path).names
    first = next(_jsonl_rows(path), {})
    return column in first


def count_rows(files: list[Path]) -> int:
    """Rows of the files: from the Parquet footers, by reading JSONL files line by line."""
    return sum(
        pq.ParquetFile(f).metadata.num_rows if f.suffix == ".parquet" else sum(1 for _ in _jsonl_rows(f))
        for f in files
    )


def count_tokens(
    files: list[Path],
    text_column: str = "text",
    tokenizer: Callable[[], TokenizerChoice] | None = None,
    use_token_count: bool = True,
) -> SourceCount:
    """Documents and tokens of local files: their ``token_count`` column when every file has one, else tokenized.

    Tokens are counted without the end-of-document token that tokenizing for training appends to each document.
    ``tokenizer`` is called only when the files need tokenizing.
    """
    if use_token_count and all(_has_column(f, "token_count") for f in files):
        documents = tokens = 0
        for file in files:
            for batch in _column_batches(file, "token_count"):
                documents += len(batch)
                tokens += sum(int(v or 0) for v in batch)
        return SourceCount(documents, tokens, "token_count column")
    if tokenizer is None:
        raise MixtureError(f"{files[0].parent}: counting these files needs a tokenizer")
    from tokenizers import Tokenizer

    choice = tokenizer()
    encoder = Tokenizer.from_file(choice.file)
    documents = tokens = skipped = 0
    for file in files:
        for batch in _column_batches(file, text_column):
            texts = [t for t in batch if isinstance(t, str) and t]
            skipped += len(batch) - len(texts)
            documents += len(texts)
            tokens += sum(len(encoding.ids) for encoding in encoder.encode_batch(texts, add_special_tokens=False))
    if skipped:
        logger.warning(f"{files[0].parent}: {skipped} rows with an empty or missing {text_column!r} are not counted")
    return SourceCount(documents, tokens, f"tokenizer {choice.name}", skipped)
