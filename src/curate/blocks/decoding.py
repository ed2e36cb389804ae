"""Bytes to text, for web pages and source files alike: one decoding policy, built on resiliparse.

resiliparse gives the pieces: the WHATWG label mapping (``map_encoding_to_html5``: iso-8859-1 means Windows-1252,
...), uchardet detection (``detect_encoding``), lossy decoding (``bytes_to_str``) and magic-byte MIME detection
(``detect_mime``). The rules it lacks are added here:

- A byte order mark decides, whatever the labels say (WHATWG); UTF-16 without a BOM is recognised by its NULs.
- A declared single-byte charset decodes any bytes, so it is only believed when the bytes are not valid UTF-8
  and the detector does not name a multi-byte charset that decodes them cleanly (lying headers).
- A UTF-16 label on bytes with no NUL near the start means UTF-8 (the HTML spec's rule for ``<meta>``); ASCII
  bytes with escape sequences may be ISO-2022-JP.
- Python's codecs for Shift_JIS, GBK, EUC-KR, Big5 and TIS-620 are narrower than what browsers decode under those
  labels: the wider codec is used (windows-31j, gb18030, windows-949, Big5-HKSCS, windows-874).
- A guess of a codepage no browser decodes (IBM865, IBM852, MacCyrillic, VISCII...) or of a rare Latin codepage
  (ISO-8859-3/4/10/13/14/16, Mac Roman) becomes Windows-1252: on Western text that is what they are.
- Bytes that are mostly valid UTF-8 but carry a few broken sequences stay UTF-8 (with U+FFFD, at most 1 %),
  before any guess; Windows-1252 is the last strict try.
- ``<meta charset>`` is looked for in the first 16 KB (resiliparse reads 1 KB; real pages put it later), and a
  source file's own coding line (PEP 263, Emacs, Vim) plays the same part for code.
- ``detect_mime`` calls a page that starts with ``<html>`` text/plain: an ``<html`` tag makes it HTML.

HTTP content codings are undone here too; ``deflate`` accepts raw deflate streams as well as zlib ones.
"""

import codecs
import io
import re
import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache

from resiliparse.parse.encoding import bytes_to_str, detect_encoding, detect_mime, map_encoding_to_html5

# Same rule as git's binary check: a NUL byte early in the file. Beyond that, a file is binary when more
# than this share of its first bytes are control characters other than whitespace, backspace and escape.
BINARY_SNIFF_BYTES = 8000
MAX_CONTROL_CHAR_RATIO = 0.30
MAX_REPLACEMENT_SHARE = 0.01

_TEXT_CONTROL_BYTES = frozenset(b"\t\n\r\f\v\b\x1b")
_WIDER_CODECS = {"shift_jis": "cp932", "gbk": "gb18030", "euc_kr": "cp949", "big5": "big5hkscs", "iso8859-11": "cp874"}
_RARE_LATIN_CODECS = frozenset(
    ["iso8859-3", "iso8859-4", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-16", "mac-roman"]
)
# longest first: the UTF-32-LE mark starts with the UTF-16-LE one
_BOMS = (  # (mark, codec removing it, codec keeping it as U+FEFF)
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)
_UTF16_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([a-z0-9_.:\-]+)", re.IGNORECASE)
_META_SCAN_BYTES = 16384
# a comment (or XML declaration) naming the file's encoding: PEP 263, Ruby, Emacs, Vim, <?xml encoding=...?>
_CODING_LINE = re.compile(
    rb"^[ \t\f]*(?:#|//|/\*|\*|--|;|%|'|<!--|<\?xml)[^\n]{0,200}?coding[:=][ \t]*[\"']?([-\w.]+)", re.MULTILINE
)
_HTML_TAG = re.compile(rb"<html[\s>]|<!doctype\s+html", re.IGNORECASE)
_MIME_SNIFF_BYTES = 1024
# uchardet reads 16 KB from each end of longer inputs (resiliparse's sampling): as fast as cchardet on a whole page
# was, and 93 % of 1,886 unlabelled re-encodings of real pages still decode exactly (128 KB: 95 %; cchardet: 54 %)
_DETECTION_SAMPLE_BYTES = 32768


@lru_cache(maxsize=256)
def web_codec(label: str) -> str | None:
    """The Python codec browsers decode a charset label with (WHATWG names, wider CJK codecs); None if unknown."""
    codec = map_encoding_to_html5(label.strip().strip("\"'"), fallback_utf8=False)
    return _WIDER_CODECS.get(codec, codec) if codec else None


@lru_cache(maxsize=256)
def _is_single_byte(codec: str) -> bool:
    # a single-byte codec maps (almost) each high byte to a character, so it "succeeds" on any input
    text = bytes(range(0x80, 0x100)).decode(codec, errors="replace")
    return len(text) == 0x80 and text.count("\ufffd") < 0x40


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_codec(data: bytes) -> str | None:
    """uchardet's guess (through resiliparse) as a codec browsers use; None when it has none."""
    guess = detect_encoding(data, max_len=_DETECTION_SAMPLE_BYTES, html5_compatible=False)
    if not guess:
        return None
    codec = web_codec(guess)
    return "cp1252" if codec is None or codec in _RARE_LATIN_CODECS else codec


def unicode_codec(data: bytes, strip_bom: bool = True) -> str | None:
    """The UTF-8/16/32 codec a byte order mark names (one that removes the mark, unless ``strip_bom`` is False),
    or UTF-16 recognised by the NUL high bytes of ASCII-range text."""
    for bom, codec, keeping in _BOMS:
        if data.startswith(bom):
            return codec if strip_bom else keeping
    sample = data[:_UTF16_SNIFF_BYTES]
    if b"\x00" not in sample or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 8 and b"\x00" not in even and odd.count(0) >= 0.8 * len(odd):
        return "utf-16-le"
    if len(sample) >= 8 and b"\x00" not in odd and even.count(0) >= 0.8 * len(even):
        return "utf-16-be"
    return None


def _declared_codecs(data: bytes, labels: Iterable[str | None]) -> list[str]:
    found = []
    for label in labels:
        codec = web_codec(label) if label else None
        if codec and codec.startswith("utf-16") and b"\x00" not in data[:1024]:
            codec = "utf-8"
        if codec:
            found.append(codec)
    return list(dict.fromkeys(found))


def _mostly_utf8(data: bytes) -> bool:
    """More valid multi-byte UTF-8 characters than broken bytes: UTF-8 text with a few stray bytes."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    return len(text) - len(text.encode("ascii", errors="ignore")) - broken > broken


def decode_bytes(data: bytes, labels: Iterable[str | None] = (), strip_bom: bool = True) -> tuple[str, str] | None:
    """Decode ``data`` declared as ``labels`` (first believed first); ``(text, codec)``, or None when none fits.

    Order: byte order mark, ASCII (or ISO-2022 when its escapes and a label or the detector say so), the
    declared charsets (a single-byte one only over bytes that are neither UTF-8 nor a clean multi-byte guess),
    UTF-8, UTF-8 with a few replacements when the bytes are mostly UTF-8, the detector's guess, Windows-1252, then
    the declared and guessed charsets with at most 1 % replaced. ``strip_bom=False`` keeps a BOM as U+FEFF.
    """
    if (codec := unicode_codec(data, strip_bom)) and (text := _strict(data, codec)) is not None:
        return text, codec
    if data.isascii():
        return (b"\x1b" in data and _escape_coded(data, labels)) or (data.decode("ascii"), "ascii")
    declared = _declared_codecs(data, labels)
    guess = _Guess(data)
    return _decode_strictly(data, declared, guess) or _decode_lossily(data, declared, guess)


def _escape_coded(data: bytes, labels: Iterable[str | None]) -> tuple[str, str] | None:
    """ISO-2022 text is all ASCII bytes, its characters switched by escape sequences: a label or uchardet tells."""
    for codec in [*_declared_codecs(data, labels), detect_codec(data)]:
        if codec and codec.startswith("iso2022") and (text := _strict(data, codec)) is not None:
            return text, codec
    return None


class _Guess:
    """The detector's guess for one input: computed at most once, and only when a rule needs it."""

    def __init__(self, data: bytes):
        self.data = data
        self.codec: str | None = None
        self.done = False

    def __call__(self) -> str | None:
        if not self.done:
            self.codec, self.done = detect_codec(self.data), True
        return self.codec


def _decode_strictly(data: bytes, declared: list[str], guess: _Guess) -> tuple[str, str] | None:
    for codec in declared:
        if _is_single_byte(codec) and (found := _multi_byte_instead(data, guess)):
            return found
        if (text := _strict(data, codec)) is not None:
            return text, codec
    if (text := _strict(data, "utf-8")) is not None:
        return text, "utf-8"
    if _mostly_utf8(data) and (found := _lossy(data, "utf-8")):
        return found  # before any guess: a single-byte codec would turn every other character into mojibake
    for codec in (guess(), "cp1252"):
        if codec and (text := _strict(data, codec)) is not None:
            return text, codec
    return None


def _decode_lossily(data: bytes, declared: list[str], guess: _Guess) -> tuple[str, str] | None:
    for codec in dict.fromkeys([*declared, guess(), "utf-8"]):
        if codec and (found := _lossy(data, codec)):
            return found
    return None


def _multi_byte_instead(data: bytes, guess: _Guess) -> tuple[str, str] | None:
    """UTF-8 or a clean multi-byte guess, where a single-byte label would decode anything (lying headers)."""
    if (text := _strict(data, "utf-8")) is not None:
        return text, "utf-8"
    codec = guess()
    if codec and not _is_single_byte(codec) and (text := _strict(data, codec)) is not None:
        return text, codec
    return None


def _lossy(data: bytes, codec: str) -> tuple[str, str] | None:
    # a few stray bytes (a broken multi-byte sequence, a pasted fragment) should not cost the whole text
    text = bytes_to_str(data, codec, errors="replace", fallback_encodings=(), strip_bom=False)
    return (text, codec) if text.count("\ufffd") <= MAX_REPLACEMENT_SHARE * len(text) else None


def meta_charset(body: bytes) -> str | None:
    """The charset named by ``<meta charset>`` or ``<meta http-equiv=Content-Type content="...; charset=...">``."""
    match = _META_CHARSET.search(body, 0, _META_SCAN_BYTES)
    return match.group(1).decode("ascii") if match else None


def decode_html(body: bytes, http_charset: str | None = None) -> tuple[str, str] | None:
    """Decode page bytes (HTTP charset, then ``<meta charset>``); ``(text, codec)`` or None when nothing fits.

    NUL bytes are removed: they never carry text, and HTML parsers turn them into U+FFFD or drop them. A byte order
    mark stays in the text as U+FEFF, as datatrove's WarcReader leaves it (parsers skip it).
    """
    decoded = decode_bytes(body, (http_charset, meta_charset(body)), strip_bom=False)
    # the byte test is a fast memchr; only a NUL byte (or UTF-16/32, full of them) can give a NUL character
    if decoded and b"\x00" in body and "\x00" in decoded[0]:
        return decoded[0].replace("\x00", ""), decoded[1]
    return decoded


def looks_binary(data: bytes) -> bool:
    """True for content that is not text: a NUL byte (outside UTF-16/32) or mostly control characters."""
    if unicode_codec(data) not in (None, "utf-8-sig"):
        return False
    head = data[:BINARY_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    if not head:
        return False
    control = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROL_BYTES)
    return control / len(head) > MAX_CONTROL_CHAR_RATIO


def coding_line(data: bytes) -> str | None:
    """The encoding a source file names in its first two lines (``# -*- coding: latin-1 -*-``, ``fileencoding=``)."""
    match = _CODING_LINE.search(b"\n".join(data.split(b"\n", 2)[:2]))
    return match.group(1).decode("ascii") if match else None


def decode_source(data: bytes) -> tuple[str, str] | None:
    """Decode a source file: ``(text, src_encoding)`` with ``data.decode(src_encoding) == text``; None if none fits.

    The file's own coding line plays the part of a declared charset. A BOM is removed from the text and named in
    ``src_encoding`` (UTF-8-SIG, UTF-16, UTF-32); pure ASCII is reported as UTF-8, as in The Stack v2.
    """
    decoded = decode_bytes(data, (coding_line(data),))
    if decoded is None:
        return None
    text, codec = decoded
    return text, "UTF-8" if codec == "ascii" else encoding_name(codec)


@lru_cache(maxsize=64)
def encoding_name(codec: str) -> str:
    """The usual (IANA-style) name of a Python codec that Python decodes the same way: cp1252 -> WINDOWS-1252."""
    name = codec.upper().replace("_", "-")
    name = re.sub(r"^CP(125\d)$", r"WINDOWS-\1", name)
    name = re.sub(r"^ISO(8859|2022)-", r"ISO-\1-", name)
    name = re.sub(r"^UTF-(16|32)-(LE|BE)$", r"UTF-\1\2", name)
    return name if codecs.lookup(name).name == codecs.lookup(codec).name else codec.upper()


def normalize_mime(value: str | None) -> str | None:
    """``"text/HTML; charset=utf-8"`` -> ``"text/html"``; empty values -> None."""
    if not value:
        return None
    mime = value.split(";", 1)[0].strip().lower()
    return mime or None


def sniff_mime(payload: bytes) -> str | None:
    """The MIME type of an untyped payload: resiliparse's magic-byte guess, HTML where an ``<html`` tag opens it."""
    head = payload[:_MIME_SNIFF_BYTES]
    if not head.strip():
        return None
    if _HTML_TAG.search(head):
        return "text/html"
    return detect_mime(head)


def decode_http_payload(payload: bytes, transfer_encoding: str | None, content_encoding: str | None) -> bytes:
    """Undo HTTP transfer and content encodings (chunked; gzip, deflate, br, zstd). Raises ValueError if broken.

    Many crawlers (ClueWeb, Common Crawl) store the decoded body but keep the Content-Encoding header, so a
    content decoding that fails on bytes that already look like markup is skipped rather than an error.
    """
    from fastwarc.stream_io import BrotliReader, ChunkedReader, GzipReader, ZstdReader

    content_decoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": lambda body: GzipReader(io.BytesIO(body)).read(),
        "x-gzip": lambda body: GzipReader(io.BytesIO(body)).read(),
        "deflate": _inflate,
        "br": lambda body: BrotliReader(io.BytesIO(body)).read(),
        "zstd": lambda body: ZstdReader(io.BytesIO(body)).read(),
    }
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        try:
            payload = ChunkedReader(io.BytesIO(payload)).read()
        except OSError as err:
            raise ValueError(f"broken chunked transfer encoding: {err}") from err
    for coding in reversed([c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding not in content_decoders:
            raise ValueError(f"unsupported content encoding {coding!r}")
        try:
            payload = content_decoders[coding](payload)
        except (OSError, zlib.error) as err:
            if _looks_like_markup(payload):
                break
            raise ValueError(f"broken {coding} content encoding: {err}") from err
    return payload


def _inflate(payload: bytes) -> bytes:
    """HTTP ``deflate``: zlib-wrapped as RFC 9110 says, or raw deflate as many servers send it."""
    try:
        return zlib.decompress(payload)
    except zlib.error:
        inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
        body = inflater.decompress(payload)
        if not inflater.eof:
            raise zlib.error("incomplete raw deflate stream") from None
        return body


def _looks_like_markup(payload: bytes) -> bool:
    head = payload[:1024]
    return b"<" in head and b"\x00" not in head
