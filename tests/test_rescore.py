"""Rescoring an existing dataset, as FineWeb-Edu was made from FineWeb: the demo WARC run's own output, score
columns removed, goes back in as Parquet; only the ``score`` stage runs, on local, Slurm and Ray.

The input is every document the demo run scored: the rows it kept (its Parquet) and the rows its threshold removed
(``removed/edu_threshold``). Rescored, exactly the kept ids come out, with the same scores.
"""

import gzip
import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from recipe_runs import run_recipe

from curate.blocks.datasets import MissingColumnError
from curate.blocks.writers import FINEWEB_COLUMNS
from curate.config import load_recipe_config
from curate.recipes import RunPaths, build_stages

DUMP = "CC-MAIN-2024-10"  # the dump of the demo WARC


def parquet_rows(folder: Path) -> list[dict]:
    return [row for f in sorted(folder.rglob("*.parquet")) for row in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The fineweb_edu demo (the built-in sample WARC, offline models), once for this module."""
    out = tmp_path_factory.mktemp("demo")
    assert run_recipe(load_recipe_config("fineweb_edu", ["tasks=2", "workers=1"]), out) == 0
    return out


@pytest.fixture(scope="module")
def kept(demo_run) -> dict[str, dict]:
    rows = {row["id"]: row for row in parquet_rows(demo_run / "data")}
    assert rows and all(row["int_score"] >= 3 for row in rows.values())
    return rows


@pytest.fixture(scope="module")
def rescore_input(demo_run, kept, tmp_path_factory) -> Path:
    """FineWeb-shaped Parquet of every document the demo scored, without its score columns, in small row groups
    (so that several tasks share the one file)."""
    rows = [{k: v for k, v in row.items() if k not in ("score", "int_score")} for row in kept.values()]
    below = 0
    for f in (demo_run / "removed" / "edu_threshold").glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as lines:
            for line in lines:
                doc = json.loads(line)
                fields = {"text": doc["text"], "id": doc["id"], **doc["metadata"]}
                rows.append({column: fields.get(column) for column in FINEWEB_COLUMNS})
                below += 1
    assert below, "the demo's threshold must remove documents, or keeping exactly the right ones proves nothing"
    folder = tmp_path_factory.mktemp("fineweb") / "data" / DUMP
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(FINEWEB_COLUMNS.items())))
    pq.write_table(table, folder / "000_00000.parquet", row_group_size=16)
    return folder.parent


def rescore_config(source: Path, *extra: str):
    return load_recipe_config(
        "fineweb_edu", [f"input={source}", "offline=true", "tasks=3", "workers=1", "slurm.wait=true", *extra]
    )


def assert_same_selection(out: Path, kept: dict[str, dict]) -> None:
    rows = {row["id"]: row for row in parquet_rows(out / "data")}
    assert set(rows) == set(kept)
    for doc_id, row in rows.items():
        assert row["score"] == pytest.approx(kept[doc_id]["score"], abs=1e-3)
        assert row["int_score"] == kept[doc_id]["int_score"]
        # every source column is kept, and the dump names the folder, as in FineWeb-Edu
        assert {k: row[k] for k in FINEWEB_COLUMNS} == {k: kept[doc_id][k] for k in FINEWEB_COLUMNS}
    assert {p.name for p in (out / "data").iterdir()} == {DUMP}
    schema = pq.read_schema(next((out / "data").rglob("*.parquet")))
    assert schema.names == [*FINEWEB_COLUMNS, "score", "int_score"]


@pytest.fixture(scope="module")
def local_rescore(rescore_input, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rescored-local")
    assert run_recipe(rescore_config(rescore_input), out) == 0
    return out


def test_dataset_input_runs_the_score_stage_only(rescore_input):
    stages = build_stages(rescore_config(rescore_input), RunPaths("out", "out/logs"))
    assert [stage.name for stage in stages] == ["score"]


def test_warc_run_scores_in_its_own_last_stage(demo_run):
    stages = build_stages(load_recipe_config("fineweb_edu", []), RunPaths("out", "out/logs"))
    assert [stage.name for stage in stages][-2:] == ["select", "score"]
    assert (demo_run / "stats" / "score.json").is_file()


def test_local_rescore_keeps_exactly_the_warc_runs_selection(local_rescore, kept, rescore_input):
    assert_same_selection(local_rescore, kept)
    # three tasks shared the one input file, each reading its own row groups
    n_groups = pq.ParquetFile(next(rescore_input.rglob("*.parquet"))).metadata.num_row_groups
    per_task = [
        json.loads(f.read_text())[0]["stats"].get("row_groups", 0)
        for f in sorted((local_rescore / "logs" / "score" / "stats").glob("*.json"))
    ]
    assert len(per_task) == 3 and all(per_task) and sum(per_task) == n_groups


def test_rows_without_text_name_the_column_and_the_file(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    pq.write_table(pa.table({"content": ["x"], "id": ["1"], "dump": [DUMP]}), source / "part-7.parquet")
    with pytest.raises(MissingColumnError, match=r"part-7\.parquet: no column 'text'"):
        list(build_stages(rescore_config(source), RunPaths(str(tmp_path), str(tmp_path)))[0].pipeline[0].run())


def task_logs(out: Path) -> str:
    return "".join(f.read_text() for f in sorted((out / "logs" / "score" / "logs").glob("task_*.log")))


def visible_devices(logs: str) -> list[str]:
    """The CUDA_VISIBLE_DEVICES each task logged when its scorer loaded the model."""
    marker = "CUDA_VISIBLE_DEVICES="
    return [line.split(marker)[1].split(")")[0] for line in logs.splitlines() if marker in line]


def gpus_per_job(job_id: str) -> list[str]:
    """The GPUs of each task of a job array as ``scontrol`` shows them (``TresPerJob``; "" for none). Without an
    accounting database Slurm keeps no per-job TRES record of gres, so the task's own CUDA_VISIBLE_DEVICES, which
    Slurm sets only for an allocated GPU, is checked alongside."""
    shown = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True, check=True)
    return [next((f for f in line.split() if f.startswith("TresPerJob=")), "") for line in shown.stdout.splitlines()]


@pytest.mark.slurm
def test_slurm_rescore_gives_only_the_score_tasks_a_gpu_and_the_local_rows(
    slurm_cluster, rescore_input, local_rescore, kept, tmp_path
):
    from curate.executors import build_executors, run_stages

    cfg = rescore_config(rescore_input, "stages.score.slurm.gpus_per_task=1")
    out = tmp_path / "slurm"
    paths = RunPaths(str(out), str(out / "logs"))
    (score,) = build_executors(build_stages(cfg, paths), "slurm", cfg, paths)
    assert run_stages([score], "slurm", cfg) is True
    assert parquet_rows(out / "data") and sorted(map(str, parquet_rows(out / "data"))) == sorted(
        map(str, parquet_rows(local_rescore / "data"))
    )
    assert_same_selection(out, kept)
    # Slurm allocated one of the node's two (placeholder) GPUs to each of the 3 score tasks (the CPU stages'
    # sbatch scripts ask for none: test_executors.py; a job asking none gets none: test_slurm_gres.py)
    assert gpus_per_job(str(score.job_id)) == ["TresPerJob=gres:gpu:1"] * 3
    # and none to the job that merges the stage's stats (datatrove would give it the stage's GPUs), which the run
    # waited for too: its merged stats are there when it returns
    assert gpus_per_job(score.merge_job_id) == [""]
    assert (out / "logs" / "score" / "stats.json").is_file()
    # each task saw its GPU in its own environment (and, having no CUDA, scored on the CPU)
    visible = visible_devices(task_logs(out))
    assert len(visible) == 3 and set(visible) <= {"0", "1"}


def test_ray_rescore_gives_the_local_rows_and_each_task_its_gpu(rescore_input, local_rescore, kept, tmp_path):
    import ray

    # STAND-IN: Ray is told the machine has 2 GPUs (it has none); Ray then schedules and sets CUDA_VISIBLE_DEVICES
    # for tasks asking one, as on a GPU node. The model still runs on the CPU (no CUDA here).
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False)
    try:
        out = tmp_path / "ray"
        cfg = rescore_config(rescore_input, "stages.score.ray.gpus_per_task=1")
        assert run_recipe(cfg, out, "ray") == 0
    finally:
        ray.shutdown()
    assert_same_selection(out, kept)
    visible = visible_devices(task_logs(out))
    assert len(visible) == 3 and set(visible) <= {"0", "1"}
