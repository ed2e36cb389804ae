"""Annotation shards on disk: writing them, reading them back (latest answer per id), and skipping done ids.

Each run writes its own shards, ``<run_id>_<rank>.parquet`` (with a ``NNN_`` prefix when a shard rotates), so a
rerun never overwrites earlier work. ``read_annotations`` merges them: per id, the latest row with a score,
else the latest without an error, else the latest.
"""

from collections.abc import Iterable
from os import PathLike

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter
from loguru import logger

from curate.annotate.parsing import ERROR

ANNOTATION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("score", pa.float64()),
        ("int_score", pa.int64()),
        ("raw_response", pa.string()),
        ("null_reason", pa.string()),
        ("model", pa.string()),
        ("prompt_hash", pa.string()),
        ("mode", pa.string()),
        ("language", pa.string()),
        ("completion_tokens", pa.int64()),
    ]
)
# doc.metadata key for each column other than id and text
METADATA_KEYS = {
    "score": "score",
    "int_score": "int_score",
    "raw_response": "raw_response",
    "null_reason": "null_reason",
    "model": "annotation_model",
    "prompt_hash": "prompt_hash",
    "mode": "annotation_mode",
    "language": "language",
    "completion_tokens": "completion_tokens",
}


def annotation_row(writer: "AnnotationWriter", document: Document) -> dict:
    """The adapter: one flat row of ``ANNOTATION_SCHEMA`` per document."""
    row = {"id": str(document.id), "text": document.text}
    for column, key in METADATA_KEYS.items():
        row[column] = document.metadata.get(key)
    return row


class AnnotationWriter(ParquetWriter):
    """Writes annotated documents as flat Parquet rows (``ANNOTATION_SCHEMA``)."""

    name = "📝 Annotations"

    def __init__(self, output_folder: DataFolderLike, run_id: str, batch_size: int = 100, max_file_size: int = 2**26):
        """
        Args:
            output_folder: where the shards go (the same folder on every run: that is what resume reads).
            run_id: names this run's shards, so that reruns add shards instead of replacing them.
            batch_size: rows per Parquet row group.
            max_file_size: a shard is closed (and so readable if the run dies later) past this many bytes.
        """
        super().__init__(
            output_folder,
            output_filename=f"{run_id}_${{rank}}.parquet",
            adapter=annotation_row,
            batch_size=batch_size,
            max_file_size=max_file_size,
            schema=ANNOTATION_SCHEMA,
        )


def _shard_paths(folder) -> list[str]:
    return sorted(path for path in folder.list_files(glob_pattern="*.parquet") if "/logs/" not in f"/{path}")


def read_annotations(output_folder: DataFolderLike, columns: Iterable[str] | None = None) -> pa.Table:
    """All shards of an annotation folder merged, one row per id: the latest row with a score, else the latest
    without an error, else the latest (shards are ordered by name, i.e. by run id).

    Shards that cannot be read (a run killed before closing them) are skipped with a warning.
    """
    folder = get_datafolder(str(output_folder) if isinstance(output_folder, PathLike) else output_folder)
    wanted = list(columns) if columns is not None else ANNOTATION_SCHEMA.names
    read_columns = list(dict.fromkeys(["id", "score", "null_reason", *wanted]))
    tables = []
    for order, path in enumerate(_shard_paths(folder)):
        try:
            with folder.open(path, "rb") as file:
                table = pq.read_table(file, columns=read_columns)
        except (OSError, pa.ArrowException) as error:
            logger.warning(f"skipping unreadable annotation shard {path}: {error}")
            continue
        tables.append(table.append_column("_order", pa.array([order] * len(table), pa.int64())))
    if not tables:
        return ANNOTATION_SCHEMA.empty_table().select(wanted)
    merged = pa.concat_tables(tables)
    has_score = pa.compute.is_valid(merged["score"]).cast(pa.int8())
    # an error row is no answer: any other row of the same id, older or not, is preferred to it
    not_error = pa.compute.fill_null(pa.compute.not_equal(merged["null_reason"], ERROR), True).cast(pa.int8())
    merged = merged.append_column("_has_score", has_score).append_column("_not_error", not_error)
    merged = merged.append_column("_row", pa.array(range(len(merged)), pa.int64()))
    ranked = merged.sort_by(
        [
            ("id", "ascending"),
            ("_has_score", "descending"),
            ("_not_error", "descending"),
            ("_order", "descending"),
            ("_row", "descending"),
        ]
    )
    ids = ranked["id"].to_pylist()
    keep = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    return ranked.take(keep).select(wanted)


def finished_ids(output_folder: DataFolderLike, retry_unparsed: bool = False) -> set[str]:
    """Ids that need no new request: scored ones, and unparsed ones unless ``retry_unparsed``. ``error`` nulls
    (a request that failed) are never finished."""
    table = read_annotations(output_folder, columns=["id", "score", "null_reason"])
    done = set()
    for doc_id, score, reason in zip(*(table[c].to_pylist() for c in ("id", "score", "null_reason")), strict=True):
        if score is not None or (reason != ERROR and not retry_unparsed):
            done.add(doc_id)
    return done


class SkipAnnotated(PipelineStep):
    """Drops documents an earlier run already annotated (resume); each skip counts as ``already_annotated``."""

    name = "⏭️ Skip annotated"
    type = "🔻 - FILTER"

    def __init__(self, output_folder: DataFolderLike, retry_unparsed: bool = False):
        """
        Args:
            output_folder: the annotation folder earlier runs wrote to.
            retry_unparsed: also send again documents whose answer had no valid score line.
        """
        super().__init__()
        self.output_folder = output_folder
        self.retry_unparsed = retry_unparsed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        done = finished_ids(self.output_folder, self.retry_unparsed)
        for document in data:
            if str(document.id) in done:
                self.stat_update("already_annotated")
                continue
            yield document
