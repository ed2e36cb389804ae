"""CommonCrawlWarcReader on the real WARC/WET/ARC files in shared/data/warc.

Expected values come from the data's manifest and from reading the same files with warcio (a different parser
than the FastWARC the reader uses for WARC), never from the reader itself.
"""

import json
import re
import zlib
from pathlib import Path

import fsspec
import pytest
from warcio.archiveiterator import ArchiveIterator

from curate.blocks.warc import CommonCrawlWarcReader

HTML_TYPES = {"text/html", "application/xhtml+xml"}
NOT_RECORD_STATS = {"input_files", "documents", "doc_len", "malformed_date"}


def manifest(shared_data: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (shared_data / "warc" / "manifest.jsonl").read_text().splitlines()]
    return {row["file"]: row for row in rows}


def read(folder: str | Path, **kwargs) -> tuple[list, dict[str, int]]:
    reader = CommonCrawlWarcReader(str(folder), **kwargs)
    docs = list(reader.run())
    return docs, {name: int(stat.total) for name, stat in reader.stats.stats.items()}


def counted_records(stats: dict[str, int]) -> int:
    """Records the reader accounted for: documents plus every skip/loss reason."""
    return stats.get("documents", 0) + sum(v for k, v in stats.items() if k not in NOT_RECORD_STATS)


def warcio_records(path: Path) -> list[dict]:
    """Type, id, URI, payload type, offset and stored length of each record, as warcio sees them."""
    out = []
    with open(path, "rb") as f:
        iterator = ArchiveIterator(f, arc2warc=True)
        for record in iterator:
            headers = record.rec_headers
            out.append(
                {
                    "type": record.rec_type,
                    "id": headers.get_header("WARC-Record-ID"),
                    "uri": headers.get_header("WARC-Target-URI"),
                    "payload_type": headers.get_header("WARC-Identified-Payload-Type"),
                    "offset": iterator.get_record_offset(),
                    "length": iterator.get_record_length(),
                }
            )
    return out


@pytest.fixture(scope="module")
def warc_dir(shared_data: Path) -> Path:
    return shared_data / "warc"


def test_every_html_response_of_the_cc_main_2020_34_file_becomes_a_document(warc_dir, shared_data):
    name = "resiliparse-cc-main-2020-34.warc.gz"
    docs, stats = read(warc_dir, glob_pattern=name)
    expected = [r for r in warcio_records(warc_dir / name) if r["type"] == "response"]
    assert all(r["payload_type"] in HTML_TYPES for r in expected)
    assert len(docs) == len(expected) == manifest(shared_data)[name]["html_responses"] == 16
    for doc, record in zip(docs, expected, strict=True):
        assert doc.id == record["id"]
        assert doc.metadata["url"] == record["uri"]
        assert doc.metadata["dump"] == "CC-MAIN-2020-34"  # the warcinfo's isPartOf (see data README)
        assert doc.metadata["warc_filename"] == name
        assert doc.metadata["warc_record_offset"] == record["offset"]
        assert doc.metadata["warc_record_length"] == record["length"]
        assert doc.metadata["file_path"] == str(warc_dir / name)
        assert doc.metadata["fetch_time"] == doc.metadata["date"]  # Common Crawl dates are already UTC ISO 8601
        assert doc.metadata["content_mime_type"] == "text/html"
        assert "<html" in doc.text.lower() and "\ufffd" not in doc.text


def test_offset_and_length_cut_out_exactly_one_gzip_member_holding_the_record(warc_dir):
    name = "resiliparse-cc-main-2020-34.warc.gz"
    raw = (warc_dir / name).read_bytes()
    docs, _ = read(warc_dir, glob_pattern=name)
    for doc in docs:
        start, length = doc.metadata["warc_record_offset"], doc.metadata["warc_record_length"]
        inflater = zlib.decompressobj(wbits=31)
        record = inflater.decompress(raw[start : start + length])
        assert inflater.eof and not inflater.unused_data
        assert record.startswith(b"WARC/1.") and doc.id.encode() in record


def test_the_other_record_types_are_counted_as_skips(warc_dir, shared_data):
    name = "resiliparse-cc-main-2020-34.warc.gz"
    _, stats = read(warc_dir, glob_pattern=name)
    records = manifest(shared_data)[name]["records"]
    assert stats["skipped_request"] == records["request"] == 17
    assert stats["skipped_metadata"] == records["metadata"] == 16
    assert stats["skipped_warcinfo"] == records["warcinfo"] == 1


def test_revisit_records_are_counted(warc_dir):
    docs, stats = read(warc_dir, glob_pattern="warcio-example.warc.gz")
    assert stats["skipped_revisit"] == 1
    assert stats["skipped_request"] == 2 and stats["skipped_warcinfo"] == 2
    assert [d.metadata["url"] for d in docs] == ["http://example.com/"]


def test_every_record_of_every_real_file_is_a_document_or_a_counted_skip(warc_dir, shared_data):
    for name, row in manifest(shared_data).items():
        docs, stats = read(warc_dir, glob_pattern=name)
        assert counted_records(stats) == sum(row["records"].values()), name
        if name != "resiliparse-clipped.warc.gz":  # cut short in its source repo; see the next test
            assert len(docs) == row["html_responses"] + row["records"].get("conversion", 0), name


def test_the_clipped_file_is_reported_as_truncated(warc_dir):
    import gzip

    with pytest.raises(EOFError):  # independent proof that the gzip stream really ends early
        gzip.decompress((warc_dir / "resiliparse-clipped.warc.gz").read_bytes())
    docs, stats = read(warc_dir, glob_pattern="resiliparse-clipped.warc.gz")
    assert docs == [] and stats["truncated_file"] == 1


def test_arc_file_is_read(warc_dir):
    docs, stats = read(warc_dir, glob_pattern="warcio-example.arc.gz")
    assert len(docs) == 1
    doc = docs[0]
    assert doc.metadata["url"] == "http://example.com/"
    assert doc.metadata["fetch_time"] == "2014-02-16T05:02:21Z"  # the ARC header's archive-date 20140216050221
    assert doc.id == "warcio-example.arc.gz/171"  # ARC has no record ids: file and offset make a stable one
    assert "Example Domain" in doc.text
    assert stats["skipped_warcinfo"] == 1  # the ARC file header


def test_wet_conversion_record_becomes_a_plain_text_document(warc_dir):
    name = "whirlwind-cc-main-2024-22.warc.wet.gz"
    docs, _ = read(warc_dir, glob_pattern=name)
    with open(warc_dir / name, "rb") as f:
        expected = [
            r.content_stream().read().decode("utf-8") for r in ArchiveIterator(f) if r.rec_type == "conversion"
        ]
    assert [d.text for d in docs] == expected
    assert docs[0].metadata["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert docs[0].metadata["dump"] == "CC-MAIN-2024-22"
    assert docs[0].metadata["content_mime_type"] == "text/plain"


def test_wat_metadata_is_skipped(warc_dir):
    docs, stats = read(warc_dir, glob_pattern="whirlwind-cc-main-2024-22.warc.wat.gz")
    assert docs == [] and stats["skipped_metadata"] == 1 and stats["skipped_warcinfo"] == 1


def test_dolma_angle_bracket_uris_are_unwrapped(warc_dir):
    name = "dolma-sample-0000.warc.gz"
    docs, _ = read(warc_dir, glob_pattern=name)
    raw = (warc_dir / name).read_bytes()
    wrapped = []
    for record in warcio_records(warc_dir / name):  # warcio unwraps the URI itself: read the raw header lines
        if record["type"] == "response":
            block = zlib.decompressobj(wbits=31).decompress(
                raw[record["offset"] : record["offset"] + record["length"]]
            )
            wrapped.append(re.search(rb"WARC-Target-URI: (.*)\r\n", block).group(1).decode())
    assert len(wrapped) == 22 and all(uri.startswith("<") and uri.endswith(">") for uri in wrapped)
    assert [d.metadata["url"] for d in docs] == [uri[1:-1] for uri in wrapped]
    assert all(d.metadata["dump"] == "unknown" for d in docs)  # wget's warcinfo names no isPartOf


def test_dump_argument_is_the_fallback_when_warcinfo_has_none(warc_dir):
    docs, _ = read(warc_dir, glob_pattern="dolma-sample-0001.warc.gz", dump="CC-MAIN-2099-01")
    assert {d.metadata["dump"] for d in docs} == {"CC-MAIN-2099-01"}
    docs, _ = read(warc_dir, glob_pattern="resiliparse-cc-main-2020-34.warc.gz", dump="CC-MAIN-2099-01")
    assert {d.metadata["dump"] for d in docs} == {"CC-MAIN-2020-34"}


def test_clueweb_malformed_dates_and_euc_jp_pages(warc_dir):
    docs, stats = read(warc_dir, glob_pattern="resiliparse-clueweb09-quirk.warc.gz")
    assert len(docs) == 29
    assert stats["malformed_date"] == 29
    assert {d.metadata["date"] for d in docs} == {"2008-10-294T05:21:46-0700"}  # kept as written
    assert {d.metadata["fetch_time"] for d in docs} == {None}
    assert {d.metadata["dump"] for d in docs} == {"clueweb09-ja"}
    for doc in docs:  # declared EUC-JP, with header lines ending in a bare LF: the Japanese must come out readable
        assert "\ufffd" not in doc.text
        assert sum("\u3040" <= ch <= "\u30ff" for ch in doc.text) > 100  # hiragana + katakana


def test_same_documents_as_datatrove_warc_reader_and_no_page_it_loses(warc_dir):
    """datatrove's WarcReader is the reference for which records are pages (it cannot read the ARC file)."""
    from datatrove.pipeline.readers import WarcReader

    for name in ("resiliparse-cc-main-2020-34.warc.gz", "dolma-sample-0000.warc.gz", "warcio-example.warc.gz"):
        theirs = {d.id: d for d in WarcReader(str(warc_dir), glob_pattern=name).run()}
        ours, _ = read(warc_dir, glob_pattern=name)
        assert set(theirs) <= {d.id for d in ours}
        with open(warc_dir / name, "rb") as f:
            payloads = {
                r.rec_headers.get_header("WARC-Record-ID"): (r.http_headers, r.content_stream().read())
                for r in ArchiveIterator(f)
                if r.http_headers
            }
        utf8_pages = 0
        for mine in ours:
            http_headers, payload = payloads[mine.id]
            if mine.id not in theirs:
                # datatrove sniffs untyped records with libmagic, which misses some pages declared text/html
                assert http_headers.get_header("Content-Type").startswith("text/html")
                continue
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                continue  # datatrove guesses with cchardet alone here; we believe the declared charset first
            utf8_pages += 1
            assert mine.text == theirs[mine.id].text
        assert utf8_pages >= 1


def test_reads_through_any_fsspec_filesystem(warc_dir):
    memory = fsspec.filesystem("memory")
    name = "whirlwind-cc-main-2024-22.warc.gz"
    memory.pipe(f"/curate-test/{name}", (warc_dir / name).read_bytes())
    try:
        docs, stats = read("memory://curate-test")
    finally:
        memory.rm("/curate-test", recursive=True)
    assert [d.metadata["url"] for d in docs] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert docs[0].metadata["file_path"] == f"memory:///curate-test/{name}"
    assert counted_records(stats) == 4


def test_declared_latin1_page_keeps_its_umlauts(warc_dir):
    import unicodedata

    docs, _ = read(warc_dir, glob_pattern="resiliparse-cc-main-2020-34.warc.gz")
    german = [d for d in docs if d.metadata["url"].startswith("http://06.live-radsport.ch/")]
    assert len(german) == 2
    for doc in german:  # <meta charset=iso-8859-1>, no HTTP charset; cchardet alone guesses IBM865 ("fⁿr")
        assert "Ü" in doc.text and "ⁿ" not in doc.text
        non_ascii = {ch for ch in doc.text if ord(ch) > 127}
        # letters and the Windows-1252 quotes/dashes that pages labelled iso-8859-1 really use
        assert all(unicodedata.category(ch)[0] in "LP" for ch in non_ascii), non_ascii
