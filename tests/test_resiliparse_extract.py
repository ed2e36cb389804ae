"""ResiliparseExtractor, the fast mode's extractor: a datatrove extractor usable on its own, whose text on the
project's real pages is within 0.01 F1 of trafilatura's (datatrove's settings), as the ScrapingHub benchmark
measures it."""

import copy

from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.extractors.base import BaseExtractor
from real_pages import EXTRACTION_TIMEOUT

from curate.blocks.resiliparse_extract import ResiliparseExtractor
from curate.evaluation.extraction_quality import pages_with_truth, scores


def test_usable_alone_with_defaults(shared_data):
    rows, html = pages_with_truth(shared_data)
    extractor = ResiliparseExtractor()
    assert isinstance(extractor, BaseExtractor)
    text = extractor.extract(html[0])
    assert isinstance(text, str) and len(text) > 200
    assert rows[0]["text"].split("\n")[0][:40] in text
    assert extractor.extract("<html><head><title>t</title></head></html>") == ""
    assert extractor.extract("") == ""


def test_runs_as_a_pipeline_step(shared_data):
    from datatrove.data import Document

    _, html = pages_with_truth(shared_data)
    docs = [Document(text=h, id=str(i)) for i, h in enumerate(html[:20])] + [Document(text="", id="empty")]
    out = list(ResiliparseExtractor(timeout=EXTRACTION_TIMEOUT).run(iter(copy.deepcopy(docs))))
    assert [d.id for d in out] == [str(i) for i in range(20)]
    assert all(len(d.text) > 100 and "<" not in d.text[:50] for d in out)


def test_f1_within_a_hundredth_of_trafilatura(shared_data):
    from datatrove.data import Document

    rows, html = pages_with_truth(shared_data)
    pages = [Document(text=page, id=row["id"]) for row, page in zip(rows, html, strict=True) if row["text"]]
    truths = [row["text"] for row in rows if row["text"]]
    assert len(pages) == 181
    predictions = {}
    for name, step in (
        ("trafilatura", Trafilatura(favour_precision=True, timeout=EXTRACTION_TIMEOUT)),  # in a fresh process
        ("resiliparse", ResiliparseExtractor(timeout=EXTRACTION_TIMEOUT)),
    ):
        texts = {d.id: d.text for d in step.run(iter(copy.deepcopy(pages)))}
        predictions[name] = [texts.get(d.id, "") for d in pages]
    for n in (4, 1):  # the benchmark's 4-word shingles, and bag of words
        ours, theirs = (scores(truths, predictions[name], n)["f1"] for name in ("resiliparse", "trafilatura"))
        assert theirs > 0.9  # the measure means something: trafilatura does well on these pages
        assert ours >= theirs - 0.01, (n, ours, theirs)
