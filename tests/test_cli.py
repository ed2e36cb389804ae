"""`python -m curate.run` as a user calls it: the CLI contract, the offline demo, and `--set push_to=`."""

import os
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from hub_standin import HubStandIn

from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS

REPO = Path(__file__).resolve().parents[1]


def curate_run(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curate.run", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


def test_list_names_every_recipe():
    proc = curate_run("--list")
    assert proc.returncode == 0
    assert proc.stdout.split() == ["finemath", "fineweb_edu", "stack_edu"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "error: unknown recipe 'nope'"),
        (["fineweb_edu", "--set", "nope=1"], "error: unknown key 'nope' for recipe 'fineweb_edu'"),
        (["fineweb_edu", "--set", "edu_threshold=high"], "error: bad value 'high' for 'edu_threshold'"),
        (["fineweb_edu", "--executor", "kubernetes"], "error: unknown executor 'kubernetes'"),
        (["finemath", "--set", "precision=int9"], "error: EduClassifierScorer: precision must be one of auto,"),
        (["fineweb_edu", "--input", "/no/such/folder"], "error: The WARC input '/no/such/folder' does not exist"),
        (["stack_edu", "--input", "/no/such/tree"], "error: the code input '/no/such/tree' does not exist"),
    ],
)
def test_user_errors_are_one_line_on_stderr_and_exit_2(args, message, tmp_path):
    proc = curate_run(*args, "--output", str(tmp_path / "out"), "--dry-run")
    assert proc.returncode == 2
    assert proc.stderr.startswith(message)
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recipe", ["fineweb_edu", "finemath", "stack_edu"])
def test_dry_run_prints_every_stage_and_runs_nothing(recipe, tmp_path):
    proc = curate_run(recipe, "--output", str(tmp_path / "out"), "--dry-run", "--set", "tasks=3")
    assert proc.returncode == 0, proc.stderr
    stages = [line for line in proc.stdout.splitlines() if line.startswith("stage ")]
    assert stages and all("tasks=" in line for line in stages)
    assert "(tasks=3" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_demo_runs_offline_and_writes_fineweb_edu_parquet(tmp_path):
    out = tmp_path / "demo"
    # small shards, so that the demo's output spans several files
    proc = curate_run(
        "fineweb_edu", "--output", str(out), "--set", "shard_max_bytes=60000", env={"HF_HUB_OFFLINE": "1"}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"output: {out}/data" in proc.stdout
    files = sorted((out / "data").rglob("*.parquet"))
    assert files and all(f.parent.name == "CC-MAIN-2024-10" for f in files)
    table = pq.read_table(files[0])
    assert table.column_names == list(FINEWEB_COLUMNS | SCORE_COLUMNS)
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    assert rows and all(r["int_score"] >= 3 and r["language"] == "en" and r["token_count"] > 0 for r in rows)
    assert "below_threshold=" in proc.stdout and "Language ID" in proc.stdout
    loaded = datasets.load_dataset("parquet", data_dir=str(out / "data" / "CC-MAIN-2024-10"), split="train")
    assert loaded.num_rows == len(rows) and set(loaded.column_names) == set(FINEWEB_COLUMNS | SCORE_COLUMNS)


def test_set_push_to_publishes_the_output_to_the_hub(tmp_path):
    """The Hub is a stand-in server on 127.0.0.1 (tests/hub_standin.py): the real Hub cannot be reached here."""
    token = "hf_cli_test_token_0123456789"
    with HubStandIn(tmp_path / "hub", token=token) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_TOKEN": token, "HF_HUB_OFFLINE": "0"}  # Xet on, as real pushes
        proc = curate_run(
            "stack_edu", "--output", str(tmp_path / "out"), "--set", "push_to=someone/stack-edu-demo", env=env
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        remote = hub.files("someone/stack-edu-demo")
    local = {str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out" / "data").rglob("*.parquet")}
    assert local and local <= set(remote)
    assert "README.md" in remote
    assert token not in proc.stdout + proc.stderr
