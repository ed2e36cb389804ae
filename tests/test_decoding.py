"""curate.blocks.decoding, the one decoder of web pages and source files, on real files of ../shared/data
converted here (in tmp folders) to the encodings found in the wild."""

import codecs
import gzip
import json
import zlib
from pathlib import Path

import pytest
from step_stats import stat

from curate.blocks.code import SourceTreeReader
from curate.blocks.decoding import (
    decode_html,
    decode_http_payload,
    decode_source,
    detect_codec,
    encoding_name,
    sniff_mime,
    web_codec,
)

UTF16_VARIANTS = {"utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "utf-32": "UTF-32"}


@pytest.fixture(scope="module")
def code_texts(shared_data) -> dict[str, str]:
    """Every real code file of the manifest, as text (their BOMs dropped)."""
    rows = [json.loads(line) for line in (shared_data / "code" / "manifest.jsonl").read_text().splitlines()]
    return {row["path"]: (shared_data / "code" / row["path"]).read_text("utf-8").lstrip("\ufeff") for row in rows}


def western(code_texts: dict[str, str], encoding: str) -> dict[str, bytes]:
    """The real files with non-ASCII text that ``encoding`` can hold, encoded so."""
    out = {}
    for path, text in code_texts.items():
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            continue
        if not text.isascii():
            out[path] = data
    return out


def read_tree(tmp_path: Path, files: dict[str, bytes]) -> tuple[dict[str, object], SourceTreeReader]:
    """The files laid out as one repository and read by SourceTreeReader; documents by their ``files`` key."""
    repo = tmp_path / "repo"
    repo.mkdir()
    names = {Path(path).name: path for path in files}
    for name, path in names.items():
        (repo / name).write_bytes(files[path])
    reader = SourceTreeReader(str(tmp_path))
    return {names[doc.metadata["path"]]: doc for doc in reader.run()}, reader


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_real_western_source_files_come_back_exactly(tmp_path, code_texts, encoding):
    files = western(code_texts, encoding)
    assert len(files) >= 20  # comments with é, ©, ², curly quotes and dashes in real code
    docs, reader = read_tree(tmp_path, files)

    wrong = {path: doc.metadata["src_encoding"] for path, doc in docs.items() if doc.text != code_texts[path]}
    assert wrong == {}
    assert len(docs) + stat(reader, "skipped_unknown_language") == len(files)
    for path, doc in docs.items():
        # what was used is named, and it reproduces the text (Latin-1 is read as its superset Windows-1252)
        assert files[path].decode(doc.metadata["src_encoding"]) == doc.text
        assert doc.metadata["src_encoding"] in {"WINDOWS-1252", "UTF-8", "ISO-8859-2", "WINDOWS-1250"}, path


def test_a_detector_s_exotic_codepage_guess_becomes_windows_1252(code_texts):
    # uchardet calls this real file (an O(n²) in a comment) ISO-8859-10, which would turn ² into Ē
    path = "Cpp/C-Plus-Plus__sorting__recursive_bubble_sort.cpp"
    data = code_texts[path].encode("cp1252")
    from resiliparse.parse.encoding import detect_encoding

    assert detect_encoding(data, html5_compatible=False) == "iso8859-10"
    assert detect_codec(data) == "cp1252"
    assert decode_source(data) == (code_texts[path], "WINDOWS-1252")


@pytest.mark.parametrize("codec", list(UTF16_VARIANTS))
def test_utf16_and_utf32_source_files_are_text_not_binary(tmp_path, code_texts, codec):
    files = {path: text.encode(codec) for path, text in list(code_texts.items())[::10]}
    docs, reader = read_tree(tmp_path, files)

    assert stat(reader, "skipped_binary") == 0 and stat(reader, "skipped_undecodable") == 0
    assert len(docs) + stat(reader, "skipped_unknown_language") == len(files) and len(docs) > 50
    for path, doc in docs.items():
        assert doc.text == code_texts[path]
        assert doc.metadata["src_encoding"] == UTF16_VARIANTS[codec]
        assert files[path].decode(doc.metadata["src_encoding"]) == doc.text


def test_utf8_bom_is_removed_and_named(tmp_path, code_texts):
    files = {path: b"\xef\xbb\xbf" + text.encode("utf-8") for path, text in list(code_texts.items())[::25]}
    docs, _ = read_tree(tmp_path, files)
    assert docs and all(doc.text == code_texts[path] for path, doc in docs.items())
    assert {doc.metadata["src_encoding"] for doc in docs.values()} == {"UTF-8-SIG"}


def test_broken_utf8_keeps_the_file_with_one_replacement(code_texts):
    text = code_texts["Python/linguist__samples__Python__python3"]
    char = next(c for c in text if len(c.encode("utf-8")) == 2)
    data = text.encode("utf-8")
    cut = data.index(char.encode("utf-8")) + 1  # drop the second byte of its first two-byte character
    decoded, codec = decode_source(data[:cut] + data[cut + 1 :])
    assert codec == "UTF-8"
    assert decoded == text.replace(char, "\ufffd", 1)


def test_a_files_own_coding_line_decides(code_texts):
    path = "PHP/PHP__DataStructures__ReverseLinkedList__ReverseLinkedList.php"
    text = code_texts[path]
    assert "ł" in text  # Polish: Windows-1252 cannot hold it
    assert decode_source(text.encode("iso-8859-2")) == (text, "WINDOWS-1250")  # the detector's guess
    declared = text.replace("<?php\n", "<?php\n// -*- coding: iso-8859-2 -*-\n", 1)
    assert decode_source(declared.encode("iso-8859-2")) == (declared, "ISO-8859-2")


def test_undecodable_and_binary_files(tmp_path):
    files = {
        "holes.py": b"x = 1  # \x81\x8d\x8f\x90\x9d\n" * 3,  # not UTF-8, the holes of Windows-1252
        "elf.py": b"\x7fELF\x02\x01\x01\x00" * 50,
    }
    docs, reader = read_tree(tmp_path, files)
    assert docs == {}
    assert stat(reader, "skipped_undecodable") == 1 and stat(reader, "skipped_binary") == 1


# --- web pages ------------------------------------------------------------------------------------------------


def page(shared_data: Path, name: str) -> bytes:
    return gzip.decompress((shared_data / "extraction" / "pages" / f"{name}.html.gz").read_bytes())


def test_a_mostly_utf8_page_with_a_few_latin1_bytes_stays_utf8(shared_data):
    # a real German page in UTF-8 whose ad snippet has one Latin-1 byte; read as Windows-1252 it would be mojibake
    body = page(shared_data, "traf-79b898ae4e46")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text, codec = decode_html(body)
    assert codec == "utf-8" and text.count("\ufffd") == 1
    assert text == body.decode("utf-8", errors="replace")
    assert "ü" in text and "Ã¼" not in text


def test_page_bom_nul_and_utf16_rules(shared_data):
    body = page(shared_data, "traf-6a3542fb3491")
    assert body.startswith(b"\xef\xbb\xbf")  # a real page with a UTF-8 BOM
    text, codec = decode_html(body)
    assert (text, codec) == (body.decode("utf-8"), "utf-8")  # U+FEFF kept, as datatrove's WarcReader keeps it
    plain = body[3:].decode("utf-8")
    # a BOM decides whatever the labels say (and stays as U+FEFF in page text)
    assert decode_html(plain.encode("utf-16"), "iso-8859-1") == ("\ufeff" + plain, "utf-16-le")
    assert decode_html(plain.encode("utf-16-le")) == (plain, "utf-16-le")  # no BOM: the NULs tell
    # a page labelled UTF-16 without any NUL is UTF-8 (the HTML spec's rule for <meta>)
    assert decode_html(body[3:], "utf-16")[0] == plain
    with_nuls = body[3:].replace(b"</title>", b"\x00</title>\x00", 1)
    assert decode_html(with_nuls)[0] == plain  # NULs carry no text; parsers would make them U+FFFD


def test_web_labels_decode_as_browsers_do():
    assert web_codec("ISO-8859-1") == web_codec("latin1") == web_codec("us-ascii") == "cp1252"
    assert web_codec("Shift_JIS") == "cp932" and web_codec("gb2312") == "gb18030" and web_codec("EUC-KR") == "cp949"
    assert web_codec("tis-620") == "cp874" and web_codec('"utf-8" ') == "utf-8"
    assert web_codec("x-no-such-charset") is None
    names = {
        "cp1252": "WINDOWS-1252",
        "cp932": "CP932",
        "utf-16-le": "UTF-16LE",
        "iso8859-2": "ISO-8859-2",
        "euc_jp": "EUC-JP",
        "iso2022_jp": "ISO-2022-JP",
        "utf-8-sig": "UTF-8-SIG",
        "gb18030": "GB18030",
    }
    assert {codec: encoding_name(codec) for codec in names} == names
    assert all(codecs.lookup(name).name == codecs.lookup(codec).name for codec, name in names.items())


def test_mime_of_untyped_records(shared_data):
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((shared_data / "extraction" / "pages").glob("*.gz"))]
    html = sum(sniff_mime(body) == "text/html" for body in pages)
    assert html >= 0.98 * len(pages)
    assert sniff_mime(b"\x89PNG\r\n\x1a\n" + bytes(64)) == "image/png"  # resiliparse's magic bytes
    assert sniff_mime(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>') == "application/xml"
    assert sniff_mime(b"\xef\xbb\xbf<HTML lang=en><p>x") == "text/html"  # what detect_mime calls text/plain
    assert sniff_mime(b"  \n") is None


def test_http_content_codings_including_raw_deflate(shared_data):
    body = page(shared_data, "traf-6a3542fb3491")
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_http_payload(raw_deflate.compress(body) + raw_deflate.flush(), None, "deflate") == body
    assert decode_http_payload(zlib.compress(body), None, "deflate") == body  # the RFC's zlib wrapper
    assert decode_http_payload(gzip.compress(body), None, "gzip") == body
    assert decode_http_payload(body, None, "gzip") == body  # stored decoded, header kept (ClueWeb, CC)
    with pytest.raises(ValueError, match="deflate"):
        decode_http_payload(zlib.compress(body)[2:300], None, "deflate")  # a cut stream is not a page


def test_iso_2022_jp_is_not_taken_for_ascii(shared_data):
    """ISO-2022-JP is all ASCII bytes, the characters switched by escape sequences (old Japanese pages, mail)."""
    from warcio.archiveiterator import ArchiveIterator

    with open(shared_data / "warc" / "resiliparse-clueweb09-quirk.warc.gz", "rb") as f:
        body = next(r.content_stream().read() for r in ArchiveIterator(f) if r.rec_type == "response")
    seven_bit = body.decode("euc_jp").encode("iso2022_jp", errors="ignore")  # a real Japanese ClueWeb page
    assert seven_bit.isascii()
    expected = seven_bit.decode("iso2022_jp")
    assert "の" in expected
    assert decode_html(seven_bit, "iso-2022-jp") == (expected, "iso2022_jp")
    assert decode_html(seven_bit) == (expected, "iso2022_jp")  # its <meta> still says EUC-JP: uchardet tells
    assert decode_html(b"an ANSI colour \x1b[1mescape\x1b[0m") == ("an ANSI colour \x1b[1mescape\x1b[0m", "ascii")
