"""Benchmark decontamination (FineMath: GSM8K, MATH, MMLU, ARC): 13-gram match, then an LCS-overlap ratio >= 0.6.

Benchmarks are local files (JSONL, Parquet, CSV) or the files of a Hub dataset, ``hf://datasets/<id>/<glob>``,
read from the Hugging Face cache (``curate fetch`` puts them there; a task never downloads).

A document that shares at least one normalised 13-gram with a benchmark item is compared with that item: the
token-level longest common subsequence between the item and the matching region of the document, divided by the
item's length. At or above the threshold the document is removed (reason ``contaminated``) and the excluded copy
carries ``metadata["contamination"] = {"benchmark", "item", "lcs_ratio"}``.
"""

import ast
import csv
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from datatrove.data import Document
from datatrove.io import open_file
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from curate.assets import Asset, HubDatasetFiles, MissingAssetError, file_asset

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_tokens(text: str) -> list[str]:
    """Lowercase, strip ASCII punctuation, split on whitespace."""
    return text.lower().translate(_PUNCTUATION).split()


def lcs_length(pattern: list[str], text: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, O(len(text) * len(pattern)/64))."""
    if not pattern or not text:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(pattern):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(pattern)) - 1
    row = full  # bit i set: pattern position i not yet used by the LCS (Hyyrö's formulation)
    for token in text:
        matches = row & masks.get(token, 0)
        row = ((row + matches) | (row - matches)) & full
    return len(pattern) - row.bit_count()


@dataclass(frozen=True)
class BenchmarkText:
    """One indexed text of a benchmark item (an item may contribute several, e.g. question and answer)."""

    benchmark: str
    item: int | str
    tokens: tuple[str, ...]


def _choices_text(choices) -> list[str]:
    if isinstance(choices, str):
        try:
            choices = ast.literal_eval(choices)
        except (ValueError, SyntaxError):
            return [choices]
    if isinstance(choices, Mapping):  # ARC: {"text": [...], "label": [...]}
        choices = choices.get("text", [])
    return [str(c) for c in (choices if choices is not None else [])]


def item_texts(row: Mapping, text_fields: tuple[str, ...] | None = None) -> list[str]:
    """The texts of one benchmark row to index, from its columns.

    ``text_fields`` given: each of those fields. Otherwise detected: MATH ``problem``/``solution`` (two texts),
    MMLU/ARC ``question`` + ``choices`` (one text: the question followed by the choice texts, ARC's
    ``choices.text``), GSM8K ``question``/``answer`` (two texts), HumanEval ``prompt``/``canonical_solution`` and
    MBPP ``text``/``code`` (two texts each).
    """
    if text_fields:
        return [str(row[f]) for f in text_fields if row.get(f) is not None]
    for first, second in (("problem", "solution"), ("prompt", "canonical_solution"), ("text", "code")):
        if first in row and second in row:
            return [str(row[first]), str(row[second])]
    if "question" in row and "choices" in row:
        return [" ".join([str(row["question"]), *_choices_text(row["choices"])])]
    if "question" in row and "answer" in row:
        return [str(row["question"]), str(row["answer"])]
    raise ValueError(
        f"cannot tell the benchmark layout from columns {sorted(row)}: expected problem/solution (MATH), "
        "question/choices (MMLU, ARC), question/answer (GSM8K), prompt/canonical_solution (HumanEval) or text/code "
        "(MBPP); pass text_fields=..."
    )


def benchmark_files(ref: str) -> list[str]:
    """The files of one benchmark: a local path, or the cached files of ``hf://datasets/<id>/<glob>``."""
    asset = file_asset(ref)
    if not isinstance(asset, HubDatasetFiles):
        return [str(asset.require())]
    files = asset.files()
    if not files:
        raise MissingAssetError(f"benchmark {ref!r} is {asset.missing_reason()}")
    return [str(f) for f in files]


def read_benchmark_rows(path: str) -> Iterable[dict]:
    """Rows of a benchmark file: JSONL (``.jsonl``/``.json``, one object a line), Parquet or CSV.

    A CSV without a ``question`` header is read as the original MMLU release: question, four choices, answer.
    """
    suffixes = Path(path.removesuffix(".gz")).suffix.lower()
    if suffixes == ".parquet":
        import pyarrow.parquet as pq

        with open_file(path, "rb") as f:
            yield from pq.read_table(f).to_pylist()
    elif suffixes == ".csv":
        with open_file(path, "rt", compression="infer") as f:
            rows = list(csv.reader(f))
        if rows and "question" in rows[0]:
            header = rows[0]
            yield from (dict(zip(header, r, strict=False)) for r in rows[1:])
        else:
            for r in rows:
                if len(r) >= 6:
                    yield {"question": r[0], "choices": r[1:-1], "answer": r[-1]}
    elif suffixes in (".jsonl", ".json"):
        with open_file(path, "rt", compression="infer") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
    else:
        raise ValueError(f"unsupported benchmark file {path!r}: use .jsonl, .json, .parquet or .csv")


class Decontaminator(BaseFilter):
    """Remove documents that contain a benchmark item: a shared n-gram, then LCS(item, region) / len(item).

    Args:
        benchmarks: ``{name: file}`` of benchmarks (or a list, named by file stem): local files or Hub dataset
            files ``hf://datasets/<id>/<glob>``; layouts are detected from the columns (see :func:`item_texts`)
        ngram_size: n-gram length for the candidate match (FineMath: 13)
        lcs_threshold: remove at or above this LCS ratio (FineMath: 0.6)
        text_fields: index these fields instead of detecting the layout
        exclusion_writer: where removed documents go (with ``metadata["contamination"]``)
    """

    name = "🧼 Benchmark decontamination"

    def __init__(
        self,
        benchmarks: Mapping[str, str] | Iterable[str],
        ngram_size: int = 13,
        lcs_threshold: float = 0.6,
        text_fields: tuple[str, ...] | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if not isinstance(benchmarks, Mapping):
            benchmarks = {Path(p).name.split(".")[0]: p for p in benchmarks}
        if not benchmarks:
            raise ValueError("no benchmark files given")
        self.benchmarks = dict(benchmarks)
        self.ngram_size = ngram_size
        self.lcs_threshold = lcs_threshold
        self.text_fields = tuple(text_fields) if text_fields else None
        self._texts: list[BenchmarkText] | None = None
        # hash of an n-gram -> texts holding it: a collision only adds a candidate, which the LCS check rejects
        self._index: dict[int, list[int]] = {}

    def required_assets(self) -> list[Asset]:
        return [file_asset(ref) for ref in self.benchmarks.values()]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_texts"], state["_index"] = None, {}  # n-gram hashes are only valid in the process that made them
        return state

    def rows(self, ref: str) -> Iterable[dict]:
        for path in benchmark_files(ref):
            yield from read_benchmark_rows(path)

    def load(self) -> None:
        """Read the benchmark files and index their n-grams (done once, on the first document)."""
        texts, index = [], {}
        for name, ref in self.benchmarks.items():
            for number, row in enumerate(self.rows(ref)):
                item = row["id"] if isinstance(row.get("id"), int | str) else number
                for text in item_texts(row, self.text_fields):
                    tokens = tuple(normalize_tokens(text))
                    if len(tokens) < self.ngram_size:
                        self.stat_update("benchmark_text_too_short")  # no n-gram of the recipe's size to match
                        continue
                    texts.append(BenchmarkText(name, item, tokens))
                    n = self.ngram_size
                    for gram in {hash(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}:
                        index.setdefault(gram, []).append(len(texts) - 1)
        self._texts, self._index = texts, index

    def find_contamination(self, text: str) -> dict | None:
        """The best-matching benchmark item whose LCS ratio reaches the threshold, or ``None``."""
        if self._texts is None:
            self.load()
        tokens = normalize_tokens(text)
        n = self.ngram_size
        positions: dict[int, list[int]] = {}
        for i in range(len(tokens) - n + 1):
            for text_id in self._index.get(hash(tuple(tokens[i : i + n])), ()):
                positions.setdefault(text_id, []).append(i)
        best = None
        for text_id, starts in positions.items():
            candidate = self._texts[text_id]
            length = len(candidate.tokens)
            # the region that could hold the item: the matches plus one item length on each side
            window = tokens[max(0, starts[0] - length) : starts[-1] + n + length]
            ratio = lcs_length(list(candidate.tokens), window) / length
            if ratio >= self.lcs_threshold and (best is None or ratio > best["lcs_ratio"]):
                best = {"benchmark": candidate.benchmark, "item": candidate.item, "lcs_ratio": round(ratio, 4)}
        return best

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        match = self.find_contamination(doc.text)
        if match is None:
            return True
        doc.metadata["contamination"] = match
        self.stat_update(f"contaminated_{match['benchmark']}")
        return False, "contaminated"
