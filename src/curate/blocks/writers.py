"""Parquet output with flat, fixed-schema columns, ready for the Hugging Face Hub."""

from typing import Any

import pyarrow as pa
from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers import ParquetWriter

# FineWeb-Edu's published columns (dataset card); score columns appear once a scorer ran.
FINEWEB_COLUMNS: dict[str, pa.DataType] = {
    "text": pa.string(),
    "id": pa.string(),
    "dump": pa.string(),
    "url": pa.string(),
    "date": pa.string(),
    "file_path": pa.string(),
    "language": pa.string(),
    "language_score": pa.float64(),
    "token_count": pa.int64(),
}
SCORE_COLUMNS: dict[str, pa.DataType] = {"score": pa.float64(), "int_score": pa.int64()}


class FlatParquetWriter(ParquetWriter):
    """Writes ``text``, ``id`` and chosen metadata keys as top-level Parquet columns with one schema for all shards.

    Args:
        output_folder: where the shards go (e.g. ``<output>/data``)
        columns: column name -> pyarrow type; ``text`` and ``id`` come from the document, the rest from metadata
        aliases: column name -> where its value comes from when the names differ (e.g. ``{"blob_id": "id"}``)
        output_filename: shard name template; ``${dump}`` etc. are filled from metadata, ``${rank}`` is the task
        max_file_size: bytes per shard before a new one starts (checked after each row group)
        batch_size: documents per Parquet row group
        compression: Parquet compression codec
    """

    name = "🗂 Flat Parquet"

    def __init__(
        self,
        output_folder: DataFolderLike,
        columns: dict[str, pa.DataType] = FINEWEB_COLUMNS,
        output_filename: str = "${dump}/${rank}.parquet",
        max_file_size: int = 2 * 2**30,
        compression: str | None = "zstd",
        aliases: dict[str, str] | None = None,
        batch_size: int = 1000,
    ):
        self.columns = dict(columns)
        self.sources = {column: (aliases or {}).get(column, column) for column in self.columns}
        super().__init__(
            output_folder,
            output_filename=output_filename,
            compression=compression,
            adapter=_flat_adapter,
            max_file_size=max_file_size,
            batch_size=batch_size,
            schema=pa.schema(list(self.columns.items())),
        )


def _flat_adapter(writer: FlatParquetWriter, document: Document) -> dict[str, Any]:
    fields = {"text": document.text, "id": document.id}
    return {
        column: fields[source] if source in fields else document.metadata.get(source)
        for column, source in writer.sources.items()
    }
