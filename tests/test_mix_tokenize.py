"""`curate mix --tokenize` over the project's own demo outputs, as a user runs it, on local and real Slurm executors.

The Hub cannot be reached here: a **stand-in** Hugging Face cache (HF_HUB_OFFLINE=1) holds the Stack-Edu demo
output under the published dataset id HuggingFaceTB/stack-edu and the bundled SmolLM2 tokenizer file under the
published tokenizer id HuggingFaceTB/cosmo2-tokenizer, so the Hub loading code runs for real on local files.
"""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from recipe_runs import run_recipe
from tokenizers import Tokenizer

from curate.assets import resolve
from curate.config import load_recipe_config

REPO = Path(__file__).resolve().parents[1]
TOKENIZER_ID = "HuggingFaceTB/cosmo2-tokenizer"
STACK_EDU_ID = "HuggingFaceTB/stack-edu"
# stage 2 starts after 10M tokens; with 64-token sequences and 8 per step: ceil(10,000,000 / 512) + 1
START_TOKENS, SEQUENCE_LENGTH, GLOBAL_BATCH, START_STEP = 10_000_000, 64, 8, 19_533
BUDGET = 30_000
RUN_ARGS = ["--stage", "2", "--budget", str(BUDGET), "--tokenize", "--tasks", "2", "--shard-tokens", "4000"]
RUN_ARGS += ["--sequence-length", str(SEQUENCE_LENGTH), "--global-batch-size", str(GLOBAL_BATCH)]


def stage_repo(hf_home: Path, kind: str, repo_id: str, files: dict[str, Path | str]) -> None:
    """Put files into the Hugging Face cache layout as if downloaded from ``repo_id`` (a stand-in for the Hub)."""
    repo = hf_home / "hub" / f"{kind}--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    for name, content in files.items():
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(content, target) if isinstance(content, Path) else target.write_text(content)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(snapshot.name)


def card(**fields) -> str:
    return f"---\n{yaml.safe_dump(fields)}---\n# stand-in card\n"


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory) -> dict[str, Path]:
    """The fineweb_edu demo and the stack_edu demo (with the code kept, as `content`), run into a temp folder."""
    root = tmp_path_factory.mktemp("demos")
    runs = {"fineweb_edu": [], "stack_edu": ["keep_content=true"]}
    for recipe, overrides in runs.items():
        assert run_recipe(load_recipe_config(recipe, overrides), root / recipe) == 0
    return {recipe: root / recipe for recipe in runs}


@pytest.fixture(scope="module")
def hub_env(tmp_path_factory, demo_outputs) -> dict[str, str]:
    hf_home = tmp_path_factory.mktemp("hf-home")
    stage_repo(hf_home, "models", TOKENIZER_ID, {"tokenizer.json": Path(resolve("bundled:smollm2-tokenizer"))})
    code = demo_outputs["stack_edu"] / "data"
    files = {f"data/{p.relative_to(code)}": p for p in code.rglob("*.parquet")}
    config = [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*/*.parquet"}]}]
    stage_repo(hf_home, "datasets", STACK_EDU_ID, {"README.md": card(configs=config), **files})
    stage_repo(hf_home, "datasets", "curate-standin/card-only", {"README.md": card(token_counts={"default": 123_456})})
    stage_repo(hf_home, "datasets", "curate-standin/no-count", {"README.md": card(license="odc-by")})
    return {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def write_mixture(path: Path, sources: list[dict]) -> Path:
    smollm2 = yaml.safe_load((REPO / "pipelines" / "mixtures" / "smollm2.yaml").read_text())
    stages = [
        {"stage": 1, "tokens": [0, START_TOKENS], "sources": sources},
        {"stage": 2, "tokens": [START_TOKENS, 2 * START_TOKENS], "sources": sources},
    ]
    keys = ("tokenizer", "offline_tokenizer", "eos_token", "slurm", "ray")
    path.write_text(yaml.safe_dump({"name": "demo-mix", **{k: smollm2[k] for k in keys}, "stages": stages}))
    return path


@pytest.fixture(scope="module")
def mixture(tmp_path_factory, demo_outputs) -> Path:
    """FineWeb-Edu as a curate recipe output folder, Stack-Edu as a Hub dataset id (the stand-in cache)."""
    sources = [
        {"name": "fineweb-edu", "share": 0.7, "path": str(demo_outputs["fineweb_edu"])},
        {"name": "stack-edu", "share": 0.3, "path": STACK_EDU_ID, "text_column": "content"},
    ]
    return write_mixture(tmp_path_factory.mktemp("mix") / "demo-mix.yaml", sources)


def curate_mix(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "curate.mix", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=900,
    )


@pytest.fixture(scope="module")
def source_docs(demo_outputs) -> dict[str, list[list[int]]]:
    """Each source's documents in source order, tokenized independently of curate: text tokens + <|endoftext|>."""
    tokenizer = Tokenizer.from_file(resolve("bundled:smollm2-tokenizer"))
    eos = tokenizer.token_to_id("<|endoftext|>")
    docs = {}
    for name, folder, column in (("fineweb-edu", "fineweb_edu", "text"), ("stack-edu", "stack_edu", "content")):
        texts = [
            t
            for f in sorted((demo_outputs[folder] / "data").rglob("*.parquet"))
            for t in pq.read_table(f)[column].to_pylist()
        ]
        docs[name] = [tokenizer.encode(t, add_special_tokens=False).ids + [eos] for t in texts if t]
    return docs


def shard_docs(folder: Path) -> list[tuple[int, ...]]:
    """The documents of a folder of datatrove shards, in file order, split at the ends in the .ds.index files."""
    docs = []
    for shard in sorted(folder.glob("*.ds")):
        tokens = np.fromfile(shard, dtype=np.uint16)
        ends = np.fromfile(f"{shard}.index", dtype=np.uint64).astype(int)
        docs += [tuple(tokens[a:b].tolist()) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return docs


@pytest.fixture(scope="module")
def local_mix(tmp_path_factory, mixture, hub_env) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("local-mix")
    proc = curate_mix(str(mixture), *RUN_ARGS, "--materialize", "--output", str(out), env=hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "stage2.json").read_text())
    return out, {s["name"]: s for s in manifest["sources"]}


def test_tokens_written_equal_the_manifest_and_an_independent_count(local_mix, source_docs):
    out, sources = local_mix
    for name, docs in source_docs.items():
        source = sources[name]
        assert source["documents"] == len(docs) and source["skipped_empty"] == 0
        assert source["tokens_written"] == source["available_tokens"] == sum(len(d) for d in docs)
        assert source["counted_tokens"] + source["documents"] == source["tokens_written"]  # one EOS per document
        assert source["count_method"] == f"tokenized shards ({TOKENIZER_ID})"
    assert sources["stack-edu"]["path"] == STACK_EDU_ID
    metadata = (out / "tokenized" / "stack-edu" / "stack-edu.ds.metadata").read_text().splitlines()
    assert metadata[:2] == [f"{TOKENIZER_ID}|2", str(sources["stack-edu"]["tokens_written"])]


def test_merged_shards_are_a_shuffled_permutation_of_the_documents(local_mix, source_docs):
    out, _ = local_mix
    for name, docs in source_docs.items():
        merged, unmerged = shard_docs(out / "tokenized" / name), shard_docs(out / "work" / name / "shuffled")
        assert Counter(merged) == Counter(unmerged) == Counter(map(tuple, docs))
        assert merged != [tuple(d) for d in docs]
    # Stack-Edu's many files give both tasks a shard, which the merger interleaves (FineWeb-Edu's one file: one)
    assert len(list((out / "work" / "stack-edu" / "shuffled").glob("*.ds"))) == 2
    assert shard_docs(out / "tokenized" / "stack-edu") != shard_docs(out / "work" / "stack-edu" / "shuffled")
    assert len(list((out / "tokenized" / "fineweb-edu").glob("*.ds"))) > 1  # --shard-tokens 4000


def test_nanotron_config_weights_equal_the_manifest_and_its_folders_read_back(local_mix, demo_outputs):
    from datatrove.utils.dataset import DatatroveFolderDataset

    out, sources = local_mix
    (stage,) = yaml.safe_load((out / "stage2.nanotron.yaml").read_text())["data_stages"]
    assert stage["start_training_step"] == START_STEP
    dataset = stage["data"]["dataset"]
    assert dataset["dataset_weights"] == [sources[n]["realised_share"] for n in ("fineweb-edu", "stack-edu")]
    assert dataset["dataset_weights"] == pytest.approx([0.7, 0.3])
    assert dataset["dataset_folder"] == [sources[n]["tokenized_folder"] for n in ("fineweb-edu", "stack-edu")]
    tokenizer = Tokenizer.from_file(resolve("bundled:smollm2-tokenizer"))
    texts = {
        t
        for f in (demo_outputs["fineweb_edu"] / "data").rglob("*.parquet")
        for t in pq.read_table(f)["text"].to_pylist()
    }
    folder = Path(dataset["dataset_folder"][0])
    first_doc_tokens = int(np.fromfile(folder / "000_fineweb-edu.ds.index", dtype=np.uint64)[0])
    # nanotron's Nanoset reads each folder with this datatrove dataset; one window = the first document
    reader = DatatroveFolderDataset(
        str(folder), seq_len=first_doc_tokens - 1, filename_pattern="*.ds", recursive=False
    )
    ids = reader[0]["input_ids"].tolist()
    assert ids[-1] == tokenizer.token_to_id("<|endoftext|>")
    assert tokenizer.decode(ids[:-1]) in texts


def test_materialize_writes_the_budget_within_one_document_per_source(local_mix, source_docs):
    out, sources = local_mix
    assert sources["fineweb-edu"]["epochs"] < 1 < sources["stack-edu"]["epochs"]  # one sampled, one repeated
    for name, docs in source_docs.items():
        target = round(sources[name]["realised_tokens"])
        written = shard_docs(out / "stage2" / "materialized" / name)
        assert sources[name]["materialized_tokens"] == sum(map(len, written))
        assert 0 <= sum(map(len, written)) - target < max(map(len, docs))
        passes = int(sources[name]["epochs"])
        counts = Counter(written)
        assert set(counts) <= set(map(tuple, docs))
        assert all(passes <= counts[tuple(d)] <= passes + 1 for d in docs)
    materialized = sum(sources[n]["materialized_tokens"] for n in sources)
    assert 0 <= materialized - BUDGET < sum(max(map(len, d)) for d in source_docs.values())


def test_failed_task_resumes_and_another_seed_shuffles_differently(
    tmp_path, local_mix, mixture, hub_env, demo_outputs
):
    out_42, _ = local_mix
    code = tmp_path / "stack_edu"
    shutil.copytree(demo_outputs["stack_edu"], code)
    broken = sorted((code / "data").rglob("*.parquet"))[1]  # listed second: read by task 1 of 2
    good = broken.read_bytes()
    broken.write_bytes(b"not parquet")
    args = [str(mixture), *RUN_ARGS, "--seed", "7", "--workers", "1", "--output", str(tmp_path / "out")]
    args.append(f"--path=stack-edu={code}")  # the recipe output folder, not the Hub copy: same documents
    failed = curate_mix(*args, env=hub_env)
    assert failed.returncode == 1 and "stage tokenize-stack-edu has 1 unfinished task(s) (1)" in failed.stderr
    broken.write_bytes(good)
    resumed = curate_mix(*args, env=hub_env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Skipping 1 already completed tasks" in resumed.stderr
    for name in ("fineweb-edu", "stack-edu"):
        seed_7, seed_42 = shard_docs(tmp_path / "out" / "tokenized" / name), shard_docs(out_42 / "tokenized" / name)
        assert Counter(seed_7) == Counter(seed_42) and seed_7 != seed_42


@pytest.mark.slurm
def test_slurm_writes_the_same_shards_as_local(tmp_path, local_mix, mixture, hub_env, slurm_cluster):
    out_local, sources = local_mix
    out = tmp_path / "slurm"
    args = [str(mixture), *RUN_ARGS, "--materialize", "--executor", "slurm", "--set", "slurm.wait=true"]
    proc = curate_mix(*args, "--output", str(out), env=hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((out / "logs" / "slurm").rglob("*.out")), "jobs ran through sbatch"
    for folder in ("tokenized/fineweb-edu", "tokenized/stack-edu", "stage2/materialized/stack-edu"):
        local = {p.name: p.read_bytes() for p in (out_local / folder).glob("*.ds*")}
        assert {p.name: p.read_bytes() for p in (out / folder).glob("*.ds*")} == local  # deterministic per seed
    manifest = json.loads((out / "stage2.json").read_text())
    assert [s["tokens_written"] for s in manifest["sources"]] == [sources[n]["tokens_written"] for n in sources]


@pytest.mark.slurm
def test_smollm2_stage_4_tokenizes_on_slurm_into_the_folders_nanotron_reads(
    tmp_path, demo_outputs, hub_env, slurm_cluster
):
    """`curate mix smollm2 --stage 4 --tokenize --executor slurm` with the sources' paths given, at small scale: the
    shipped mixture's six stage-4 sources; the web, math and Cosmopedia ones all read the fineweb_edu demo output
    (as a recipe output folder, or its Parquet files where the mixture names a Hub config the demo does not have),
    Stack-Edu is the stand-in Hub dataset (its published id, as the mixture names it)."""
    web = demo_outputs["fineweb_edu"]
    given = {"fineweb-edu": web, "dclm": web}
    given |= {name: web / "data" for name in ("finemath-4plus", "infiwebmath-3plus", "cosmopedia-v2")}
    paths = [arg for name, path in given.items() for arg in ("--path", f"{name}={path}")]
    out = tmp_path / "smollm2"
    args = ["smollm2", "--stage", "4", "--tokenize", "--executor", "slurm", "--tasks", "1", "--set", "slurm.wait=true"]
    proc = curate_mix(*args, *paths, "--output", str(out), env=hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sources = {s["name"]: s for s in json.loads((out / "stage4.json").read_text())["sources"]}
    names = list(given)
    assert list(sources) == [*names[:2], "stack-edu", *names[2:]]
    assert (sources["stack-edu"]["path"], sources["stack-edu"]["hub"]) == (None, STACK_EDU_ID)  # read from the Hub id
    for source in sources.values():
        assert source["tokens_written"] == source["counted_tokens"] + source["documents"] > 0
        assert sorted(p.name for p in Path(source["tokenized_folder"]).iterdir())[:3] == [
            f"000_{source['name']}.ds", f"000_{source['name']}.ds.index", f"000_{source['name']}.ds.metadata"
        ]  # fmt: skip
    (stage,) = yaml.safe_load((out / "stage4.nanotron.yaml").read_text())["data_stages"]
    dataset = stage["data"]["dataset"]
    assert dataset["dataset_folder"] == [s["tokenized_folder"] for s in sources.values()]
    assert dataset["dataset_weights"] == [s["realised_share"] for s in sources.values()]
    # a trillion-token stage from these few documents: every source is capped at 4 epochs, so each one's weight is
    # its share of the tokens there are (with enough data, the mixture's shares: the demo-mix tests above)
    total = sum(s["tokens_written"] for s in sources.values())
    assert dataset["dataset_weights"] == pytest.approx([s["tokens_written"] / total for s in sources.values()])
    assert list((out / "logs" / "slurm").rglob("*.out")), "jobs ran through sbatch"


def test_hub_sources_count_from_the_cache_or_the_card_else_a_clear_error(tmp_path, hub_env, source_docs):
    sources = [
        {"name": "stack-edu", "share": 0.5, "hub": STACK_EDU_ID, "text_column": "content"},
        {"name": "card-only", "share": 0.5, "path": "hf://datasets/curate-standin/card-only"},
    ]
    mixture = write_mixture(tmp_path / "hub.yaml", sources)
    proc = curate_mix(str(mixture), "--stage", "1", "--output", str(tmp_path / "m"), env=hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counted = {s["name"]: s for s in json.loads((tmp_path / "m" / "stage1.json").read_text())["sources"]}
    assert counted["stack-edu"]["counted_tokens"] == sum(len(d) - 1 for d in source_docs["stack-edu"])
    assert counted["stack-edu"]["count_method"] == f"tokenizer {TOKENIZER_ID}"
    assert (counted["card-only"]["counted_tokens"], counted["card-only"]["count_method"]) == (
        123_456,
        "card of curate-standin/card-only",
    )
    sources[1]["path"] = "curate-standin/no-count"
    write_mixture(mixture, sources)
    proc = curate_mix(str(mixture), "--stage", "1", "--output", str(tmp_path / "m2"), env=hub_env)
    assert proc.returncode == 2
    assert "card-only = Hub dataset curate-standin/no-count" in proc.stderr and "stack-edu" not in proc.stderr
    assert not (tmp_path / "m2").exists()
