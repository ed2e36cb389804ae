"""The project's own sample corpus: pages, math pages and code files written for curate, packed as Common Crawl WARCs.

Everything here was written for this project (no third-party text), so the offline demos
(``python -m curate.run fineweb_edu`` with no arguments) and the demo classifiers can ship with it.

- ``web_pages.jsonl``: one page per line with ``id``, ``url``, ``title``, ``lang``, ``body`` (paragraphs separated
  by blank lines; a paragraph starting with ``## `` is a heading, one whose lines all start with ``- `` is a list),
  optional ``html_extra`` (``nav``: link texts, ``aside``: boxes such as ads, ``footer``: text), ``edu_score``
  (0-5, the FineWeb-Edu additive rubric applied by hand) and ``kind`` (educational, news, shop, spam, ...).
- ``math_pages.jsonl``: ``id``, ``url``, ``title``, ``html`` (a full document), ``markup`` (mathjax-script,
  mathjax-delimiters, katex, mathml, wp-latex, codecogs, currency or plain), ``tex`` (the LaTeX formulas the page
  contains, in order; for MathML the LaTeX an extractor should produce) and ``math_score`` (0-5, the FineMath rubric).
- ``code/<Language>/``: small source files per Stack-Edu language; ``code/manifest.jsonl`` gives ``path``,
  ``language`` and ``edu_score`` (0-5, the Stack-Edu rubric).
"""

import hashlib
import html
import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from curate.assets import cache_dir

SAMPLE_DIR = Path(__file__).resolve().parent
WEB_PAGES_FILE = SAMPLE_DIR / "web_pages.jsonl"
MATH_PAGES_FILE = SAMPLE_DIR / "math_pages.jsonl"
DEFAULT_DUMP = "CC-MAIN-2024-10"
WARC_FILE_NAME = "CC-MAIN-sample-00000.warc.gz"

# every record of a dump gets a fixed fetch time (one second apart) so repeated builds are byte-identical
_DUMP_START = datetime(2024, 2, 20, 8, 0, 0, tzinfo=timezone.utc)
_RECORD_NAMESPACE = uuid.UUID("7d3c1c0e-5a4f-4b43-9a57-2f1b8e0c6a11")
_DEFAULT_NAV = ["Home", "Articles", "About", "Contact"]


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def web_pages() -> list[dict]:
    """The sample web pages (English at every educational level, other languages, duplicates, junk, PII, math)."""
    return _read_jsonl(WEB_PAGES_FILE)


def math_pages() -> list[dict]:
    """The sample math pages: full HTML with MathJax, KaTeX, MathML and LaTeX-image markup, plus their LaTeX."""
    return _read_jsonl(MATH_PAGES_FILE)


def code_dir() -> Path:
    """Folder of the sample code files (``<Language>/<file>``) and their ``manifest.jsonl``."""
    return SAMPLE_DIR / "code"


def code_manifest() -> list[dict]:
    """The rows of ``code/manifest.jsonl``: ``path`` (relative to ``code_dir()``), ``language``, ``edu_score``."""
    return _read_jsonl(code_dir() / "manifest.jsonl")


def _render_body(body: str) -> str:
    blocks = []
    for paragraph in body.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        lines = paragraph.split("\n")
        if paragraph.startswith("## "):
            blocks.append(f"<h2>{html.escape(paragraph[3:])}</h2>")
        elif all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{html.escape(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append("<p>" + "<br>\n".join(html.escape(line) for line in lines) + "</p>")
    return "\n".join(blocks)


def render_page(page: dict) -> str:
    """A page as a full HTML document: ``page["html"]`` as is, else head, nav, article (the body), aside, footer."""
    if "html" in page:
        return page["html"]
    extra = page.get("html_extra") or {}
    domain = urlsplit(page["url"]).netloc
    title = html.escape(page["title"])
    nav = "".join(
        f'<li><a href="/{html.escape(item.lower().replace(" ", "-"))}">{html.escape(item)}</a></li>'
        for item in extra.get("nav", _DEFAULT_NAV)
    )
    asides = "".join(f'<div class="widget">{html.escape(text)}</div>' for text in extra.get("aside", []))
    footer = html.escape(extra.get("footer", f"© 2024 {domain}. All rights reserved."))
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(page.get("lang", "en"))}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n<body>\n'
        f'<header><div class="site-name">{html.escape(domain)}</div><nav><ul>{nav}</ul></nav></header>\n'
        f"<main>\n<article>\n<h1>{title}</h1>\n{_render_body(page['body'])}\n</article>\n"
        + (f'<aside class="sidebar">{asides}</aside>\n' if asides else "")
        + f"</main>\n<footer><p>{footer}</p></footer>\n</body>\n</html>\n"
    )


def _record_id(dump: str, url: str, record_type: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_RECORD_NAMESPACE, f'{dump} {record_type} {url}')}>"


def _warc_date(index: int) -> str:
    return (_DUMP_START + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_sample_warc(path: Path, pages: list[dict] | None = None, dump: str = DEFAULT_DUMP) -> Path:
    """Pack pages (default: ``web_pages()``) as a Common-Crawl-shaped ``.warc.gz`` at ``path``.

    One ``warcinfo`` record (``isPartOf: <dump>``), then per page a ``request``, a ``response`` (HTTP/1.1 200,
    ``text/html; charset=utf-8``, the page rendered by ``render_page``) and a ``metadata`` record. Record ids and
    dates derive from the dump, the URL and the page's position, so the same input gives the same bytes.
    """
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = web_pages() if pages is None else pages
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    warcinfo_id = _record_id(dump, "", "warcinfo")
    info = (
        f"isPartOf: {dump}\r\npublisher: curate sample corpus (written for the project)\r\n"
        f"description: {len(pages)} sample pages for offline demos\r\nformat: WARC File Format 1.0\r\n"
    ).encode()
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=BytesIO(info),
            length=len(info),
            warc_headers_dict={
                "WARC-Record-ID": warcinfo_id,
                "WARC-Date": _warc_date(0),
                "WARC-Filename": path.name,
            },
        )
    )
    for index, page in enumerate(pages, start=1):
        url = page["url"]
        date = _warc_date(index)
        parts = urlsplit(url)
        common = {"WARC-Date": date, "WARC-Warcinfo-ID": warcinfo_id}
        request_headers = StatusAndHeaders(
            f"GET {parts.path or '/'} HTTP/1.1",
            [
                ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
                ("Accept", "text/html"),
                ("Host", parts.netloc),
            ],
            is_http_request=True,
        )
        writer.write_record(
            writer.create_warc_record(
                url,
                "request",
                http_headers=request_headers,
                warc_headers_dict={"WARC-Record-ID": _record_id(dump, url, "request"), **common},
            )
        )
        payload = render_page(page).encode("utf-8")
        response_id = _record_id(dump, url, "response")
        response_headers = StatusAndHeaders(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(payload))),
                ("Date", datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").strftime("%a, %d %b %Y %H:%M:%S GMT")),
            ],
            protocol="HTTP/1.1",
        )
        writer.write_record(
            writer.create_warc_record(
                url,
                "response",
                payload=BytesIO(payload),
                length=len(payload),
                http_headers=response_headers,
                warc_headers_dict={
                    "WARC-Record-ID": response_id,
                    "WARC-Concurrent-To": _record_id(dump, url, "request"),
                    "WARC-Identified-Payload-Type": "text/html",
                    **common,
                },
            )
        )
        metadata = f"fetchTimeMs: {50 + index % 200}\r\ncharset-detected: UTF-8\r\n".encode()
        writer.write_record(
            writer.create_warc_record(
                url,
                "metadata",
                payload=BytesIO(metadata),
                length=len(metadata),
                warc_headers_dict={
                    "WARC-Record-ID": _record_id(dump, url, "metadata"),
                    "WARC-Concurrent-To": response_id,
                    **common,
                },
            )
        )
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)  # atomic: parallel demo tasks may build at the same time
    return path


def _cached_warc(name: str, source: Path, pages: list[dict], dump: str) -> Path:
    # key on the data and this module, so an edited page or renderer gives a new file
    digest = hashlib.sha256(source.read_bytes() + Path(__file__).read_bytes() + dump.encode()).hexdigest()[:16]
    target = cache_dir() / "sample" / f"{name}-{digest}" / WARC_FILE_NAME
    if not target.exists():
        build_sample_warc(target, pages, dump)
    return target


def demo_warc(dump: str = DEFAULT_DUMP) -> Path:
    """The web pages' WARC, built once under ``cache_dir()/sample/web-<hash>/`` (the folder holds only it)."""
    return _cached_warc("web", WEB_PAGES_FILE, web_pages(), dump)


def demo_math_warc(dump: str = DEFAULT_DUMP) -> Path:
    """The math pages' WARC, built once under ``cache_dir()/sample/math-<hash>/`` (the folder holds only it)."""
    return _cached_warc("math", MATH_PAGES_FILE, math_pages(), dump)
