"""curate's four FineWeb heuristic filters make datatrove's decisions, with the same drop reasons, stats and
exclusion-writer output, on every real page the project has (after trafilatura) and on the raw pages too."""

import copy
import gzip
import json
from pathlib import Path

import pytest
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.writers import JsonlWriter
from real_pages import extracted_documents, html_documents

from curate.blocks.fineweb_filters import (
    FastC4QualityFilter,
    FastFineWebQualityFilter,
    FastGopherQualityFilter,
    FastGopherRepetitionFilter,
)

PAIRS = [  # FineWeb's settings: datatrove's defaults, C4's terminal-punctuation rule off
    (GopherRepetitionFilter, FastGopherRepetitionFilter, {}),
    (GopherQualityFilter, FastGopherQualityFilter, {}),
    (C4QualityFilter, FastC4QualityFilter, {"filter_no_terminal_punct": False}),
    (FineWebQualityFilter, FastFineWebQualityFilter, {}),
]


@pytest.fixture(scope="module")
def documents(shared_data) -> list:
    """Extracted pages, plus the raw HTML of 80 pages (long, repetitive, many symbols: other drop reasons)."""
    docs = list(extracted_documents(shared_data)) + copy.deepcopy(list(html_documents(shared_data)[:80]))
    assert len(docs) > 700
    return docs


def run_chain(filters: list, docs: list) -> list:
    data = iter(copy.deepcopy(docs))
    for f in filters:
        data = f.run(data)
    return [(d.id, d.text) for d in data]


def removed(folder: Path) -> list[tuple]:
    lines = [
        line for path in sorted(folder.rglob("*.jsonl.gz")) for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    rows = [json.loads(line) for line in lines]
    return [(r["id"], r["text"], r["metadata"].get("filter_reason")) for r in rows]


def test_chain_same_survivors_reasons_stats_and_removed_files(documents, tmp_path):
    chains = {}
    for side in ("datatrove", "curate"):
        chains[side] = [
            (plain if side == "datatrove" else fast)(
                exclusion_writer=JsonlWriter(str(tmp_path / side / plain.__name__)), **kw
            )
            for plain, fast, kw in PAIRS
        ]
    kept = {side: run_chain(filters, documents) for side, filters in chains.items()}
    assert kept["curate"] == kept["datatrove"]  # same documents, same texts (C4 rewrites them)
    for (plain, _, _), ours, theirs in zip(PAIRS, chains["curate"], chains["datatrove"], strict=True):
        assert ours.stats.to_dict()["stats"] == theirs.stats.to_dict()["stats"], plain.__name__
        assert removed(tmp_path / "curate" / plain.__name__) == removed(tmp_path / "datatrove" / plain.__name__)
    # the comparison covers several drop reasons of every filter, and documents that pass them all
    reasons = {r for _, _, r in removed(tmp_path / "datatrove" / "GopherQualityFilter")}
    assert len(reasons) >= 3
    assert all(removed(tmp_path / "datatrove" / plain.__name__) for plain, _, _ in PAIRS)
    assert len(kept["curate"]) > 100


@pytest.mark.parametrize("plain, fast, kwargs", PAIRS, ids=[p.__name__ for p, _, _ in PAIRS])
def test_each_filter_alone_decides_as_datatrove(documents, plain, fast, kwargs):
    ours, theirs = fast(**kwargs), plain(**kwargs)
    for doc in documents:
        a, b = copy.deepcopy(doc), copy.deepcopy(doc)
        assert ours.filter(a) == theirs.filter(b), doc.id
        assert a.text == b.text


def test_other_languages_run_datatrove_code(documents):
    german = [d for d in documents if " der " in d.text and " und " in d.text][:20]
    assert german
    for plain, fast, kwargs in PAIRS:
        ours, theirs = fast(language="de", **kwargs), plain(language="de", **kwargs)
        assert [ours.filter(copy.deepcopy(d)) for d in german] == [theirs.filter(copy.deepcopy(d)) for d in german]
