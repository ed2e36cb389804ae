"""The path a real run takes: each recipe on real inputs from ../shared/data with its DEFAULT model settings (no
offline=true), so the published ids are resolved and loaded through the Hugging Face cache with HF_HUB_OFFLINE=1.

Everything under the published names is a STAND-IN staged by tests/hf_cache.py (the Hub cannot be reached here):
tiny random BERT regressors (constant heads) as HuggingFaceFW/fineweb-edu-classifier, HuggingFaceTB/finemath-classifier
and the 15 HuggingFaceTB/stack-edu-classifier-* ids; the MiniLM tokenizer as gpt2; the bundled lid.176.ftz where
datatrove caches lid.176.bin; a few rows written here as the GSM8K, MATH, MMLU and ARC test sets.
"""

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hf_cache import stage_dataset_rows, stage_file, stage_lid176, stage_model
from tiny_models import tiny_bert

from curate.assets import bundled_path
from curate.blocks.math_extract import MathHtmlExtractor
from curate.evaluation.realdata import math_pages, write_html_warc
from curate.languages import LANGUAGES

FINEWEB_EDU = "HuggingFaceFW/fineweb-edu-classifier"
FINEMATH = "HuggingFaceTB/finemath-classifier"
BENCHMARKS = {
    "gsm8k": ("openai/gsm8k", "main/test-00000-of-00001.parquet"),
    "math": ("EleutherAI/hendrycks_math", "algebra/test-00000-of-00001.parquet"),
    "mmlu": ("cais/mmlu", "all/test-00000-of-00001.parquet"),
    "arc": ("allenai/ai2_arc", "ARC-Challenge/test-00000-of-00001.parquet"),
}


def curate(module: str, *args: str, hf_home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=1800
    )


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory) -> dict:
    """Real inputs: the WARC folder, the real math pages packed as a WARC with a stand-in for FineWeb's C4 rejects
    (the pages whose text holds a `{`, which C4's rule drops), and the code tree."""
    tmp = tmp_path_factory.mktemp("inputs")
    pages = math_pages(shared_data)
    (tmp / "math").mkdir()
    write_html_warc(tmp / "math" / "math.warc.gz", [(p["url"], p["html"]) for p in pages])
    texts = {p["url"]: MathHtmlExtractor().extract(p["html"].decode("utf-8", "replace")) for p in pages}
    victim = next(p for p in pages if "stackexchange.com" in p["url"] and "{" in texts[p["url"]])
    (tmp / "c4").mkdir()
    with gzip.open(tmp / "c4" / "00000.jsonl.gz", "wt") as f:
        for url, text in texts.items():
            if "{" in text:
                f.write(json.dumps({"id": url, "text": text, "metadata": {"url": url}}) + "\n")
    return {
        "fineweb_edu": [str(shared_data / "warc")],
        "finemath": [str(tmp / "math"), "--set", f"c4_rejects={tmp / 'c4'}"],
        "stack_edu": [str(shared_data / "code")],
        "victim": victim["url"],
        "victim_words": texts[victim["url"]].split(),
    }


@pytest.fixture(scope="module")
def hf_home(inputs, tmp_path_factory) -> Path:
    """A Hugging Face cache holding stand-ins for everything the three recipes' defaults name."""
    tmp = tmp_path_factory.mktemp("published")
    home = tmp / "hf_home"
    stage_model(home, FINEWEB_EDU, tiny_bert(tmp / "fwe", bias=3.4, max_positions=512))
    stage_model(home, FINEMATH, tiny_bert(tmp / "fm", bias=3.6, max_positions=512))
    code_model = tiny_bert(tmp / "code", bias=2.4, max_positions=1024)  # int_score 2: only Java (threshold 2) stays
    for language in LANGUAGES:
        stage_model(home, language.classifier, code_model)
    stage_file(home, "gpt2", "tokenizer.json", bundled_path("all-minilm-l6-v2") / "tokenizer.json")
    stage_lid176(home)
    planted = " ".join(inputs["victim_words"][20:60])  # a real page's sentence, as if it were a GSM8K question
    rows = {
        "gsm8k": [{"question": planted, "answer": "#### 42"}],
        "math": [{"problem": "Find all real x with x squared minus five x plus six equal to zero and say why.",
                  "level": "Level 2", "type": "Algebra", "solution": "Factor it as (x-2)(x-3)=0 so x is 2 or 3."}],
        "mmlu": [{"question": "Which gas makes up most of the air that people breathe at sea level on Earth today?",
                  "subject": "astronomy", "choices": ["Oxygen", "Nitrogen", "Argon", "Carbon dioxide"], "answer": 1}],
        "arc": [{"id": "arc-1", "question": "A student drops a ball and a feather in a room with no air at all. "
                 "Which one lands first?", "answerKey": "C",
                 "choices": {"text": ["ball", "feather", "same time"], "label": ["A", "B", "C"]}}],
    }  # fmt: skip
    for name, (repo, path) in BENCHMARKS.items():
        stage_dataset_rows(home, repo, path, rows[name])
    return home


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _removed(folder: Path) -> list[dict]:
    rows = []
    for f in folder.glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


@pytest.fixture(scope="module")
def runs(inputs, hf_home, tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each recipe run once with its default settings: `python -m curate.run <recipe> --input <real data>`."""
    results = {}
    for recipe in ("fineweb_edu", "finemath", "stack_edu"):
        out = tmp_path_factory.mktemp(recipe) / "out"
        proc = curate("curate.run", recipe, "--input", *inputs[recipe], "--output", str(out), hf_home=hf_home)
        results[recipe] = proc, out
    return results


@pytest.mark.parametrize(
    "recipe, published",
    [
        ("fineweb_edu", [FINEWEB_EDU, "gpt2", "lid.176.bin"]),
        ("finemath", [FINEMATH, "gpt2", "lid.176.bin", "hf://datasets/openai/gsm8k/main/test-*.parquet"]),
        ("stack_edu", [lang.classifier for lang in LANGUAGES]),
    ],
)
def test_default_config_loads_the_published_ids_from_the_hf_cache(recipe, published, runs, hf_home):
    proc, out = runs[recipe]
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "run.json").read_text())
    assert record["params"]["offline"] == "auto" and not Path(out / "data").is_relative_to(hf_home)
    for ref in published:
        assert Path(record["assets"][ref]["path"]).is_relative_to(hf_home), ref
    assert _rows(out / "data"), "the published path produced no rows"


def test_fineweb_edu_scores_with_the_stand_in_classifier_and_gpt2_tokenizer(runs):
    _, out = runs["fineweb_edu"]
    rows = _rows(out / "data")
    assert all(r["language"] == "en" and r["language_score"] >= 0.65 for r in rows)
    assert all(r["score"] == pytest.approx(3.4, abs=1e-4) and r["int_score"] == 3 for r in rows)
    assert all(r["token_count"] > 0 for r in rows)


def test_finemath_decontaminates_against_the_cached_benchmarks(runs, inputs):
    _, out = runs["finemath"]
    removed = _removed(out / "removed" / "decontamination")
    assert [r["metadata"]["url"] for r in removed] == [inputs["victim"]]
    assert removed[0]["metadata"]["contamination"]["benchmark"] == "gsm8k"
    kept = _rows(out / "data" / "finemath-3plus")
    assert kept and inputs["victim"] not in {r["url"] for r in kept}
    assert {r["int_score"] for r in kept} == {4} and len(_rows(out / "data" / "finemath-4plus")) == len(kept)


def test_stack_edu_routes_each_language_to_its_published_classifier(runs):
    _, out = runs["stack_edu"]
    assert {r["language"] for r in _rows(out / "data")} == {"Java"}  # 2.4 -> 2: kept only at Java's threshold 2
    removed = _removed(out / "removed" / "threshold")
    assert len({r["metadata"]["language"] for r in removed}) >= 10


@pytest.mark.parametrize("recipe", ["fineweb_edu", "finemath", "stack_edu"])
def test_an_empty_cache_names_every_missing_asset_and_starts_nothing(recipe, inputs, tmp_path):
    out = tmp_path / "out"
    proc = curate("curate.run", recipe, "--input", *inputs[recipe], "--output", str(out), hf_home=tmp_path / "empty")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    expected = {
        "fineweb_edu": [FINEWEB_EDU, "gpt2", "lid.176.bin"],
        "finemath": [FINEMATH, "gpt2", "lid.176.bin", *(f"hf://datasets/{repo}/" for repo, _ in BENCHMARKS.values())],
        "stack_edu": [lang.classifier for lang in LANGUAGES],
    }[recipe]
    assert len(lines) == len(expected) and all(line.startswith("error: missing ") for line in lines)
    for ref in expected:
        quoted = f"'{ref}" if ref.endswith("/") else f"'{ref}'"  # benchmarks: the repo prefix of their file glob
        (line,) = [line for line in lines if quoted in line]
        assert f"fix: run `curate fetch {recipe} --set input=" in line
        if recipe != "stack_edu":  # (its 15 classifiers come from languages.py, not from a setting)
            # the setting that names the asset, and pointing it at a local copy instead
            assert re.search(r"\(([\w.]+)[^)]*\): .* or --set \1=<path>", line), line
    assert not out.exists()


@pytest.mark.parametrize("executor", ["slurm", "ray"])
def test_a_cluster_run_with_an_empty_cache_stops_before_submitting_anything(executor, inputs, tmp_path):
    out = tmp_path / "out"
    proc = curate(
        "curate.run",
        "fineweb_edu",
        "--executor",
        executor,
        "--input",
        *inputs["fineweb_edu"],
        "--output",
        str(out),
        hf_home=tmp_path / "empty",
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(proc.stderr.splitlines()) == 3 and proc.stderr.startswith("error: missing ")
    assert "submitted" not in proc.stderr and "Ray" not in proc.stderr
    assert not out.exists()  # no sbatch script, no Ray task, not even the logs folder


def test_fetch_lists_what_is_cached(hf_home):
    proc = curate("curate.fetch", "finemath", hf_home=hf_home)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 7 and all(line.startswith("cached ") for line in lines)
    assert any(FINEMATH in line and str(hf_home) in line for line in lines)


def test_fetch_offline_with_an_empty_cache_names_each_asset_and_exits_2(tmp_path):
    proc = curate("curate.fetch", "fineweb_edu", hf_home=tmp_path / "empty")
    assert proc.returncode == 2
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed ")]
    assert [line.split(":")[0] for line in failed] == [
        "failed   language ID model lid.176.bin",
        "failed   tokenizer gpt2",
        f"failed   model {FINEWEB_EDU}",
    ]
