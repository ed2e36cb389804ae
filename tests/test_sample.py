"""The project's own sample corpus: its data is well-formed, its WARCs are Common-Crawl-shaped and reproducible,
and FineWeb's extraction and filters keep most of its educational pages."""

import re
from collections import Counter
from html import escape
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from curate import sample
from curate.assets import resolve

STACK_EDU_EXTENSIONS = {
    "Python": {".py"},
    "C++": {".cpp", ".hpp", ".cc", ".h"},
    "Markdown": {".md"},
    "C": {".c", ".h"},
    "JavaScript": {".js"},
    "Java": {".java"},
    "SQL": {".sql"},
    "PHP": {".php"},
    "C#": {".cs"},
    "TypeScript": {".ts"},
    "Shell": {".sh"},
    "Swift": {".swift"},
    "Go": {".go"},
    "Rust": {".rs"},
    "Ruby": {".rb"},
}


@pytest.fixture(scope="module")
def pages() -> list[dict]:
    return sample.web_pages()


@pytest.fixture(scope="module")
def web_warc(tmp_path_factory) -> Path:
    return sample.build_sample_warc(tmp_path_factory.mktemp("web") / sample.WARC_FILE_NAME)


def read_records(path: Path) -> list[tuple[str, object, object, bytes]]:
    """(type, WARC headers, HTTP headers, payload) per record; the payload must be read while iterating."""
    with path.open("rb") as file:
        return [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(file)]


def test_pages_have_all_fields_unique_ids_and_urls(pages):
    for page in pages:
        assert {"id", "url", "title", "lang", "body", "edu_score", "kind"} <= page.keys(), page.get("id")
        assert page["url"].startswith("https://") and ".example" in page["url"], page["id"]
        assert page["body"].strip(), page["id"]
    assert len({p["id"] for p in pages}) == len(pages)
    assert len({p["url"] for p in pages}) == len(pages)


def test_edu_scores_in_range_and_spread_over_every_level(pages):
    english = [p for p in pages if p["lang"] == "en"]
    assert len(english) >= 200
    counts = Counter(p["edu_score"] for p in pages)
    assert set(counts) <= set(range(6))
    assert all(counts[level] >= 20 for level in range(6)), counts


def test_special_kinds_are_present(pages):
    kinds = Counter(p["kind"] for p in pages)
    assert kinds["duplicate"] >= 5 and kinds["spam"] + kinds["boilerplate"] >= 5 and kinds["math"] >= 6, kinds
    assert len({p["lang"] for p in pages if p["kind"] == "non_english"}) >= 4
    pii = " ".join(p["body"] for p in pages if p["kind"] == "pii")
    assert re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", pii) and re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", pii)
    # math pages carry LaTeX with curly brackets, which C4's rule drops and FineMath later re-reads
    assert all("{" in p["body"] for p in pages if p["kind"] == "math")


def test_duplicates_are_near_copies_of_another_page(pages):
    def shingles(text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    originals = [p for p in pages if p["kind"] != "duplicate"]
    for duplicate in (p for p in pages if p["kind"] == "duplicate"):
        mine = shingles(duplicate["body"])
        best = max(len(mine & shingles(o["body"])) / len(mine | shingles(o["body"])) for o in originals)
        assert 0.6 <= best < 1.0, (duplicate["id"], best)


def test_warc_has_cc_shape_and_exactly_the_pages(web_warc, pages):
    records = read_records(web_warc)
    assert records[0][0] == "warcinfo" and b"isPartOf: CC-MAIN-2024-10" in records[0][3]
    rest = records[1:]
    assert [r[0] for r in rest] == ["request", "response", "metadata"] * len(pages)
    for page, (_, warc_headers, http_headers, payload) in zip(pages, rest[1::3], strict=True):
        assert warc_headers.get_header("WARC-Target-URI") == page["url"]
        assert warc_headers.get_header("WARC-Identified-Payload-Type") == "text/html"
        assert http_headers.get_statuscode() == "200"
        assert http_headers.get_header("Content-Type") == "text/html; charset=utf-8"
        html = payload.decode("utf-8")
        assert html.startswith("<!DOCTYPE html>") and "<footer>" in html
        if "html" not in page:
            assert "<nav>" in html and "<article>" in html
            first_line = page["body"].split("\n")[0].removeprefix("## ").removeprefix("- ")
            assert escape(first_line) in html, page["id"]


def test_datatrove_warc_reader_yields_every_page(web_warc, pages):
    from datatrove.pipeline.readers import WarcReader

    documents = list(WarcReader(str(web_warc.parent))())
    assert [d.metadata["url"] for d in documents] == [p["url"] for p in pages]
    assert len({d.id for d in documents}) == len(pages)


def test_build_is_byte_identical_and_demo_warc_is_cached(tmp_path, monkeypatch, web_warc):
    again = sample.build_sample_warc(tmp_path / "again" / sample.WARC_FILE_NAME)
    assert again.read_bytes() == web_warc.read_bytes()
    other_dump = sample.build_sample_warc(tmp_path / "other" / sample.WARC_FILE_NAME, dump="CC-MAIN-2023-50")
    assert other_dump.read_bytes() != web_warc.read_bytes()

    monkeypatch.setenv("CURATE_CACHE", str(tmp_path / "cache"))
    demo = sample.demo_warc()
    assert demo.is_relative_to(tmp_path / "cache" / "sample")
    assert demo.read_bytes() == web_warc.read_bytes()
    modified = demo.stat().st_mtime_ns
    assert sample.demo_warc() == demo and demo.stat().st_mtime_ns == modified
    assert list(demo.parent.iterdir()) == [demo]


def test_math_pages_contain_their_tex_and_every_markup(tmp_path):
    math = sample.math_pages()
    assert len(math) >= 15
    assert len({p["id"] for p in math}) == len(math)
    for page in math:
        assert 0 <= page["math_score"] <= 5
        if page["markup"] == "mathml":  # the truth is the LaTeX an extractor should write for each <math> element
            assert page["html"].count("<math") == len(page["tex"]) > 0, page["id"]
            continue
        for formula in page["tex"]:
            assert formula in page["html"], (page["id"], formula)
    every_html = "\n".join(p["html"] for p in math)
    for markup in (
        'type="math/tex',
        "\\(",
        "$$",
        'encoding="application/x-tex"',
        "<math",
        'class="latex"',
        "codecogs",
    ):
        assert markup in every_html, markup
    assert any(p["markup"] == "currency" and p["tex"] == [] and "$" in p["html"] for p in math)
    assert len({p["math_score"] for p in math}) == 6, "every FineMath level occurs"
    records = read_records(sample.build_sample_warc(tmp_path / "math.warc.gz", math))
    responses = [
        (headers.get_header("WARC-Target-URI"), payload) for kind, headers, _, payload in records if kind == "response"
    ]
    assert responses == [(p["url"], p["html"].encode("utf-8")) for p in math]


def test_code_files_exist_with_the_right_extension_and_manifest():
    root = sample.code_dir()
    manifest = sample.code_manifest()
    listed = {row["path"] for row in manifest}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "manifest.jsonl"}
    assert listed == on_disk
    for language, extensions in STACK_EDU_EXTENSIONS.items():
        rows = [r for r in manifest if r["language"] == language]
        assert len(rows) >= 3, language
        for row in rows:
            assert row["path"].startswith(f"{language}/") and Path(row["path"]).suffix in extensions, row
            assert 0 <= row["edu_score"] <= 5
            assert (root / row["path"]).read_text(encoding="utf-8").strip()
        assert len({r["edu_score"] for r in rows}) >= 2, f"{language}: spread the quality"


def test_fineweb_extraction_and_filters_keep_most_educational_pages(web_warc, pages):
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import GopherQualityFilter, LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from fasttext.FastText import _FastText

    language_filter = LanguageFilter(languages=["en"])
    # datatrove's LanguageFilter takes no model path: hand it the bundled offline lid.176 model
    language_filter.model._model = _FastText(resolve("bundled:lid.176.ftz"))
    pipeline = [
        WarcReader(str(web_warc.parent)),
        Trafilatura(favour_precision=True, timeout=1),
        language_filter,
        GopherQualityFilter(),
    ]
    documents = None
    for step in pipeline:
        documents = step(documents)
    kept = {d.metadata["url"]: d for d in documents}

    educational = [p for p in pages if p["kind"] == "educational" and p["lang"] == "en"]
    survivors = [p for p in educational if p["url"] in kept]
    assert len(survivors) >= 0.7 * len(educational), f"{len(survivors)}/{len(educational)}"
    assert not any(p["url"] in kept for p in pages if p["kind"] == "non_english")
    for page in survivors:
        text = kept[page["url"]].text
        assert page["body"].split("\n")[0][:60] in text, page["id"]
        assert "All rights reserved" not in text, "the footer boilerplate is not extracted"
    assert all(d.metadata["language"] == "en" for d in kept.values())
