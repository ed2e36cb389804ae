"""Real pages from ../shared/data, packed into WARCs in a temporary folder (never into the project)."""

import gzip
import io
import json
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def extraction_pages(shared_data: Path, limit: int | None = None) -> list[tuple[str, bytes]]:
    """(url, html bytes) of the real pages in shared/data/extraction, in truth.jsonl order."""
    root = shared_data / "extraction"
    rows = [json.loads(line) for line in (root / "truth.jsonl").read_text().splitlines()][:limit]
    return [(row["url"], gzip.decompress((root / row["file"]).read_bytes())) for row in rows]


def write_html_warc(path: Path, pages: list[tuple[str, bytes]], dump: str = "CC-MAIN-2099-01") -> Path:
    """A Common-Crawl-shaped .warc.gz: a warcinfo naming the dump, then one response record per page."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        info = writer.create_warcinfo_record(path.name, {"isPartOf": dump, "software": "curate tests"})
        writer.write_record(info)
        for url, html in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(html),
                http_headers=headers,
                warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"},
            )
            writer.write_record(record)
    return path


def math_pages(shared_data: Path) -> list[dict]:
    """The real math pages of shared/data/math with their truth row and HTML bytes (a URL is made up if absent)."""
    root = shared_data / "math"
    rows = [json.loads(line) for line in (root / "truth.jsonl").read_text().splitlines()]
    for row in rows:
        row["url"] = row["url"] or f"https://no-url.example/{row['id']}"
        row["html"] = gzip.decompress((root / row["file"]).read_bytes())
    return rows
