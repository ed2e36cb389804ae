"""ScoreThreshold: keeps int_score >= 3 by default (FineWeb-Edu), counts every drop with its reason."""

import inspect
import json

from datatrove.data import Document
from datatrove.pipeline.writers.jsonl import JsonlWriter

from curate.blocks.threshold import ScoreThreshold


def docs(*metadatas: dict) -> list[Document]:
    return [Document(text=f"page {i}", id=str(i), metadata=dict(m)) for i, m in enumerate(metadatas)]


def test_default_is_the_fineweb_edu_threshold_on_int_score():
    defaults = inspect.signature(ScoreThreshold).parameters
    assert defaults["threshold"].default == 3
    assert defaults["key"].default == "int_score"


def test_keeps_at_and_above_threshold_and_drops_below():
    block = ScoreThreshold()
    kept = list(block.run(iter(docs(*({"int_score": s} for s in range(6))))))
    assert [d.metadata["int_score"] for d in kept] == [3, 4, 5]
    assert block.filter(docs({"int_score": 2})[0]) == (False, "below_threshold")
    assert block.stats["dropped_below_threshold"].total == 3
    assert block.stats["forwarded"].total == 3


def test_missing_and_invalid_scores_are_dropped_with_their_reason():
    block = ScoreThreshold()
    data = docs({}, {"int_score": None}, {"int_score": "high"}, {"int_score": float("nan")}, {"int_score": 4})
    kept = list(block.run(iter(data)))
    assert [d.id for d in kept] == ["4"]
    assert block.filter(docs({"score": 4.2})[0]) == (False, "missing_score")
    assert block.stats["dropped_missing_score"].total == 2
    assert block.stats["dropped_invalid_score"].total == 2


def test_other_key_and_threshold_serve_several_selections_from_one_scoring():
    scored = docs({"score": 2.4, "int_score": 2}, {"score": 3.6, "int_score": 4}, {"score": 1.4, "int_score": 1})
    assert [d.id for d in ScoreThreshold(threshold=2)(iter(scored))] == ["0", "1"]
    assert [d.id for d in ScoreThreshold(threshold=2.5, key="score")(iter(scored))] == ["1"]


def test_dropped_documents_go_to_the_exclusion_writer(tmp_path):
    block = ScoreThreshold(exclusion_writer=JsonlWriter(str(tmp_path), compression=None))
    kept = list(block.run(iter(docs({"int_score": 1}, {"int_score": 5}, {}))))
    assert [d.id for d in kept] == ["1"]
    written = [json.loads(line) for line in (tmp_path / "00000.jsonl").read_text().splitlines()]
    assert [(row["id"], row["metadata"]["filter_reason"]) for row in written] == [
        ("0", "below_threshold"),
        ("2", "missing_score"),
    ]


def test_per_group_threshold_overrides_the_default_for_that_group():
    block = ScoreThreshold(threshold=3, per_group={"Java": 2})
    batch = docs(
        {"int_score": 2, "language": "Java"},
        {"int_score": 2, "language": "Python"},
        {"int_score": 1, "language": "Java"},
        {"int_score": 3, "language": "Python"},
    )
    kept = [(d.metadata["language"], d.metadata["int_score"]) for d in block.run(iter(batch))]
    assert kept == [("Java", 2), ("Python", 3)]
