"""Bad input for CommonCrawlWarcReader, built in tmp_path from the real WARCs in shared/data/warc.

Each test damages or re-packs real records and checks that no record is lost without a count:
records in == documents out + counted skips. Record boundaries come from warcio on the undamaged file.
"""

import gzip
import io
import re
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curate.blocks.decoding import decode_html
from curate.blocks.warc import DEFAULT_MAX_PAGE_BYTES, CommonCrawlWarcReader

CC_FILE = "resiliparse-cc-main-2020-34.warc.gz"
CC_RECORDS = 50  # warcinfo 1 + request 17 + response 16 + metadata 16 (manifest.jsonl)
NOT_RECORD_STATS = {"input_files", "documents", "doc_len", "malformed_date"}


def read(folder: Path, **kwargs) -> tuple[list, dict[str, int]]:
    reader = CommonCrawlWarcReader(str(folder), **kwargs)
    docs = list(reader.run())
    return docs, {name: int(stat.total) for name, stat in reader.stats.stats.items()}


def counted_records(stats: dict[str, int]) -> int:
    return stats.get("documents", 0) + sum(v for k, v in stats.items() if k not in NOT_RECORD_STATS)


def members(path: Path) -> list[dict]:
    """Type, id, URI, offset and gzip-member length of each record of a real file (warcio's view)."""
    out = []
    with open(path, "rb") as f:
        iterator = ArchiveIterator(f)
        for record in iterator:
            out.append(
                {
                    "type": record.rec_type,
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "offset": iterator.get_record_offset(),
                    "length": iterator.get_record_length(),
                }
            )
    return out


def real_payloads(path: Path) -> dict[str, bytes]:
    """URI -> HTTP body of every response record of a real file."""
    with open(path, "rb") as f:
        return {
            r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
            for r in ArchiveIterator(f)
            if r.rec_type == "response"
        }


def write_warc(path: Path, pages: list[tuple[str, str, bytes]]) -> Path:
    """A Common-Crawl-shaped .warc.gz: warcinfo, then one response per (url, HTTP Content-Type or "", body)."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"isPartOf": "CC-MAIN-2020-34"}))
        for url, content_type, body in pages:
            http = [("Content-Type", content_type)] if content_type else []
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=StatusAndHeaders("200 OK", http, protocol="HTTP/1.1"),
            )
            writer.write_record(record)
    return path


@pytest.fixture(scope="module")
def cc_path(shared_data: Path) -> Path:
    return shared_data / "warc" / CC_FILE


@pytest.fixture(scope="module")
def cc_members(cc_path: Path) -> list[dict]:
    return members(cc_path)


@pytest.fixture(scope="module")
def full_read(cc_path: Path) -> dict[str, str]:
    docs, _ = read(cc_path.parent, glob_pattern=CC_FILE)
    return {d.id: d.text for d in docs}


def rewrite_member(raw: bytes, member: dict, edit) -> bytes:
    """Replace one gzip member (one record) by a re-compressed, edited copy of its WARC record."""
    start, end = member["offset"], member["offset"] + member["length"]
    return raw[:start] + gzip.compress(edit(gzip.decompress(raw[start:end]))) + raw[end:]


# --- truncated and corrupt files ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["inside_body", "inside_gzip_header", "inside_warc_header", "member_boundary"])
def test_truncated_warc_gz_keeps_every_document_before_the_cut(tmp_path, cc_path, cc_members, full_read, where):
    responses = [m for m in cc_members if m["type"] == "response"]
    victim = responses[6]
    cut = {
        "inside_body": victim["offset"] + victim["length"] // 2,
        "inside_gzip_header": victim["offset"] + 5,
        "inside_warc_header": victim["offset"] + 40,
        "member_boundary": victim["offset"],
    }[where]
    (tmp_path / "cut.warc.gz").write_bytes(cc_path.read_bytes()[:cut])

    docs, stats = read(tmp_path)

    whole = [m for m in cc_members if m["offset"] + m["length"] <= cut]
    assert [d.id for d in docs] == [m["id"] for m in whole if m["type"] == "response"]
    assert all(d.text == full_read[d.id] for d in docs)
    cut_record = 1 if where != "member_boundary" else 0
    assert stats.get("truncated_file", 0) == cut_record
    assert counted_records(stats) == len(whole) + cut_record


def test_corrupt_record_header_mid_file_loses_only_that_record(tmp_path, cc_path, cc_members, full_read):
    victim = [m for m in cc_members if m["type"] == "response"][4]
    damaged = rewrite_member(cc_path.read_bytes(), victim, lambda rec: rec.replace(b"WARC/1.0", b"WXRC/1.0", 1))
    (tmp_path / "corrupt.warc.gz").write_bytes(damaged)

    docs, stats = read(tmp_path)

    assert stats["broken_record"] == 1
    assert [d.id for d in docs] == [i for i in full_read if i != victim["id"]]
    assert counted_records(stats) == CC_RECORDS


def test_garbage_inside_a_gzip_member_loses_only_that_record(tmp_path, cc_path, cc_members, full_read):
    victim = [m for m in cc_members if m["type"] == "response"][8]
    raw = bytearray(cc_path.read_bytes())
    middle = victim["offset"] + victim["length"] // 2
    raw[middle : middle + 200] = bytes(200)
    (tmp_path / "garbage.warc.gz").write_bytes(bytes(raw))

    docs, stats = read(tmp_path)

    assert stats["broken_record"] == 1
    assert [d.id for d in docs] == [i for i in full_read if i != victim["id"]]
    assert counted_records(stats) == CC_RECORDS


def test_corrupt_header_in_an_uncompressed_warc(tmp_path, cc_path, full_read):
    plain = gzip.decompress(cc_path.read_bytes())
    # the header line of the 6th response record
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\nWARC-Type: response", plain)]
    damaged = plain[: starts[5]] + b"WXRC" + plain[starts[5] + 4 :]
    (tmp_path / "plain.warc").write_bytes(damaged)

    docs, stats = read(tmp_path)

    lost = list(full_read)[5]
    assert stats["broken_record"] == 1
    assert [d.id for d in docs] == [i for i in full_read if i != lost]
    assert counted_records(stats) == CC_RECORDS
    assert all(plain[d.metadata["warc_record_offset"] :].startswith(b"WARC/1.0\r\nWARC-Type: response") for d in docs)


def test_a_broken_file_does_not_stop_the_next_one(tmp_path, cc_path, shared_data, cc_members):
    cut = cc_members[20]["offset"] + 100
    (tmp_path / "a-cut.warc.gz").write_bytes(cc_path.read_bytes()[:cut])
    (tmp_path / "b-not-a-warc.warc.gz").write_bytes(b"<html>this is not a WARC file</html>\n")
    wet = shared_data / "warc" / "whirlwind-cc-main-2024-22.warc.wet.gz"
    (tmp_path / "c.warc.wet.gz").write_bytes(wet.read_bytes())

    docs, stats = read(tmp_path)

    assert stats["input_files"] == 3
    assert stats["truncated_file"] == 2  # the cut file and the file that is no WARC at all
    assert docs[-1].metadata["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert counted_records(stats) == 20 + 1 + 1 + 2  # whole records of a-cut, its cut record, b, the WET file


# --- records that are not pages -------------------------------------------------------------------------------


def test_non_html_record_is_counted(tmp_path, cc_path, cc_members, full_read):
    victim = [m for m in cc_members if m["type"] == "response"][0]

    def to_png(record: bytes) -> bytes:
        # same length, so Content-Length stays right
        record = record.replace(b"WARC-Identified-Payload-Type: text/html", b"WARC-Identified-Payload-Type: image/png")
        return record.replace(b"Content-Type: text/html", b"Content-Type: image/png", 1)

    (tmp_path / "png.warc.gz").write_bytes(rewrite_member(cc_path.read_bytes(), victim, to_png))

    docs, stats = read(tmp_path)

    assert stats["skipped_non_html"] == 1
    assert [d.id for d in docs] == [i for i in full_read if i != victim["id"]]
    assert counted_records(stats) == CC_RECORDS


def test_http_error_page_is_counted(tmp_path, cc_path, cc_members, full_read):
    victim = [m for m in cc_members if m["type"] == "response"][3]
    damaged = rewrite_member(
        cc_path.read_bytes(), victim, lambda rec: rec.replace(b"HTTP/1.1 200", b"HTTP/1.1 404", 1)
    )
    (tmp_path / "404.warc.gz").write_bytes(damaged)

    docs, stats = read(tmp_path)

    assert stats["skipped_http_status"] == 1
    assert len(docs) == len(full_read) - 1 and victim["id"] not in {d.id for d in docs}


def test_empty_and_undecodable_bodies_are_counted(tmp_path, cc_path):
    body = next(iter(real_payloads(cc_path).values()))
    path = write_warc(
        tmp_path / "odd.warc.gz",
        [
            ("http://example.org/empty", "text/html", b""),
            ("http://example.org/page", "text/html", body),
        ],
    )
    # a body declared gzip that is binary garbage: the HTTP header names an encoding the bytes do not have
    raw = path.read_bytes()
    with open(path, "ab") as out:
        writer = WARCWriter(out, gzip=True)
        http = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], protocol="HTTP/1.1"
        )
        payload = zlib.compress(body)[2:200]  # raw deflate bytes, not gzip, and no markup
        record = writer.create_warc_record(
            "http://example.org/bad-gzip", "response", payload=io.BytesIO(payload), http_headers=http
        )
        writer.write_record(record)
    assert path.read_bytes().startswith(raw)

    docs, stats = read(tmp_path)

    assert [d.metadata["url"] for d in docs] == ["http://example.org/page"]
    assert stats["skipped_empty"] == 1
    assert stats["skipped_content_encoding_error"] == 1
    assert counted_records(stats) == 4


# --- charsets -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def german_cp1252_page(cc_path) -> bytes:
    """A real page labelled iso-8859-1 (so Windows-1252) with umlauts, its meta charset removed."""
    body = real_payloads(cc_path)["http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html"]
    return re.sub(rb"charset=iso-8859-1", b"", body, flags=re.IGNORECASE)


@pytest.fixture(scope="module")
def japanese_page(shared_data) -> str:
    """A real Japanese ClueWeb page (EUC-JP), decoded, without its charset meta tags."""
    path = shared_data / "warc" / "resiliparse-clueweb09-quirk.warc.gz"
    body = next(iter(real_payloads(path).values()))
    text = body.decode("euc_jp")
    return re.sub(r"<meta[^>]*(charset|CHARSET)[^>]*>", "", text)


@pytest.mark.parametrize("header", ["text/html; charset=utf-8", "text/html", ""])
def test_cp1252_page_with_lying_or_missing_charset(tmp_path, german_cp1252_page, header):
    assert re.search(rb"<meta[^>]*charset", german_cp1252_page, re.IGNORECASE) is None
    write_warc(tmp_path / "cp1252.warc.gz", [("http://06.live-radsport.ch/x", header, german_cp1252_page)])

    docs, _ = read(tmp_path)

    assert [d.text for d in docs] == [german_cp1252_page.decode("cp1252")]
    assert "Ü" in docs[0].text


@pytest.mark.parametrize("header", ["text/html; charset=iso-8859-1", "text/html; charset=utf-8", "text/html"])
def test_shift_jis_page_with_lying_or_missing_charset(tmp_path, japanese_page, header):
    body = japanese_page.encode("cp932", errors="ignore")
    write_warc(tmp_path / "sjis.warc.gz", [("http://www.uraharajuku.st/x", header, body)])

    docs, _ = read(tmp_path)

    assert [d.text for d in docs] == [body.decode("cp932")]
    assert "ヘッドポーター" in docs[0].text


def test_decode_html_order_header_then_meta_then_utf8():
    text = "Grüße aus Köln"
    # honest header
    assert decode_html(text.encode("cp1252"), "windows-1252") == (text, "cp1252")
    # no header: the meta tag decides
    page = f'<meta charset="koi8-r"><p>{"Привет, мир"}</p>'
    assert decode_html(page.encode("koi8-r"), None)[0] == page
    # a single-byte label over bytes that are valid UTF-8: UTF-8 wins
    assert decode_html(text.encode("utf-8"), "iso-8859-1") == (text, "utf-8")


# --- size and extractor limits --------------------------------------------------------------------------------


def test_ten_megabyte_page_is_counted_as_too_large(tmp_path, cc_path):
    pages = list(real_payloads(cc_path).items())
    small_url, small = pages[0]
    big = small * (DEFAULT_MAX_PAGE_BYTES // len(small) + 1)
    assert len(big) > DEFAULT_MAX_PAGE_BYTES
    write_warc(
        tmp_path / "big.warc.gz",
        [
            (small_url, "text/html", small),
            ("http://big.example/", "text/html", big),
            (pages[1][0], "text/html", pages[1][1]),
        ],
    )

    docs, stats = read(tmp_path)

    assert [d.metadata["url"] for d in docs] == [small_url, pages[1][0]]
    assert stats["skipped_too_large"] == 1
    assert counted_records(stats) == 4

    docs, stats = read(tmp_path, max_page_bytes=1000)
    assert docs == [] and stats["skipped_too_large"] == 3


def link_directory_page(entries: int) -> bytes:
    """The shape of a web directory / tag-cloud page: tens of thousands of tiny link boxes (slow for trafilatura)."""
    items = "".join(
        f'<div class="entry"><span>Entry {i} about topic {i % 97}</span> <a href="/e/{i}">more</a></div>'
        for i in range(entries)
    )
    return f"<html><head><title>Directory</title></head><body>{items}</body></html>".encode()


def test_trafilatura_timeout_is_counted_and_the_run_goes_on(tmp_path, cc_path):
    from datatrove.pipeline.extractors import Trafilatura

    real = list(real_payloads(cc_path).items())[:4]
    pages = [(url, "text/html", body) for url, body in real[:2]]
    pages.append(("http://directory.example/", "text/html", link_directory_page(20000)))
    pages += [(url, "text/html", body) for url, body in real[2:]]
    write_warc(tmp_path / "slow.warc.gz", pages)

    reader = CommonCrawlWarcReader(str(tmp_path))
    extractor = Trafilatura(favour_precision=True, timeout=1)
    out = list(extractor.run(reader.run()))
    stats = {name: int(stat.total) for name, stat in extractor.stats.stats.items()}

    assert stats["total"] == 5
    assert stats["timeout"] == 1
    assert stats["extracted"] == 4  # the two real pages after the slow one were extracted too
    assert "http://directory.example/" not in {d.metadata["url"] for d in out}


@pytest.mark.parametrize("tail", ["cut_in_header", "junk_after_last_record"])
def test_uncompressed_warc_that_ends_badly(tmp_path, cc_path, full_read, tail):
    plain = gzip.decompress(cc_path.read_bytes())
    starts = [m.start() for m in re.finditer(rb"WARC/1\.0\r\nWARC-Type: ", plain)]
    if tail == "cut_in_header":
        damaged, whole_records = plain[: starts[30] + 60], 30
    else:
        damaged, whole_records = plain + b"\x00\x01 stray bytes after the last record", len(starts)
    (tmp_path / "plain.warc").write_bytes(damaged)

    docs, stats = read(tmp_path)

    assert stats["truncated_file"] == 1
    assert counted_records(stats) == whole_records + 1
    assert all(d.text == full_read[d.id] for d in docs)
    assert docs[-1].metadata["warc_record_offset"] + docs[-1].metadata["warc_record_length"] <= len(damaged)


# --- minor cases (issue 11, row 13) ---------------------------------------------------------------------------


def utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def write_response(path: Path, url: str, body: bytes, headers: list[tuple[str, str]]) -> Path:
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return path


@pytest.mark.parametrize("wrapper", ["raw", "zlib"])
def test_deflate_bodies_raw_or_zlib_wrapped_are_decoded(tmp_path, cc_path, full_read, wrapper):
    url, body = next(iter(real_payloads(cc_path).items()))
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS if wrapper == "raw" else zlib.MAX_WBITS)
    write_response(tmp_path / "deflate.warc.gz", url, compressor.compress(body) + compressor.flush(), [
        ("Content-Encoding", "deflate")
    ])  # fmt: skip

    docs, stats = read(tmp_path)

    assert [d.metadata["url"] for d in docs] == [url]
    assert docs[0].text == next(text for text in full_read.values() if text.startswith(body.decode("utf-8")[:200]))
    assert "skipped_content_encoding_error" not in stats


def test_nul_bytes_are_removed_from_kept_text(tmp_path, cc_path):
    from datatrove.pipeline.extractors import Trafilatura

    url, body = next((u, b) for u, b in real_payloads(cc_path).items() if utf8(b) and re.search(rb"<p[^>]*>\w", b))
    dirty = re.sub(rb"(<p[^>]*>)(\w)", lambda m: m.group(1) + b"\x00" + m.group(2) + b"\x00", body)
    assert dirty.count(b"\x00") >= 4
    write_warc(tmp_path / "nul.warc.gz", [(url, "text/html", dirty)])

    (doc,) = read(tmp_path)[0]

    assert doc.text == body.decode("utf-8")
    (extracted,) = Trafilatura(favour_precision=True, timeout=30).run(iter([doc]))
    assert extracted.text and "\ufffd" not in extracted.text


@pytest.mark.parametrize("compressed", [True, False])
def test_trailing_nul_padding_is_not_a_truncated_file(tmp_path, cc_path, full_read, compressed):
    raw = cc_path.read_bytes()
    data = raw if compressed else gzip.decompress(raw)
    (tmp_path / ("padded.warc.gz" if compressed else "padded.warc")).write_bytes(data + bytes(64 * 1024))

    docs, stats = read(tmp_path)

    assert {d.id: d.text for d in docs} == full_read
    assert "truncated_file" not in stats and "broken_record" not in stats
    assert counted_records(stats) == CC_RECORDS
