"""FlatParquetWriter: flat Hub columns with one schema for every shard, shards split by size, names from metadata."""

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS, FlatParquetWriter


def _docs(n: int) -> list[Document]:
    return [
        Document(
            text=f"document number {i} " * 40,
            id=f"id-{i}",
            metadata={"dump": "CC-MAIN-2024-10" if i % 2 else "CC-MAIN-2023-50", "url": f"https://x.example/{i}"}
            | ({"score": 3.2, "int_score": 3} if i % 3 else {}),
        )
        for i in range(n)
    ]


def test_shards_split_by_size_per_dump_with_one_schema(tmp_path):
    writer = FlatParquetWriter(
        str(tmp_path), columns=FINEWEB_COLUMNS | SCORE_COLUMNS, max_file_size=4000, batch_size=10
    )
    with writer:
        for doc in _docs(200):
            writer.write(doc, rank=0)
    files = sorted(tmp_path.rglob("*.parquet"))
    assert {f.parent.name for f in files} == {"CC-MAIN-2024-10", "CC-MAIN-2023-50"}
    assert len(files) > 2  # size-based splitting happened
    schema = pa.schema(list((FINEWEB_COLUMNS | SCORE_COLUMNS).items()))
    rows = []
    for f in files:
        table = pq.read_table(f)
        assert table.schema.equals(schema, check_metadata=False)
        rows += table.to_pylist()
    assert sorted(r["id"] for r in rows) == sorted(f"id-{i}" for i in range(200))
    assert all((r["score"] is None) == (int(r["id"][3:]) % 3 == 0) for r in rows)  # missing keys are nulls


def test_aliases_map_document_fields_to_other_column_names(tmp_path):
    writer = FlatParquetWriter(
        str(tmp_path),
        columns={"blob_id": pa.string(), "content": pa.string(), "url": pa.string()},
        output_filename="${rank}.parquet",
        aliases={"blob_id": "id", "content": "text"},
    )
    with writer:
        writer.write(_docs(1)[0], rank=0)
    (row,) = pq.read_table(next(tmp_path.rglob("*.parquet"))).to_pylist()
    assert row == {"blob_id": "id-0", "content": "document number 0 " * 40, "url": "https://x.example/0"}
