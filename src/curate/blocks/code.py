"""Read source code into datatrove Documents: The Stack v2 files, local source trees, Software Heritage blobs.

Every reader yields ``Document(text=<source>, id=<blob_id>, metadata={language, repo_name, path, src_encoding,
length_bytes, ...})``, the layout of The Stack v2 / StarCoder2Data and of the Stack-Edu Hub dataset, so the
filters and the per-language scorer work the same whatever the source. Both disk readers count bad input
entries instead of failing on them (``curate.blocks.input_files``); source trees never follow a symlink out of
their folder.
"""

import gzip
import hashlib
import posixpath
from dataclasses import replace

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFileLike, DataFolderLike
from datatrove.pipeline.base import PipelineStep

from curate.blocks.code_language import detect_language, language_from_name, needs_content
from curate.blocks.datasets import DatasetReader
from curate.blocks.decoding import decode_source, looks_binary
from curate.blocks.input_files import CheckedDiskReader, text_path
from curate.languages import BY_NAME
from curate.retry import SOFTWARE_HERITAGE, call_with_retries, transient_read_error


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data``: Software Heritage's ``sha1_git``, which The Stack v2 calls ``blob_id``."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


class SourceTreeReader(CheckedDiskReader):
    """Read a folder of source files (e.g. checked-out repositories), one Document per file of the 15 languages.

    ``repo_name`` is the first ``repo_depth`` folders under ``data_folder`` (or the given ``repo_name``), ``path``
    the rest; ``id`` and ``blob_id`` are the git blob sha1 of the bytes, as in The Stack v2. The bytes are
    decoded by ``curate.blocks.decoding.decode_source`` (BOMs, UTF-16, the file's coding line, Windows-1252 before
    exotic codepage guesses) and ``src_encoding`` names the codec used. Skips are counted per reason:
    ``skipped_unknown_language``, ``skipped_language_not_selected``, ``skipped_too_large``, ``skipped_empty``,
    ``skipped_binary``, ``skipped_undecodable``, and the bad entries of ``CheckedDiskReader``; a symlink whose
    target lies outside ``data_folder`` is never read (``skipped_symlink_outside_root``). Names that are not
    UTF-8 appear in ``repo_name``/``path``/``file_path`` as ``curate.blocks.input_files.text_path`` writes them.

    Args:
        data_folder: folder to read (local path, fsspec URL, or DataFolder).
        repo_name: one repository name for every file (then ``path`` is relative to ``data_folder``).
        repo_depth: how many leading folders name the repository when ``repo_name`` is not given (2 for owner/name).
        languages: keep only these Stack-Edu languages (Hub config names); default all 15.
        max_bytes: files larger than this are skipped; 1 MB, the size cap of The Stack (arXiv 2211.15533).
        paths_file, limit, skip, file_progress, doc_progress, default_metadata, recursive, glob_pattern,
        shuffle_files: as in datatrove's BaseDiskReader.
    """

    name = "🗂️ Source tree"
    follow_symlinks_outside_root = False

    def __init__(
        self,
        data_folder: DataFolderLike,
        repo_name: str | None = None,
        repo_depth: int = 1,
        languages: list[str] | None = None,
        max_bytes: int = 1_000_000,
        paths_file: DataFileLike | None = None,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        doc_progress: bool = False,
        default_metadata: dict | None = None,
        recursive: bool = True,
        glob_pattern: str | None = None,
        shuffle_files: bool = False,
    ):
        super().__init__(
            data_folder,
            paths_file=paths_file,
            limit=limit,
            skip=skip,
            file_progress=file_progress,
            doc_progress=doc_progress,
            default_metadata=default_metadata,
            recursive=recursive,
            glob_pattern=glob_pattern,
            shuffle_files=shuffle_files,
        )
        if repo_depth < 1:
            raise ValueError(f"repo_depth must be >= 1, got {repo_depth}")
        unknown = sorted(set(languages or ()) - set(BY_NAME))
        if unknown:
            raise ValueError(f"unknown languages {unknown}; known: {', '.join(BY_NAME)}")
        self.repo_name = repo_name
        self.repo_depth = repo_depth
        self.languages = set(languages) if languages else None
        self.max_bytes = max_bytes

    def _split_repo(self, filepath: str) -> tuple[str, str]:
        parts = text_path(filepath).strip("/").split("/")
        if self.repo_name is not None:
            return self.repo_name, "/".join(parts)
        if len(parts) <= self.repo_depth:  # a file above the repository level: the folder itself is the repo
            return text_path(posixpath.basename(self.data_folder.path.rstrip("/"))), "/".join(parts)
        return "/".join(parts[: self.repo_depth]), "/".join(parts[self.repo_depth :])

    def read_input(self, filepath: str) -> DocumentsPipeline:
        file_name = posixpath.basename(filepath)
        if language_from_name(file_name) is None and not needs_content(file_name):
            self.stat_update("skipped_unknown_language")
            return
        if self.data_folder.size(filepath) > self.max_bytes:
            self.stat_update("skipped_too_large")
            return
        with self.data_folder.open(filepath, "rb") as f:
            data = f.read()
        if not data:
            self.stat_update("skipped_empty")
            return
        if looks_binary(data):
            self.stat_update("skipped_binary")
            return
        decoded = decode_source(data)
        if decoded is None:
            self.stat_update("skipped_undecodable")
            return
        text, encoding = decoded
        language = detect_language(file_name, text)
        if language is None:
            self.stat_update("skipped_unknown_language")
            return
        if self.languages is not None and language not in self.languages:
            self.stat_update("skipped_language_not_selected")
            return
        repo_name, path = self._split_repo(filepath)
        blob_id = git_blob_sha1(data)
        row = {
            "text": text,
            "id": blob_id,
            "blob_id": blob_id,
            "language": language,
            "repo_name": repo_name,
            "path": path,
            "src_encoding": encoding,
            "length_bytes": len(data),
            "file_path": text_path(self.data_folder.resolve_paths(filepath)),
        }
        document = self.get_document_from_dict(row, text_path(filepath), 0)
        if document is not None:
            self.stat_update(f"language_{language}")
            yield document


class StackV2Reader(DatasetReader):
    """Read Parquet or JSON Lines files in The Stack v2 / StarCoder2Data / Stack-Edu layout.

    Each row becomes ``Document(text=row[content_key], id=row["blob_id"], metadata=<every other column>)``.
    Rows without content (the Stack-Edu Hub files hold ids only) are kept with empty text and counted as
    ``missing_content``: put a SoftwareHeritageContentFetcher right after this reader to fill them in. Content
    stored as bytes is decoded with the row's ``src_encoding``. Counted skips: ``skipped_no_blob_id``,
    ``skipped_invalid_json``, ``skipped_undecodable``. Every file is read, whatever its name (the format is told
    by content), and tasks split the input by file and Parquet row group (``curate.blocks.datasets``).

    Args:
        data_folder: folder with ``*.parquet`` and/or ``*.jsonl[.gz|.zst]`` files.
        content_key: column holding the source text ("content" in The Stack v2 and StarCoder2Data).
        id_key: column holding the id ("blob_id").
        batch_size: Parquet rows read at a time.
        required_columns: columns every row must have (default none: rows without an id or content are counted).
        paths_file, limit, skip, file_progress, doc_progress, default_metadata, recursive, glob_pattern,
        shuffle_files: as in datatrove's BaseDiskReader.
    """

    name = "📚 Stack v2"

    def __init__(
        self,
        data_folder: DataFolderLike,
        content_key: str = "content",
        id_key: str = "blob_id",
        batch_size: int = 1000,
        required_columns: tuple[str, ...] | list[str] = (),
        paths_file: DataFileLike | None = None,
        limit: int = -1,
        skip: int = 0,
        file_progress: bool = False,
        doc_progress: bool = False,
        default_metadata: dict | None = None,
        recursive: bool = True,
        glob_pattern: str | None = None,
        shuffle_files: bool = False,
    ):
        super().__init__(
            data_folder,
            text_key=content_key,
            id_key=id_key,
            required_columns=required_columns,
            batch_size=batch_size,
            suffixes=None,
            paths_file=paths_file,
            limit=limit,
            skip=skip,
            file_progress=file_progress,
            doc_progress=doc_progress,
            default_metadata=default_metadata,
            recursive=recursive,
            glob_pattern=glob_pattern,
            shuffle_files=shuffle_files,
        )

    def row_to_document(self, row: dict, file_path: str, index: int) -> Document | None:
        blob_id = row.get(self.id_key)
        if not blob_id:
            self.stat_update("skipped_no_blob_id")
            return None
        content = row.pop(self.text_key, None)
        if isinstance(content, bytes):
            try:
                content = content.decode(row.get("src_encoding") or "utf-8")
            except (UnicodeDecodeError, LookupError):
                self.stat_update("skipped_undecodable")
                return None
        if not content:
            self.stat_update("missing_content")
        metadata = (self.default_metadata or {}) | row
        metadata.setdefault("file_path", file_path)
        return Document(text=content or "", id=str(blob_id), metadata=metadata)


class SoftwareHeritageContentFetcher(PipelineStep):
    """Fill in the text of documents that carry a ``blob_id`` but no text, from Software Heritage's bucket.

    The Stack v2 and Stack-Edu publish ids only; the files live gzip-compressed at
    ``s3://softwareheritage/content/<blob_id>`` (public, anonymous access; needs ``s3fs``). Documents that
    already have text pass through untouched (``already_had_text``). A missing blob, a network error after
    the retries, a corrupt gzip stream or undecodable bytes drop the document and count ``fetch_error`` plus
    the specific reason (``fetch_not_found``, ``fetch_failed``, ``fetch_corrupt``, ``fetch_undecodable``).

    Args:
        base_url: where blobs live, ``<base_url><blob_id>``; any fsspec URL or local folder.
        storage_options: fsspec options; default ``{"anon": True}`` for ``s3://`` URLs.
        max_retries: retries after a failed read (not after a missing blob), with exponential backoff
            (default: ``curate.retry.SOFTWARE_HERITAGE``).
        backoff_seconds: wait before the first retry; doubled each time.
        blob_id_key: metadata key of the blob id (falls back to ``doc.id``).
    """

    name = "🌐 Software Heritage content"
    type = "📖 - READER"

    def __init__(
        self,
        base_url: str = "s3://softwareheritage/content/",
        storage_options: dict | None = None,
        max_retries: int = SOFTWARE_HERITAGE.attempts - 1,
        backoff_seconds: float = SOFTWARE_HERITAGE.first_wait_s,
        blob_id_key: str = "blob_id",
    ):
        super().__init__()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        if storage_options is None:
            storage_options = {"anon": True} if base_url.startswith("s3://") else {}
        self.storage_options = storage_options
        self.retry = replace(SOFTWARE_HERITAGE, attempts=max_retries + 1, first_wait_s=backoff_seconds)
        self.blob_id_key = blob_id_key
        self._fs = None
        self._root = ""

    def _filesystem(self):
        if self._fs is None:
            from fsspec.core import url_to_fs

            self._fs, self._root = url_to_fs(self.base_url, **self.storage_options)
        return self._fs

    def _fetch(self, blob_id: str) -> bytes | str:
        """The blob's decompressed bytes, or the name of the failure."""
        fs = self._filesystem()
        path = posixpath.join(self._root, blob_id)
        try:
            compressed = call_with_retries(
                lambda: fs.cat_file(path), retryable=transient_read_error, policy=self.retry
            )
        except FileNotFoundError:
            return "fetch_not_found"
        except Exception:  # network and server errors, once the retries are spent: counted
            return "fetch_failed"
        try:
            return gzip.decompress(compressed)
        except (OSError, EOFError):
            return "fetch_corrupt"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if doc.text:
                self.stat_update("already_had_text")
                yield doc
                continue
            blob_id = str(doc.metadata.get(self.blob_id_key) or doc.id)
            with self.track_time():
                fetched = self._fetch(blob_id)
            if isinstance(fetched, bytes):
                try:
                    doc.text = fetched.decode(doc.metadata.get("src_encoding") or "utf-8")
                except (UnicodeDecodeError, LookupError):
                    fetched = "fetch_undecodable"
            if isinstance(fetched, str):
                self.stat_update("fetch_error")
                self.stat_update(fetched)
                continue
            doc.metadata.setdefault("length_bytes", len(fetched))
            self.stat_update("fetched")
            yield doc
