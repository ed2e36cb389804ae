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


def _jobs_writing_under(folder: Path) -> list[str]:
    """The ids of the Slurm jobs whose log files are under ``folder`` (the ones a test submitted)."""
    import subprocess

    lines = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout.splitlines()
    return [line.split()[0].split("=")[1] for line in lines if f"StdOut={folder}" in line]


@pytest.mark.slurm
def test_slurm_stage_settings_reach_only_that_stage_sbatch_script(slurm_cluster, tmp_path):
    import subprocess

    from curate.executors import build_executors, run_stages
    from curate.recipes import RunPaths, build_stages

    cfg = load_recipe_config(
        "fineweb_edu",
        [
            "tasks=2",
            "slurm.sbatch_args={hold: ''}",  # submitted held: the jobs are real, none of them runs
            "stages.score.slurm.partition=debug,debug",  # a partition list: the cluster has one
            "stages.score.slurm.time=00:30:00",
            "stages.score.slurm.cpus_per_task=2",
        ],
    )
    paths = RunPaths(str(tmp_path / "out"), str(tmp_path / "logs"))
    stages = build_stages(cfg, paths)
    try:
        assert run_stages(build_executors(stages, "slurm", cfg, paths), "slurm", cfg) is False  # submitted
        scripts = {s.name: (tmp_path / "logs" / s.name / "launch_script.slurm").read_text() for s in stages}
    finally:
        submitted = _jobs_writing_under(tmp_path / "logs")
        subprocess.run(["scancel", *submitted], check=False)
    assert len(submitted) == 2 * len(stages)  # each stage's job and its stats-merging job
    own = scripts.pop("score").splitlines()
    assert {"#SBATCH --partition=debug,debug", "#SBATCH --time=00:30:00", "#SBATCH --cpus-per-task=2"} <= set(own)
    assert "#SBATCH --hold" in own and not any(line.startswith("#SBATCH --gpus") for line in own)
    for name, script in scripts.items():
        lines = script.splitlines()
        assert {"#SBATCH --partition=debug", "#SBATCH --time=04:00:00", "#SBATCH --cpus-per-task=1"} <= set(lines), (
            name
        )
        assert not any(line.startswith("#SBATCH --gpus") for line in lines), name


def test_ray_gets_each_stage_own_resources_and_gpus_only_where_asked(tmp_path):
    from curate.executors import build_executors
    from curate.recipes import RunPaths, build_stages

    cfg = load_recipe_config(
        "finemath",
        [
            "ray.cpus_per_task=2",
            "stages.score.ray.gpus_per_task=1",
            "stages.select_domains.ray.mem_per_cpu_gb=8",
        ],
    )
    paths = RunPaths(str(tmp_path / "out"), str(tmp_path / "logs"))
    stages = build_stages(cfg, paths)
    executors = dict(zip([s.name for s in stages], build_executors(stages, "ray", cfg, paths), strict=True))
    asked = {name: (e.cpus_per_task, e.mem_per_cpu_gb, e.gpus_per_task) for name, e in executors.items()}
    assert asked.pop("score") == (2, 2, 1)
    assert asked.pop("select_domains") == (2, 8, 0)
    assert set(asked.values()) == {(2, 2, 0)}  # CPU stages never ask for a GPU
