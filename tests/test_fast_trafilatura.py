"""FastTrafilatura extracts byte-identical text to trafilatura with datatrove's settings on every real page, and
steps aside on a trafilatura version it was not verified against."""

import copy
import pickle

import pytest
import trafilatura
from lxml.etree import XPath
from real_pages import EXTRACTION_TIMEOUT, extracted_documents, html_documents
from trafilatura import xpaths

from curate.blocks import fast_trafilatura
from curate.blocks.fast_trafilatura import (
    DISCARD_LISTS,
    CompiledXPath,
    FastTrafilatura,
    UnsupportedXPath,
    compiled_discard_xpaths,
)


def test_same_text_as_trafilatura_on_every_real_page(shared_data):
    pages = list(html_documents(shared_data))
    step = FastTrafilatura(timeout=EXTRACTION_TIMEOUT)
    ours = [(d.id, d.text) for d in step.run(iter(copy.deepcopy(pages)))]
    theirs = [(d.id, d.text) for d in extracted_documents(shared_data)]  # datatrove's Trafilatura step
    assert len(theirs) > 600
    assert ours == theirs


class CheckedXPath:
    """A compiled expression that also runs the original and records any difference in the selected elements."""

    def __init__(self, xpath, differences: list):
        self.compiled, self.xpath, self.differences = CompiledXPath(xpath), xpath, differences
        self.calls = 0

    def __call__(self, tree):
        ours, theirs = self.compiled(tree), self.xpath(tree)
        self.calls += 1
        if len(ours) != len(theirs) or any(a is not b for a, b in zip(ours, theirs, strict=False)):
            self.differences.append(self.xpath.path[:80])
        return theirs


def test_compiled_expressions_select_the_same_elements_in_every_pruned_tree(shared_data):
    differences: list[str] = []
    checked = {name: [CheckedXPath(x, differences) for x in getattr(xpaths, name)] for name in DISCARD_LISTS}
    with compiled_discard_xpaths(checked):
        for doc in html_documents(shared_data)[:150]:
            trafilatura.extract(doc.text, favor_precision=True, include_comments=False, deduplicate=False)
    assert differences == []
    calls = {name: sum(c.calls for c in lists) for name, lists in checked.items()}
    assert calls["OVERALL_DISCARD_XPATH"] > 300 and calls["PRECISION_DISCARD_XPATH"] > 100


def test_discard_lists_are_restored_after_extraction(shared_data):
    before = {name: list(getattr(xpaths, name)) for name in DISCARD_LISTS}
    FastTrafilatura().extract(html_documents(shared_data)[0].text)
    assert {name: list(getattr(xpaths, name)) for name in DISCARD_LISTS} == before


def test_unverified_trafilatura_runs_plain(monkeypatch, shared_data):
    monkeypatch.setattr(trafilatura, "__version__", "99.0.0")
    step = FastTrafilatura(deduplicate=False)  # no state carried between the two in-process extractions
    assert not step.active
    html = html_documents(shared_data)[3].text
    used = []
    monkeypatch.setattr(fast_trafilatura, "compiled_discard_xpaths", lambda lists: used.append(lists))
    assert step.extract(html) == trafilatura.extract(
        html, favor_precision=True, include_comments=False, deduplicate=False
    )
    assert used == []


def test_verified_version_is_active_and_survives_pickling():
    step = pickle.loads(pickle.dumps(FastTrafilatura(favour_precision=True, timeout=2)))
    assert step.active and step.timeout == 2 and step.favour_precision
    assert trafilatura.__version__ in fast_trafilatura.VERIFIED_TRAFILATURA


@pytest.mark.parametrize(
    "path", ["//div[1]", ".//p[contains(text(), 'x')]", ".//*[@a and @b]", ".//div[count(p) > 2]", ".//a/b"]
)
def test_expressions_outside_the_subset_are_refused(path):
    with pytest.raises(UnsupportedXPath):
        CompiledXPath(XPath(path))


def _nested(paragraphs: list[str], levels: int) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><body>{'<div>' * levels}<article>{body}</article>{'</div>' * levels}</body></html>"


def test_text_nested_deeper_than_libxml2s_limit_is_extracted(shared_data):
    """A real page's paragraphs, 1,500 levels deep: trafilatura alone returns nothing (libxml2 stops at 256 levels),
    FastTrafilatura extracts them from the tree parsed without that limit; 200 levels deep both agree."""
    page = next(d for d in extracted_documents(shared_data) if len(d.text.split("\n")) >= 5)
    paragraphs = [line for line in page.text.split("\n") if len(line) > 40][:8]
    deep, shallow = _nested(paragraphs, 1500), _nested(paragraphs, 200)
    plain = trafilatura.extract(deep, favor_precision=True, include_comments=False, deduplicate=False)
    assert not plain
    ours = FastTrafilatura(deduplicate=False).extract(deep)
    assert ours.split("\n") == paragraphs
    assert FastTrafilatura(deduplicate=False).extract(shallow) == trafilatura.extract(
        shallow, favor_precision=True, include_comments=False, deduplicate=False
    )
