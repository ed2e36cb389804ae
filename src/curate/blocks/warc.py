"""Read Common Crawl WARC, WET and legacy ARC files into datatrove Documents, accounting for every record.

The records come from ``curate.blocks.warc_records`` (FastWARC, warcio for ARC, and the recovery from damaged
files), the bytes become text in ``curate.blocks.decoding``, and input folders are walked by
``curate.blocks.input_files``, which counts bad entries instead of failing on them.

Symlinks: WARC inputs are the operator's own storage, where links into other disks or a shared download cache
are normal, so a link is followed wherever it points; loops, dangling links and second names of a file that is
read anyway are counted and skipped. (Source trees, which may come from untrusted repositories, are stricter.)
"""

import io
import re
from collections.abc import Callable
from datetime import datetime, timezone

from datatrove.data import DocumentsPipeline
from datatrove.io import DataFileLike, DataFolderLike
from datatrove.utils.logging import logger

from curate.blocks.decoding import decode_html, decode_http_payload, normalize_mime, sniff_mime
from curate.blocks.input_files import CheckedDiskReader, text_path
from curate.blocks.warc_records import RawRecord, StreamBreak, read_records

# Common Crawl caps stored payloads at 1 MiB (longer ones carry WARC-Truncated), so a 10 MiB cap drops no
# Common Crawl page and keeps FineWeb's document counts; it bounds memory and extractor time on other crawls,
# where bigger "pages" are dumps and logs rather than prose.
DEFAULT_MAX_PAGE_BYTES = 10 * 1024 * 1024

HTML_MIME_TYPES = frozenset({"text/html", "application/xhtml+xml"})
WET_MIME_TYPES = frozenset({"text/plain"})

_IS_PART_OF = re.compile(rb"^isPartOf:[ \t]*(\S+)", re.MULTILINE)


def unwrap_uri(uri: str | None) -> str | None:
    """wget (and so Dolma's crawls) write ``WARC-Target-URI: <https://...>``; the angle brackets are not part of it."""
    if uri and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def parse_warc_date(value: str | None) -> str | None:
    """WARC-Date (ISO 8601) or ARC archive-date (``YYYYMMDDhhmmss``) as ISO 8601 UTC, or None if malformed."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit() and len(value) == 14:
            parsed = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CommonCrawlWarcReader(CheckedDiskReader):
    """Read web pages from Common Crawl WARC, WET and ARC files; every record that is not a document is counted.

    Documents: ``text`` = the decoded HTML (WET: the plain text), ``id`` = WARC-Record-ID; metadata ``url``,
    ``date`` (the raw WARC-Date), ``fetch_time`` (it as ISO 8601 UTC, None if malformed), ``dump``,
    ``warc_filename`` (the path relative to ``data_folder``, as in Common Crawl's index), ``warc_record_offset``
    and ``warc_record_length`` (bytes in the file as stored, i.e. the gzip member), ``content_mime_type``
    (the HTTP Content-Type, else the detected type) and ``file_path``.

    Stats (one per record not turned into a document): ``skipped_<type>`` for request, metadata, revisit,
    warcinfo, resource, ... records; ``skipped_non_html``, ``skipped_http_status`` (not 2xx),
    ``skipped_too_large``, ``skipped_content_encoding_error``, ``skipped_decode_error``, ``skipped_empty``,
    ``broken_record`` (unparsable record or region, reading resumed after it) and ``truncated_file`` (the file
    ends inside a record or cannot be read further; documents before the break are kept). ``malformed_date``
    counts documents whose WARC-Date does not parse (they are kept). Bad input entries (links, FIFOs, unreadable
    files) are counted as ``CheckedDiskReader`` says. File names that are not UTF-8 appear in ``warc_filename``,
    ``file_path`` and ARC ids as ``curate.blocks.input_files.text_path`` writes them.

    Args:
        data_folder: a str, tuple or DataFolder: local dir, glob base or any fsspec URL
        paths_file: optional file with one path per line, relative to `data_folder` (e.g. Common Crawl's warc.paths.gz)
        dump: dump name used when a file has no warcinfo record with `isPartOf`
        max_page_bytes: records whose block (HTTP headers + body) is larger are skipped as `skipped_too_large`
        accept_mime_types: payload types that become documents (WET conversion records also accept text/plain)
        limit: maximum number of documents to read per task
        skip: number of documents to skip at the start of each task's input
        file_progress: show progress bar for files
        doc_progress: show progress bar for documents
        adapter: function to adapt the data dict to a Document (see datatrove's BaseReader)
        text_key: the key containing the text data
        id_key: the key containing the id for each sample
        default_metadata: a dictionary with any data that should be added to all samples' metadata
        recursive: whether to search files recursively. Ignored if paths_file is provided
        glob_pattern: pattern that all files must match (relative to data_folder). Ignored if paths_file is provided
        shuffle_files: shuffle the files within the returned shard
    """

    name = "🕷 Common Crawl WARC"
    _requires_dependencies = ["fastwarc", "warcio", "resiliparse"]

    def __init__(
        self,
        data_folder: DataFolderLike,
        paths_file: DataFileLike | None = None,
        dump: str | None = None,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
        accept_mime_types: frozenset[str] | set[str] = HTML_MIME_TYPES,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        doc_progress: bool = False,
        adapter: Callable | None = None,
        text_key: str = "text",
        id_key: str = "id",
        default_metadata: dict | None = None,
        recursive: bool = True,
        glob_pattern: str | None = None,
        shuffle_files: bool = False,
    ):
        super().__init__(
            data_folder,
            paths_file,
            limit,
            skip,
            file_progress,
            doc_progress,
            adapter,
            text_key,
            id_key,
            default_metadata,
            recursive,
            glob_pattern,
            shuffle_files,
            add_file_path=False,  # set once per file in read_input (datatrove would resolve it per document)
        )
        self.dump = dump
        self.max_page_bytes = max_page_bytes
        self.accept_mime_types = frozenset(accept_mime_types)

    def read_input(self, filepath: str) -> DocumentsPipeline:
        dump = self.dump or "unknown"
        names = {
            "warc_filename": text_path(filepath),
            "file_path": text_path(self.data_folder.resolve_paths(filepath)),
        }
        pending: tuple[RawRecord, dict | str] | None = None
        with self.data_folder.open(filepath, "rb") as stream:
            for item in read_records(stream, self.max_page_bytes):
                # where a record ends is known from the next one (or from where the damage after it starts)
                next_offset = item.offset
                if pending:
                    if document := self._finish(pending, next_offset, names, last=False):
                        yield document
                    pending = None
                if isinstance(item, StreamBreak):
                    self.stat_update("broken_record" if item.resumed else "truncated_file")
                    where = f" at byte {item.offset}" if item.offset is not None else ""
                    after = "resumed at the next record" if item.resumed else "rest of the file skipped"
                    logger.warning(f"{names['warc_filename']}: unreadable WARC data{where}; {after}")
                    continue
                if item.record_type == "warcinfo" and item.complete and item.payload:
                    if match := _IS_PART_OF.search(item.payload):
                        dump = match.group(1).decode("utf-8", errors="replace")
                with self.track_time():
                    pending = (item, self._to_document_data(item, dump))
                item.payload = None  # decoded into the pending result; the bytes are no longer needed
            if pending:
                if document := self._finish(pending, self._file_size(stream), names, last=True):
                    yield document

    def _file_size(self, stream) -> int | None:
        try:
            return stream.seek(0, io.SEEK_END)
        except (OSError, ValueError):
            return None

    def _finish(self, pending: tuple[RawRecord, dict | str], end: int | None, names: dict[str, str], last: bool):
        """Emit the pending record as a document (or count it), now that the next record tells where it ends."""
        record, result = pending
        if not record.complete:
            self.stat_update("truncated_file" if last else "broken_record")
            return None
        if isinstance(result, str):
            self.stat_update(result)
            return None
        result |= names
        result["warc_record_offset"] = record.offset
        result["warc_record_length"] = end - record.offset if end is not None else None
        with self.track_time():
            document = self.get_document_from_dict(result, names["warc_filename"], record.offset)
        if document is None:
            self.stat_update("skipped_empty")
        return document

    def _to_document_data(self, record: RawRecord, dump: str) -> dict | str:
        """The document's fields, or the name of the stat that explains why this record is no document."""
        if record.record_type not in ("response", "conversion"):
            return f"skipped_{record.record_type}"
        if record.too_large:
            return "skipped_too_large"
        if record.http_status is not None and not 200 <= record.http_status < 300:
            return "skipped_http_status"
        accepted = self.accept_mime_types | (WET_MIME_TYPES if record.record_type == "conversion" else frozenset())
        content_type = normalize_mime(record.content_type)
        mime = record.identified_mime or content_type or sniff_mime(record.payload or b"")
        if mime not in accepted:
            return "skipped_non_html"
        try:
            body = decode_http_payload(record.payload or b"", record.transfer_encoding, record.content_encoding)
        except ValueError:
            return "skipped_content_encoding_error"
        if not body.strip():
            return "skipped_empty"
        decoded = decode_html(body, record.http_charset)
        if decoded is None:
            return "skipped_decode_error"
        fetch_time = parse_warc_date(record.date)
        if record.date and fetch_time is None:
            self.stat_update("malformed_date")
        data = {
            "text": decoded[0],
            "url": unwrap_uri(record.url),
            "date": record.date,
            "dump": dump,
            "content_mime_type": content_type or mime,
            "fetch_time": fetch_time,
        }
        if record.record_id:
            data["id"] = record.record_id
        return data
