"""`python -m curate.run` as a user calls it: the CLI contract, the dry run, the console command and `--set push_to=`.

The offline demo runs from the installed wheel: tests/test_wheel.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_standin import HubStandIn

from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS

REPO = Path(__file__).resolve().parents[1]
FINEWEB_EDU = "HuggingFaceFW/fineweb-edu-classifier"


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
        (["fineweb_edu", "--set", "threshold=high"], "error: bad value 'high' for 'threshold'"),
        (["fineweb_edu", "--executor", "kubernetes"], "error: unknown executor 'kubernetes'"),
        (["finemath", "--set", "scorer.precision=int9"], "error: bad value 'int9' for 'scorer.precision'"),
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
    assert stages and all("(local: tasks=" in line for line in stages)
    assert "(local: tasks=3, workers=-1)" in proc.stdout
    assert not (tmp_path / "out").exists()


def test_dry_run_shows_nested_settings_writer_columns_and_published_models(tmp_path):
    empty_cache = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    proc = curate_run("fineweb_edu", "--set", "offline=false", "--dry-run", env=empty_cache)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # steps wrap over several lines
    assert "MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1," in text
    assert "hash_config=HashConfig(precision=64, hash_fc='sha1')" in text
    columns = ", ".join(f"{name}: {str(kind)}" for name, kind in (FINEWEB_COLUMNS | SCORE_COLUMNS).items())
    assert f"FlatParquetWriter(output_folder='out/fineweb_edu/data', columns={{{columns}}}" in text
    assert "GopherRepetitionFilter(dup_line_frac=0.3, dup_para_frac=0.3, dup_line_char_frac=0.2" in text
    models = proc.stdout.split("models and files")[1].splitlines()[1:]
    expected = {
        "language.model": "lid.176.bin",
        "tokenizer": "gpt2",
        "scorer.model": "HuggingFaceFW/fineweb-edu-classifier",
    }
    assert len(models) == 3
    for line, (key, ref) in zip(models, expected.items(), strict=True):
        assert line.startswith(f"  {key} = {ref} [") and "MISSING" in line and "curate fetch fineweb_edu" in line


def test_dry_run_shows_the_demo_models_and_each_stage_executor_resources():
    proc = curate_run("finemath", "--executor", "slurm", "--set", "slurm.partition=cpu", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    stages = [line for line in proc.stdout.splitlines() if line.startswith("stage ")]
    assert len(stages) == 8
    shared = "partition='cpu', time='04:00:00', cpus_per_task=1, mem_per_cpu_gb=2, gpus_per_task=0, qos=None"
    assert all(shared in s for s in stages)
    assert "stage 5/8: minhash_buckets (slurm: tasks=1, workers=-1," in proc.stdout  # 1 band: 1 bucket task
    models = dict(line.strip().split(" = ", 1) for line in proc.stdout.split("models and files")[1].splitlines()[1:])
    assert models["offline_models.recall_model, offline_models.scorer_model"].startswith(
        "classifiers/finemath/demo-minilm-ridge [model] -> "
    )
    assert models["decontamination.benchmarks.demo"].endswith("curate/sample/benchmark_items.jsonl")
    assert "MISSING" not in proc.stdout


def test_list_without_recipes_is_an_error(tmp_path, monkeypatch, capsys):
    from curate import config
    from curate.run import main

    monkeypatch.setattr(config, "PIPELINES_DIR", tmp_path)  # an installed package whose data is missing
    assert main(["--list"]) == 2
    assert capsys.readouterr().err.startswith(f"error: no recipes in {tmp_path}")


def test_console_command_dispatches_to_each_module():
    curate = Path(sys.executable).parent / "curate"
    listed = subprocess.run([str(curate), "run", "--list"], capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0 and listed.stdout.split() == ["finemath", "fineweb_edu", "stack_edu"]
    for command in ("run", "fetch", "annotate", "train", "push", "mix"):
        proc = subprocess.run([str(curate), command, "--help"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: "), (command, proc.stderr[-500:])
    unknown = subprocess.run([str(curate), "deploy"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown command 'deploy'")


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


def test_dry_run_shows_one_stage_own_resources_and_no_gpus_elsewhere():
    proc = curate_run(
        "fineweb_edu",
        "--executor",
        "slurm",
        "--set",
        "stages.score.slurm.gpus_per_task=1",
        "--set",
        "stages.score.slurm.partition=gpu",
        "--set",
        "stages.score.slurm.sbatch_args={constraint: h100}",
        "--dry-run",
    )
    assert proc.returncode == 0, proc.stderr
    stages = {line.split()[2]: line for line in proc.stdout.splitlines() if line.startswith("stage ")}
    assert "partition='gpu', time='04:00:00', cpus_per_task=1, mem_per_cpu_gb=2, gpus_per_task=1" in (stages["score"])
    assert "sbatch_args={constraint: 'h100'}" in stages["score"]
    others = [line for name, line in stages.items() if name != "score"]
    assert len(others) == 5 and all("partition='debug'" in s and "gpus_per_task=0" in s for s in others)


@pytest.mark.parametrize(
    "override, message",
    [
        ("stages.scoring.slurm.gpus_per_task=1", "error: unknown stage 'scoring' in 'stages.scoring' (stages of"),
        ("stages.filter.slurm.gpus=1", "error: unknown key 'stages.filter.slurm.gpus' for recipe 'fineweb_edu'"),
        ("stages.filter.kubernetes.cpus=1", "error: unknown key 'stages.filter.kubernetes' for recipe"),
        ("stages.filter.slurm.cpus_per_task=0", "error: bad value 0 for 'stages.filter.slurm.cpus_per_task'"),
        ("slurm.gpus_per_task=1", "error: unknown key 'slurm.gpus_per_task' for recipe 'fineweb_edu' (gpus_per_task"),
    ],
)
def test_bad_stage_settings_are_one_line_and_exit_2(override, message, tmp_path):
    proc = curate_run("fineweb_edu", "--executor", "slurm", "--set", override, "--dry-run")
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert proc.stderr.count("\n") == 1
