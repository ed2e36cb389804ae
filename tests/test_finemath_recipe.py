"""The finemath recipe: published defaults, and an end-to-end run on the real math pages of ../shared/data/math
(packed as a WARC here) with a planted benchmark item and FineWeb C4 rejects. The classifier is a tiny RANDOM
BERT built here whose head outputs a constant 3.6 (a stand-in: the published model cannot be downloaded)."""

import gzip
import json

import pyarrow.parquet as pq
import pytest
from recipe_runs import run_recipe
from tiny_models import tiny_bert

from curate.blocks.decontaminate import Decontaminator
from curate.blocks.domains import DomainFilter, SelectDomains, registered_domain
from curate.blocks.math_extract import MathHtmlExtractor
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.config import load_recipe_config
from curate.evaluation.realdata import math_pages, write_html_warc
from curate.recipes import RunPaths, build_stages
from curate.recipes.finemath import FINEMATH_COLUMNS


def test_published_defaults(tmp_path):
    from curate.sample import demo_math_warc

    # the sample WARC named as a path: an input, but not "demo" (whose `demo:` settings would apply)
    cfg = load_recipe_config("finemath", ["offline=false", f"input={demo_math_warc()}"])
    stages = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))
    steps = {type(s): s for stage in stages for s in stage.pipeline}
    by_name = {stage.name: stage for stage in stages}
    sig = by_name["minhash_signatures"].pipeline[1].config
    assert (sig.num_buckets, sig.hashes_per_bucket) == (1, 10)  # single band of 10 hashes
    select = steps[SelectDomains]
    assert (select.min_pages, select.min_fraction) == (10, None)
    assert by_name["count_math_domains"].pipeline[-1].min_score == 2
    decont = steps[Decontaminator]
    assert (decont.ngram_size, decont.lcs_threshold) == (13, 0.6)
    # on by default, against the published test sets of GSM8K, MATH, MMLU and ARC (docs/recipes.md cites the ids)
    assert decont.benchmarks == {
        "gsm8k": "hf://datasets/openai/gsm8k/main/test-*.parquet",
        "math": "hf://datasets/EleutherAI/hendrycks_math/*/test-*.parquet",
        "mmlu": "hf://datasets/cais/mmlu/all/test-*.parquet",
        "arc": "hf://datasets/allenai/ai2_arc/ARC-*/test-*.parquet",
    }
    thresholds = [s.threshold for s in by_name["score"].pipeline if isinstance(s, ScoreThreshold)]
    assert thresholds == [3, 4]
    assert steps[EduClassifierScorer].model == "HuggingFaceTB/finemath-classifier"
    assert isinstance(by_name["reread_selected"].pipeline[1], DomainFilter)


@pytest.fixture(scope="module")
def run(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finemath")
    pages = math_pages(shared_data)
    (tmp / "warcs").mkdir()
    write_html_warc(tmp / "warcs" / "math.warc.gz", [(p["url"], p["html"]) for p in pages])
    per_domain: dict[str, list[dict]] = {}
    for p in pages:
        per_domain.setdefault(registered_domain(p["url"]), []).append(p)
    # a page from a domain that will not be selected, listed as a FineWeb C4 reject: it must be re-read
    lone = next(p for ps in per_domain.values() if len(ps) == 1 for p in ps if p["text"])
    (tmp / "c4").mkdir()
    with gzip.open(tmp / "c4" / "00000.jsonl.gz", "wt") as f:
        f.write(json.dumps({"id": "x", "text": "...", "metadata": {"url": lone["url"]}}) + "\n")
    # a GSM8K-style item copied from one real StackExchange page's extracted text: that page must be removed
    victim = next(p for p in per_domain["stackexchange.com"] if p["text"])
    words = MathHtmlExtractor().extract(victim["html"].decode("utf-8", "replace")).split()
    with open(tmp / "gsm8k.jsonl", "w") as f:
        f.write(json.dumps({"question": " ".join(words[20:60]), "answer": "#### 42"}) + "\n")
    cfg = load_recipe_config(
        "finemath",
        [
            f"input={tmp / 'warcs'}",
            "offline=true",
            f"offline_models.scorer_model={tiny_bert(tmp / 'model', bias=3.6, max_positions=512)}",
            f"c4_rejects={tmp / 'c4'}",
            "recall.min_score=0",  # every page counts: domains with >= 2 pages are selected
            "recall.min_pages=2",
            f"decontamination.benchmarks={{gsm8k: {tmp / 'gsm8k.jsonl'}}}",
            "tasks=2",
            "workers=1",
            "slurm.wait=true",
        ],
    )
    out = tmp / "out"
    assert run_recipe(cfg, out) == 0
    return out, per_domain, lone, victim, cfg


def _jsonl(folder):
    rows = []
    for f in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(f, "rt") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def test_recall_expansion_rereads_selected_domains_and_c4_rejects(run):
    out, per_domain, lone, *_ = run
    selected = set((out / "work" / "selected_domains.txt").read_text().split())
    assert "stackexchange.com" in selected
    assert registered_domain(lone["url"]) not in selected
    reread = _jsonl(out / "work" / "math_pages")
    urls = {r["metadata"]["url"] for r in reread}
    assert lone["url"] in urls
    assert all(registered_domain(u) in selected or u == lone["url"] for u in urls)
    singletons = {p["url"] for ps in per_domain.values() if len(ps) == 1 for p in ps} - {lone["url"]}
    assert not urls & singletons


def test_planted_benchmark_item_is_removed_with_its_source(run):
    out, _, _, victim, _ = run
    removed = _jsonl(out / "removed" / "decontamination")
    assert [r["metadata"]["url"] for r in removed] == [victim["url"]]
    assert removed[0]["metadata"]["contamination"]["benchmark"] == "gsm8k"
    kept = [r for f in (out / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist()]
    assert victim["url"] not in {r["url"] for r in kept}


def test_two_configs_with_finemath_columns(run):
    out, *_ = run
    tables = {
        c: [pq.read_table(f) for f in (out / "data" / c).glob("*.parquet")]
        for c in ("finemath-3plus", "finemath-4plus")
    }
    for tabs in tables.values():
        for t in tabs:
            assert t.column_names == list(FINEMATH_COLUMNS)
    three = [r for t in tables["finemath-3plus"] for r in t.to_pylist()]
    four = [r for t in tables["finemath-4plus"] for r in t.to_pylist()]
    assert three and all(r["int_score"] == 4 and r["score"] == pytest.approx(3.6) for r in three)
    assert sorted(r["url"] for r in four) == sorted(r["url"] for r in three)
    row = three[0]
    assert row["char_count"] == len(row["text"]) and row["crawl"] == "CC-MAIN-2099-01"
    assert row["warc_filename"] == "math.warc.gz" and row["warc_record_offset"] is not None
    assert any("$" in r["text"] for r in three)  # formulas kept as LaTeX


def _rows(out) -> list[tuple]:
    return sorted(
        (f.parent.name, r["url"], r["score"], r["text"])
        for f in (out / "data").rglob("*.parquet")
        for r in pq.read_table(f).to_pylist()
    )


@pytest.mark.slurm
def test_same_run_on_slurm_gives_the_same_configs(run, slurm_cluster, tmp_path):
    local_out, *_, cfg = run
    out = tmp_path / "slurm"
    assert run_recipe(cfg, out, "slurm") == 0
    assert _rows(out) == _rows(local_out)
