"""Read an existing dataset (Parquet or JSON Lines files) split among tasks by file and by Parquet row group.

datatrove's ParquetReader gives each task whole files, so 128 tasks over one 2 GB Parquet file leave 127 idle.
Here every Parquet row group (and every JSON Lines file) has a place on a line of ``n_files`` units: row group
``g`` of the ``G`` in file ``f`` sits at ``f + (g + 0.5) / G``, and task ``r`` of ``w`` reads what lies in
``[r * n / w, (r + 1) * n / w)``. With more files than tasks this gives each task whole files, as datatrove does;
with fewer, the tasks of one file share its row groups. A task opens only the files its span touches, so no task
reads every file's footer, and the split depends on nothing but the listing: a rerun gives each task the same rows.
"""

import json
from collections.abc import Iterator

import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFileLike, DataFolderLike
from datatrove.utils.logging import logger

from curate.blocks.input_files import CheckedDiskReader, text_path

DATASET_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".jsonl.zst")
PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SCHEMA_SAMPLE_ROWS = 1000


class MissingColumnError(ValueError):
    """A dataset file lacks a column the pipeline needs; the message names the column and the file."""


def task_files(n_files: int, rank: int, world_size: int) -> range:
    """The indices of the files whose units task ``rank`` may read: those its span of the line touches."""
    first = rank * n_files // world_size
    end = -(-(rank + 1) * n_files // world_size)  # ceil
    return range(first, min(end, n_files))


def task_units(file_index: int, n_files: int, n_units: int, rank: int, world_size: int) -> list[int]:
    """The units (row groups) of one file that belong to task ``rank``: exactly one task owns each unit."""
    scale = 2 * n_files * n_units
    return [unit for unit in range(n_units) if (2 * file_index * n_units + 2 * unit + 1) * world_size // scale == rank]


def parquet_schema(stream) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.ParquetFile(stream).schema_arrow


class DatasetReader(CheckedDiskReader):
    """Read the rows of Parquet and JSON Lines (plain, gzip or zstd) files as Documents, keeping every column.

    Each row becomes ``Document(text=row[text_key], id=row[id_key], metadata=<every other column>)``; a file
    without ``id_key`` gets ids ``<file>/<row number in the file>``, the same whatever the task count. The format
    is told by content (Parquet's magic bytes), not by name. Tasks split the input by file and row group (see the
    module docstring). A file that lacks one of ``required_columns`` (a JSON line that lacks one) stops the task
    with a :class:`MissingColumnError` naming the column and the file. Counted skips: ``skipped_null_<text_key>``
    (the column is there, the value is null) and ``skipped_invalid_json``, plus the bad entries of
    ``CheckedDiskReader``. Files whose names end otherwise than ``suffixes`` are left out of the listing (a Hub
    dataset's README.md and .gitattributes), counted once as ``ignored_files``. Stats: ``row_groups`` read.

    Args:
        data_folder: folder, or fsspec URL (``s3://``, ``hf://datasets/...``), holding the files.
        text_key: column holding the text.
        id_key: column holding the document id.
        required_columns: columns every row must have (default: ``text_key``).
        batch_size: Parquet rows converted at a time.
        suffixes: file name endings to read (None: every file).
        paths_file, limit, skip, file_progress, doc_progress, default_metadata, recursive, glob_pattern,
        shuffle_files: as in datatrove's BaseDiskReader.
    """

    name = "🗃 Dataset"
    _requires_dependencies = ["pyarrow"]

    def __init__(
        self,
        data_folder: DataFolderLike,
        text_key: str = "text",
        id_key: str = "id",
        required_columns: tuple[str, ...] | list[str] | None = None,
        batch_size: int = 1000,
        suffixes: tuple[str, ...] | None = DATASET_SUFFIXES,
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
            text_key=text_key,
            id_key=id_key,
            default_metadata=default_metadata,
            recursive=recursive,
            glob_pattern=glob_pattern,
            shuffle_files=shuffle_files,
        )
        self.required_columns = tuple((text_key,) if required_columns is None else required_columns)
        self.batch_size = batch_size
        self.suffixes = tuple(suffixes) if suffixes else None
        self._file_index: dict[str, int] = {}
        self._task = (0, 1, 1)  # (rank, world_size, number of files)
        self._ignored = 0

    def _listing(self) -> list[str] | None:
        names = super()._listing()
        if names is None or self.suffixes is None:
            return names
        kept = [name for name in names if name.endswith(self.suffixes)]
        self._ignored = len(names) - len(kept)
        return kept or None

    def _shard(self, rank: int, world_size: int) -> list[str] | None:
        names = self._listing()
        if names is None:
            return None
        if rank == 0 and self._ignored:
            self.stat_update("ignored_files", value=self._ignored)  # counted by one task, not by all of them
        self._task = (rank, world_size, len(names))
        self._file_index = {self._input_path(name): i for i, name in enumerate(names)}
        return [names[i] for i in task_files(len(names), rank, world_size)]

    def read_file(self, filepath: str) -> DocumentsPipeline:
        listed_fault = self._listing_faults is not None and self._listing_faults.get(filepath)
        if listed_fault and not self._units(self._input_path(filepath), 1):
            return iter(())  # a bad entry is counted once, by the task whose span holds its middle
        return super().read_file(filepath)

    def _units(self, filepath: str, n_units: int) -> list[int]:
        rank, world_size, n_files = self._task
        return task_units(self._file_index.get(filepath, 0), n_files, n_units, rank, world_size)

    def read_input(self, filepath: str) -> DocumentsPipeline:
        file_path = text_path(self.data_folder.resolve_paths(filepath))
        for index, row in self._rows(filepath, file_path):
            document = self.row_to_document(row, file_path, index)
            if document is not None:
                yield document

    def row_to_document(self, row: dict, file_path: str, index: int) -> Document | None:
        """The Document of one row (``index``: its row number in the file), or None for a counted skip."""
        text = row.pop(self.text_key, None)
        if text is None:
            self.stat_update(f"skipped_null_{self.text_key}")
            return None
        doc_id = row.pop(self.id_key, None)
        metadata = (self.default_metadata or {}) | row
        metadata.setdefault("file_path", file_path)
        return Document(text=text, id=str(doc_id) if doc_id is not None else f"{file_path}/{index}", metadata=metadata)

    def _rows(self, filepath: str, file_path: str) -> Iterator[tuple[int, dict]]:
        """``(row number, row)`` of this task's part of one file."""
        with self.data_folder.open(filepath, "rb") as raw:
            magic = raw.read(4)
            raw.seek(0)
            if magic == PARQUET_MAGIC:
                yield from self._parquet_rows(raw, filepath, file_path)
                return
        if not self._units(filepath, 1):
            return  # a JSON Lines file is one unit, read by one task
        compression = "gzip" if magic.startswith(_GZIP_MAGIC) else "zstd" if magic == _ZSTD_MAGIC else None
        with self.data_folder.open(filepath, "rt", compression=compression, encoding="utf-8") as f:
            yield from self._jsonl_rows(f, file_path)

    def _parquet_rows(self, stream, filepath: str, file_path: str) -> Iterator[tuple[int, dict]]:
        import pyarrow.parquet as pq

        with pq.ParquetFile(stream) as parquet_file:
            self._check_columns(parquet_file.schema_arrow.names, file_path)
            metadata = parquet_file.metadata
            starts = [0]
            for group in range(metadata.num_row_groups):
                starts.append(starts[-1] + metadata.row_group(group).num_rows)
            for group in self._units(filepath, metadata.num_row_groups):
                self.stat_update("row_groups")
                index = starts[group]
                for batch in parquet_file.iter_batches(batch_size=self.batch_size, row_groups=[group]):
                    for row in batch.to_pylist():
                        yield index, row
                        index += 1

    def _jsonl_rows(self, f, file_path: str) -> Iterator[tuple[int, dict]]:
        index = 0
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict):
                self.stat_update("skipped_invalid_json")
                continue
            self._check_columns(row, f"{file_path}, line {line_number}")
            yield index, row
            index += 1

    def _check_columns(self, columns, where: str) -> None:
        for column in self.required_columns:
            if column not in columns:
                found = ", ".join(sorted(columns)[:20]) or "none"
                raise MissingColumnError(f"{where}: no column {column!r}, which this pipeline needs (found: {found})")


def source_schema(data_folder: DataFolderLike, filepath: str) -> pa.Schema:
    """The columns of a dataset file: a Parquet file's own schema, or the types of a JSON Lines file's first rows
    (a column that is null in all of them is read as a string)."""
    from datatrove.io import get_datafolder

    folder = get_datafolder(data_folder)
    with folder.open(filepath, "rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic == PARQUET_MAGIC:
            return parquet_schema(raw)
    compression = "gzip" if magic.startswith(_GZIP_MAGIC) else "zstd" if magic == _ZSTD_MAGIC else None
    rows = []
    with folder.open(filepath, "rt", compression=compression, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= _SCHEMA_SAMPLE_ROWS:
                break
    schema = pa.Table.from_pylist(rows).schema
    fields = [field.with_type(pa.string()) if pa.types.is_null(field.type) else field for field in schema]
    if not fields:
        logger.warning(f"{filepath}: no rows to take the columns from")
    return pa.schema(fields)
