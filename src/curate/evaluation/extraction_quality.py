"""Extraction quality against ground truth, measured as the ScrapingHub article-extraction benchmark does.

For each page, tp/fp/fn are counted over the multisets of word shingles (``\\w+`` tokens, case kept; 4-grams in
the benchmark, single words for bag of words), normalised by their sum so that long pages weigh no more than
short ones; precision and recall are the means over pages (pages with nothing predicted, or nothing true, left out
of the respective mean) and F1 their harmonic mean (scrapinghub/article-extraction-benchmark, ``evaluate.py``).
"""

import gzip
import json
import re
import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path

_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int) -> Counter:
    words = _WORD.findall(text or "")
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words[i : i + n])


def page_counts(truth: str, predicted: str, n: int) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) of one page."""
    true, pred = _shingles(truth, n), _shingles(predicted, n)
    tp, fp, fn = sum((true & pred).values()), sum((pred - true).values()), sum((true - pred).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _ratio(hit: float, miss: float, other_miss: float) -> float:
    if miss == other_miss == 0:
        return 1.0
    return hit / (hit + miss) if hit + miss else 0.0


def scores(truths: list[str], predictions: list[str], n: int = 4) -> dict[str, float]:
    """Precision, recall and F1 over pages (``n=4``: the benchmark's shingles; ``n=1``: bag of words)."""
    counts = [page_counts(t, p, n) for t, p in zip(truths, predictions, strict=True)]
    precision = statistics.mean(_ratio(tp, fp, fn) for tp, fp, fn in counts if tp + fp > 0)
    recall = statistics.mean(_ratio(tp, fn, fp) for tp, fp, fn in counts if tp + fn > 0)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


def pages_with_truth(shared_data: Path) -> tuple[list[dict], list[str]]:
    """The rows of shared/data/extraction/truth.jsonl and each page's HTML (decoded as UTF-8, bad bytes replaced)."""
    root = shared_data / "extraction"
    rows = [json.loads(line) for line in (root / "truth.jsonl").read_text().splitlines()]
    html = [gzip.decompress((root / row["file"]).read_bytes()).decode("utf-8", "replace") for row in rows]
    return rows, html


def quality(extract: Callable[[str], str | None], rows: list[dict], html: list[str]) -> dict[str, float]:
    """Shingle and bag-of-words scores on the pages with a full-text truth (ScrapingHub's), and on the pages with
    snippets (trafilatura's evaluation set) the share of must-have snippets found and of must-not snippets absent."""
    texts = [extract(page) or "" for page in html]
    full = [(row["text"], text) for row, text in zip(rows, texts, strict=True) if row["text"]]
    truths, predictions = [t for t, _ in full], [p for _, p in full]
    result = {f"shingle_{k}": v for k, v in scores(truths, predictions, 4).items()}
    result |= {f"bow_{k}": v for k, v in scores(truths, predictions, 1).items()}
    found = [s in text for row, text in zip(rows, texts, strict=True) for s in row.get("with") or ()]
    absent = [s not in text for row, text in zip(rows, texts, strict=True) for s in row.get("without") or ()]
    result["with_found"] = sum(found) / len(found)
    result["without_absent"] = sum(absent) / len(absent)
    result["pages"] = len(full)
    return result
