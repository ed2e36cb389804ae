"""The stack_edu recipe on the 795 real code files of ../shared/data/code, with tiny RANDOM BERT classifiers
built here (stand-ins for the published per-language classifiers, which cannot be downloaded in tests)."""

import gzip
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
from recipe_runs import run_recipe
from tiny_models import tiny_bert

from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.config import load_recipe_config
from curate.languages import CLASSIFIERS, LANGUAGES
from curate.recipes import RunPaths, build_stages


def test_published_defaults(tmp_path):
    cfg = load_recipe_config("stack_edu", ["offline=false", f"input={tmp_path}"])
    select, stage = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))
    assert (select.name, stage.name) == ("select", "score")
    names = [type(s).__name__ for s in select.pipeline]
    assert "MaxLineLengthFilter" not in names  # Stack-Edu applied no extra filters to StarCoder2Data
    scorer = next(s for s in stage.pipeline if isinstance(s, EduClassifierScorer))
    assert scorer.max_length == 1024
    assert scorer.group_key == "language" and scorer.model == CLASSIFIERS
    threshold = next(s for s in stage.pipeline if isinstance(s, ScoreThreshold))
    assert threshold.threshold == 3 and threshold.per_group == {"Java": 2}
    assert len(LANGUAGES) == 15


@pytest.fixture(scope="module")
def run(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack_edu")
    # head constant 2.4 -> int_score 2: Java (threshold 2) is kept, every other language (threshold 3) removed
    model = tiny_bert(tmp / "model", bias=2.4, max_positions=1024)
    cfg = load_recipe_config(
        "stack_edu",
        [
            f"input={shared_data / 'code'}",
            "offline=false",
            f"scorer.model={model}",
            "tasks=2",
            "workers=1",
            "slurm.wait=true",
        ],
    )
    out = tmp / "out"
    assert run_recipe(cfg, out) == 0
    return out, cfg


def test_every_real_file_is_routed_and_thresholded_per_language(run, shared_data):
    run, _ = run
    manifest = [json.loads(line) for line in (shared_data / "code" / "manifest.jsonl").read_text().splitlines()]
    expected = Counter(row["language"] for row in manifest)
    kept = [r for f in (run / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist()]
    removed = []
    for f in (run / "removed" / "threshold").glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            removed += [json.loads(line) for line in fh]
    assert {r["language"] for r in kept} == {"Java"}
    assert all(r["int_score"] == 2 for r in kept)
    seen = Counter(r["language"] for r in kept) + Counter(r["metadata"]["language"] for r in removed)
    # nothing lost: each file is in data/, in removed/threshold/, or a counted reader skip (the flattened file
    # names of ../shared/data/code hide some extensions; manifest.jsonl itself is the one extra skip)
    (reader,) = [s for s in json.loads((run / "stats" / "select.json").read_text()) if "READER" in s["name"]]
    skipped = reader["stats"]["skipped_unknown_language"]["total"]
    assert all(seen[lang] <= n for lang, n in expected.items())
    assert sum(expected.values()) - sum(seen.values()) == skipped - 1
    assert sum(seen.values()) > 0.95 * sum(expected.values())
    assert {p.name for p in (run / "data").iterdir()} == {"Java"}
    row = kept[0]
    assert len(row["blob_id"]) == 40 and row["path"] and row["repo_name"] and row["length_bytes"] > 0


def _scored(out) -> list[tuple]:
    rows = [r for f in (out / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist()]
    return sorted((r["language"], r["blob_id"], r["path"], r["score"]) for r in rows)


@pytest.mark.parametrize("executor", [pytest.param("slurm", marks=pytest.mark.slurm), "ray"])
def test_slurm_and_ray_give_the_local_output(executor, run, request, tmp_path):
    local_out, cfg = run
    if executor == "slurm":
        request.getfixturevalue("slurm_cluster")
    out = tmp_path / executor
    try:
        assert run_recipe(cfg, out, executor) == 0
    finally:
        if executor == "ray":
            import ray

            ray.shutdown()
    assert _scored(out) == _scored(local_out)
