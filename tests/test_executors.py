"""The recipe on local and real Slurm executors: same output, resume after a failed task, nothing lost."""

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from recipe_runs import run_recipe

from curate.config import load_recipe_config

TESTS = Path(__file__).resolve().parent


def _config(shared_data: Path, *extra: str):
    return load_recipe_config(
        "fineweb_edu",
        [f"input={shared_data / 'warc'}", "offline=true", "tasks=2", "workers=1", "slurm.wait=true", *extra],
    )


def _rows(out: Path) -> list[tuple]:
    files = sorted((out / "data").rglob("*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return sorted((r["id"], r["text"], r["score"], r["dump"]) for r in rows)


def _removed_ids(out: Path) -> set[str]:
    import gzip
    import json

    ids = set()
    for f in (out / "removed").rglob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            ids |= {json.loads(line)["id"] for line in fh}
    return ids


@pytest.fixture(scope="module")
def local_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    assert run_recipe(_config(shared_data), out) == 0
    rows = _rows(out)
    assert rows, "the real WARCs must yield English documents that pass the FineWeb filters"
    return out, rows


def test_local_run_writes_hub_layout_and_stats(local_run):
    out, rows = local_run
    dumps = {p.name for p in (out / "data").iterdir()}
    assert {r[3] for r in rows} == dumps
    for stage in ("filter", "minhash_signatures", "minhash_buckets", "minhash_clusters", "select", "score"):
        assert (out / "stats" / f"{stage}.json").is_file()
    assert (out / "run.json").is_file()


def test_local_failed_task_resumes_to_identical_output(shared_data, local_run, tmp_path):
    _, expected = local_run
    out, marker = tmp_path / "out", tmp_path / "failed-once"
    cfg = _config(shared_data)
    assert run_recipe(cfg, out, fail_marker=marker) == 1  # the injected failure stops the run
    assert marker.exists()
    assert not any((out / "logs" / "score" / "completions").glob("00001"))
    assert run_recipe(cfg, out, fail_marker=marker) == 0  # same command again: only the missing task runs
    assert _rows(out) == expected


@pytest.mark.slurm
def test_slurm_matches_local(shared_data, local_run, slurm_cluster, tmp_path):
    _, expected = local_run
    out = tmp_path / "slurm"
    assert run_recipe(_config(shared_data), out, executor="slurm") == 0
    assert _rows(out) == expected
    assert list((out / "logs" / "slurm").rglob("*.out")), "jobs ran through sbatch"


@pytest.mark.slurm
def test_slurm_failed_task_rerun_loses_and_duplicates_nothing(
    shared_data, local_run, slurm_cluster, tmp_path, monkeypatch
):
    out_local, expected = local_run
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    out, marker = tmp_path / "slurm", tmp_path / "failed-once"
    cfg = _config(shared_data)
    assert run_recipe(cfg, out, executor="slurm", fail_marker=marker) == 1
    assert marker.exists()
    assert run_recipe(cfg, out, executor="slurm", fail_marker=marker) == 0
    rows = _rows(out)
    assert rows == expected
    assert len({r[0] for r in rows}) == len(rows)
    assert _removed_ids(out) == _removed_ids(out_local)
