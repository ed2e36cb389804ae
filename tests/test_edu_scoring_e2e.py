"""Annotate -> train -> score, end to end with the real local models on real pages of ../shared/data/extraction:
SmolLM2-135M-Instruct (GGUF from its wheel) annotates in logprobs mode, a MiniLM + ridge head is trained on its
annotations, and the scorer block scores pages with the trained model. SmolLM2 is far too small to judge pages:
this checks the plumbing, never the quality of the scores."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document

from curate.annotate import read_annotations
from curate.blocks.scorer import EduClassifierScorer

N_PAGES = 16


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_annotate_train_score(shared_data, tmp_path):
    rows = [json.loads(line) for line in (shared_data / "extraction" / "truth.jsonl").read_text().splitlines()]
    pages = [{"id": r["id"], "text": r["text"]} for r in rows if r["text"]][:N_PAGES]
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pages))

    annotations = tmp_path / "annotations"
    _cli(
        "curate.annotate",
        *("--input", str(tmp_path / "pages.jsonl"), "--reader", "jsonl", "--prompt", "fineweb_edu"),
        *("--backend", "local", "--model", "bundled:smollm2-135m-instruct.gguf", "--mode", "logprobs"),
        *("--output", str(annotations)),
    )
    table = read_annotations(annotations)
    assert sorted(table.column("id").to_pylist()) == sorted(p["id"] for p in pages)
    scores = [s for s in table.column("score").to_pylist() if s is not None]
    assert len(scores) >= N_PAGES - 2 and all(0 <= s <= 5 for s in scores)
    assert set(table.column("mode").to_pylist()) == {"logprobs"}

    model = tmp_path / "classifier"
    shards = [str(p) for p in sorted(annotations.rglob("*.parquet"))]
    _cli(
        "curate.train",
        *("--annotations", *shards, "--kind", "embedding-ridge", "--base-model", "bundled:all-minilm-l6-v2"),
        *("--output", str(model), "--device", "cpu"),
    )
    report = json.loads((model / "eval" / "report.json").read_text())
    assert report["n_train"] + report["n_valid"] == len(scores)
    assert (model / "eval" / "confusion.png").stat().st_size > 0
    assert not list(model.rglob("*.pkl")) and not list(model.rglob("*.pickle"))

    scorer = EduClassifierScorer(model=str(model), device="cpu")
    docs = [Document(text=p["text"], id=p["id"]) for p in pages]
    scored = list(scorer.run(iter(docs)))
    assert [d.id for d in scored] == [p["id"] for p in pages]
    for doc in scored:
        assert doc.metadata["int_score"] == round(min(max(doc.metadata["score"], 0), 5))
        assert doc.metadata["score_model"] == model.name
    # the trained head reproduces its training targets' scale: predictions stay within the annotated range
    assert min(scores) - 1 <= min(d.metadata["score"] for d in scored)
    assert max(d.metadata["score"] for d in scored) <= max(scores) + 1
    assert Path(model / "curate_head.json").exists() and pq.read_table(shards[0]).num_rows > 0
