"""The ``vllm`` backend for real: ``vllm.LLM`` from vLLM's CPU build running SmolLM2-135M-Instruct over real pages.

One engine serves every in-process test (``VLLMBackend`` keeps one per process for the same arguments), and one more
starts in the CLI subprocess that is killed. SmolLM2 is far too small to judge pages (DESIGN.md §4): nothing here
asserts on what its scores mean; logprobs-mode scores are checked against the transformers backend's on the same
prompts, which a broken model folder or a misread logprobs structure would fail.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from vllm_shared import MODEL, OFFLINE_ENGINE_ARGS, write_jsonl

from curate.annotate import LLMAnnotator, load_prompt, make_backend, read_annotations
from curate.annotate.__main__ import backend_options, parse_args
from curate.annotate.__main__ import main as annotate_main

pytest.importorskip("vllm", reason="needs vLLM: run these in the vLLM environment (make vllm-env)")


def _argv(input_path, prompt, output, *extra: str) -> list[str]:
    return [
        "--input", str(input_path), "--prompt", str(prompt), "--backend", "vllm", "--model", MODEL,
        *OFFLINE_ENGINE_ARGS, "--output", str(output), *extra,
    ]  # fmt: skip


def _rows(output) -> dict[str, dict]:
    return {row["id"]: row for row in read_annotations(output).to_pylist()}


@pytest.fixture(scope="module")
def vllm_backend(tmp_path_factory, model_folder):
    """The backend the CLI builds from the shared engine flags (so it shares the CLI runs' engine)."""
    args = parse_args(_argv("unused", "fineweb_edu", tmp_path_factory.mktemp("unused")))
    return make_backend("vllm", MODEL, **backend_options(args))


def test_cli_generate_mode_runs_llm_chat(pages, short_prompt, tmp_path, capsys):
    input_file = write_jsonl(tmp_path / "pages.jsonl", pages[:4])
    assert annotate_main(_argv(input_file, short_prompt, tmp_path / "out", "--max-tokens", "8")) == 0
    assert "annotated 4 documents this run" in capsys.readouterr().out
    rows = _rows(tmp_path / "out")
    assert sorted(rows) == sorted(page["id"] for page in pages[:4])
    for row in rows.values():
        assert row["raw_response"].strip(), "vLLM answered nothing"
        assert 0 < row["completion_tokens"] <= 8
        assert row["null_reason"] != "error"
        assert (row["model"], row["mode"]) == (MODEL, "generate")
        assert row["text"] in {page["text"] for page in pages}


def test_cli_logprobs_mode_agrees_with_the_transformers_backend(pages, short_prompt, tmp_path, local_logprob_scores):
    input_file = write_jsonl(tmp_path / "pages.jsonl", pages[:4])
    assert annotate_main(_argv(input_file, short_prompt, tmp_path / "out", "--mode", "logprobs")) == 0
    rows = _rows(tmp_path / "out")
    for doc_id, local_score in local_logprob_scores.items():
        row = rows[doc_id]
        assert row["completion_tokens"] == 1 and row["mode"] == "logprobs"
        candidates = json.loads(row["raw_response"])
        assert len(candidates) >= 15  # vLLM's top 20 after the score prefix, merged by decoded text
        # same weights, both float32: the same next-token distribution up to kernel rounding
        assert row["score"] == pytest.approx(local_score, abs=0.02)


def test_a_prompt_longer_than_max_model_len_costs_only_its_document(pages, short_prompt, vllm_backend):
    prompt = load_prompt(short_prompt, extract_chars=100_000)
    long_text = " ".join(page["text"] for page in pages) * 3  # well past 2,048 tokens
    docs = [Document(text=pages[0]["text"][:300], id="short"), Document(text=long_text, id="long")]
    for mode in ("generate", "logprobs"):
        annotated = {d.id: d.metadata for d in LLMAnnotator(vllm_backend, prompt, mode=mode, max_tokens=4).run(docs)}
        assert annotated["long"]["null_reason"] == "error"
        assert "2048" in annotated["long"]["raw_response"]  # vLLM's message names the max_model_len it exceeds
        assert annotated["short"]["null_reason"] != "error" and annotated["short"]["raw_response"]


def _readable(path) -> bool:
    try:
        pq.read_metadata(path)
    except (OSError, ValueError):
        return False
    return True


def test_cli_command_with_two_tasks_killed_mid_run_resumes(pages, short_prompt, tmp_path, capsys):
    """`python -m curate.annotate --backend vllm --tasks 2` runs rank 0 then rank 1 on one engine; it is killed once
    rank 0's shard is closed. The rerun annotates exactly rank 1's documents: nothing lost, nothing twice."""
    first, second = pages[:2], pages[2:6]
    write_jsonl(tmp_path / "in" / "a.jsonl", first)
    write_jsonl(tmp_path / "in" / "b.jsonl", second)
    output = tmp_path / "out"
    argv = _argv(tmp_path / "in", short_prompt, output, "--tasks", "2", "--max-tokens", "24")
    process = subprocess.Popen(
        [sys.executable, "-m", "curate.annotate", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not [p for p in output.glob("*_00000.parquet") if _readable(p)]:
            assert process.poll() is None, "the annotation ended before rank 0's shard was readable"
            assert time.monotonic() < deadline, "rank 0 never finished"
            time.sleep(0.1)
        assert process.poll() is None, "rank 1 was already done: nothing to kill mid-run"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert not [p for p in output.glob("*_00001.parquet") if _readable(p)], "rank 1 finished before the kill"
    assert sorted(_rows(output)) == sorted(page["id"] for page in first)

    assert annotate_main(argv) == 0
    assert "annotated 4 documents this run" in capsys.readouterr().out
    rows = _rows(output)
    assert sorted(rows) == sorted(page["id"] for page in pages[:6])
    assert all(row["null_reason"] != "error" and row["raw_response"] for row in rows.values())
    shard_ids = [
        i for shard in output.glob("*.parquet") if _readable(shard) for i in pq.read_table(shard)["id"].to_pylist()
    ]
    assert sorted(shard_ids) == sorted(rows)  # every document written exactly once
