"""Dataset input: Parquet and JSON Lines files read as Documents, split among tasks by file and row group."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.blocks.datasets import DatasetReader, MissingColumnError, task_files, task_units


def write_parquet(path, n_rows: int, row_group_size: int, first_id: int = 0) -> None:
    ids = [f"doc-{first_id + i}" for i in range(n_rows)]
    table = pa.table({"text": [f"text of {i}" for i in ids], "id": ids, "dump": ["CC-MAIN-2024-10"] * n_rows})
    pq.write_table(table, path, row_group_size=row_group_size)


def read_all(folder, world_size: int, **kwargs) -> list[list[str]]:
    """The ids each task of ``world_size`` reads."""
    return [
        [doc.id for doc in DatasetReader(str(folder), **kwargs).run(rank=r, world_size=world_size)]
        for r in range(world_size)
    ]


@pytest.mark.parametrize("n_files,n_groups,world_size", [(1, 8, 4), (1, 3, 8), (3, 4, 2), (5, 2, 3), (2, 5, 7)])
def test_every_row_group_has_exactly_one_task(n_files, n_groups, world_size):
    owners = {}
    for rank in range(world_size):
        for f in task_files(n_files, rank, world_size):
            for unit in task_units(f, n_files, n_groups, rank, world_size):
                assert (f, unit) not in owners, f"row group {(f, unit)} read by tasks {owners[(f, unit)]} and {rank}"
                owners[(f, unit)] = rank
    assert len(owners) == n_files * n_groups


def test_tasks_split_one_parquet_file_by_row_group(tmp_path):
    write_parquet(tmp_path / "000.parquet", n_rows=80, row_group_size=10)
    shards = read_all(tmp_path, world_size=4)
    assert [len(s) for s in shards] == [20, 20, 20, 20]  # 8 row groups, 2 per task
    assert sorted(sum(shards, [])) == sorted(f"doc-{i}" for i in range(80))


def test_every_column_is_kept_and_ids_come_from_the_source(tmp_path):
    write_parquet(tmp_path / "000.parquet", n_rows=3, row_group_size=10)
    doc = next(DatasetReader(str(tmp_path)).run(rank=0, world_size=1))
    assert (doc.id, doc.text) == ("doc-0", "text of doc-0")
    assert doc.metadata["dump"] == "CC-MAIN-2024-10"


def test_jsonl_gz_and_parquet_in_one_folder_other_files_ignored(tmp_path):
    write_parquet(tmp_path / "a.parquet", n_rows=4, row_group_size=2)
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        for i in range(3):
            f.write(json.dumps({"text": f"t{i}", "url": f"https://x/{i}"}) + "\n")
    (tmp_path / "README.md").write_text("# a dataset card, not data\n")
    reader = DatasetReader(str(tmp_path))
    docs = list(reader.run(rank=0, world_size=1))
    assert len(docs) == 7
    jsonl = [d for d in docs if "url" in d.metadata]
    assert [d.id for d in jsonl] == [f"{tmp_path}/b.jsonl.gz/{i}" for i in range(3)]  # no id column: file/row
    assert reader.stats["ignored_files"].total == 1


def test_missing_column_names_the_column_and_the_file(tmp_path):
    pq.write_table(pa.table({"content": ["x"], "id": ["1"]}), tmp_path / "bad.parquet")
    with pytest.raises(MissingColumnError, match=r"bad\.parquet.*'text'"):
        read_all(tmp_path, world_size=1)


def test_missing_column_in_a_jsonl_line_names_the_line(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"text": "a"}\n{"body": "b"}\n')
    with pytest.raises(MissingColumnError, match=r"x\.jsonl, line 2: no column 'text'"):
        read_all(tmp_path, world_size=1)


@pytest.mark.parametrize("url", [False, True])
def test_recipe_tells_a_dataset_from_warcs_by_its_files_and_reads_a_glob(tmp_path, url):
    from curate.config import load_recipe_config
    from curate.recipes.rescore import dataset_input

    (tmp_path / "data" / "CC-MAIN-2024-10").mkdir(parents=True)
    write_parquet(tmp_path / "data" / "CC-MAIN-2024-10" / "000.parquet", n_rows=6, row_group_size=2)
    (tmp_path / "data" / "README.md").write_text("card\n")
    spec = f"{'file://' if url else ''}{tmp_path}/data/*/*.parquet"
    source = dataset_input(load_recipe_config("fineweb_edu", [f"input={spec}"]))
    assert source is not None and source.glob_pattern == "*/*.parquet"
    reader = DatasetReader(source.data_folder, glob_pattern=source.glob_pattern)
    assert len(list(reader.run(rank=0, world_size=1))) == 6
    assert dataset_input(load_recipe_config("fineweb_edu", [f"input={spec}", "input_format=warc"])) is None


def test_a_warc_folder_is_not_a_dataset(shared_data):
    from curate.config import load_recipe_config
    from curate.recipes.rescore import dataset_input

    assert dataset_input(load_recipe_config("fineweb_edu", [f"input={shared_data / 'warc'}"])) is None


def test_dry_run_of_a_rescoring_lists_the_score_stage_alone_with_its_gpu(tmp_path):
    import subprocess
    import sys

    write_parquet(tmp_path / "000.parquet", n_rows=2, row_group_size=2)
    proc = subprocess.run(
        [sys.executable, "-m", "curate.run", "fineweb_edu", "--input", str(tmp_path), "--set", "offline=true"]
        + ["--executor", "slurm", "--set", "stages.score.slurm.gpus_per_task=1", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    stages = [line for line in proc.stdout.splitlines() if line.startswith("stage ")]
    assert len(stages) == 1 and stages[0].startswith("stage 1/1: score (slurm:") and "gpus_per_task=1" in stages[0]
    assert "DatasetReader(" in proc.stdout and "columns={text: string, id: string, dump: string" in proc.stdout


@pytest.mark.parametrize(
    "recipe,settings,reader",
    [("finemath", [], "DatasetReader"), ("stack_edu", ["input_format=dataset"], "StackV2Reader")],
)
def test_finemath_and_stack_edu_rescore_a_dataset_in_the_score_stage_alone(tmp_path, recipe, settings, reader):
    from curate.config import load_recipe_config
    from curate.recipes import RunPaths, build_stages

    write_parquet(tmp_path / "000.parquet", n_rows=2, row_group_size=2)
    cfg = load_recipe_config(recipe, [f"input={tmp_path}", "offline=true", *settings])
    (stage,) = build_stages(cfg, RunPaths(str(tmp_path / "out"), str(tmp_path / "logs")))
    assert stage.name == "score" and type(stage.pipeline[0]).__name__ == reader
    assert {"EduClassifierScorer", "ScoreThreshold", "FlatParquetWriter"} <= {type(s).__name__ for s in stage.pipeline}
