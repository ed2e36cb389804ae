"""Annotation plumbing with the REAL SmolLM2-135M-Instruct (bundled GGUF), on CPU.

The model is far too small to judge pages (DESIGN.md §4), so nothing here asserts on its scores: only that
prompts reach it through its chat template, answers come back, and scores, nulls, retries and resume are
recorded as they should be. Most tests use a short prompt written here so each forward pass stays small.
The OpenAI-compatible server is curate.annotate.serve running the real model, standing in for `vllm serve`.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from datatrove.data import Document

from curate.annotate import (
    AnnotationWriter,
    LLMAnnotator,
    LocalBackend,
    OpenAICompatibleBackend,
    SkipAnnotated,
    load_prompt,
    read_annotations,
)
from curate.annotate.__main__ import main as annotate_main
from curate.annotate.serve import ModelServer

MODEL = "bundled:smollm2-135m-instruct.gguf"
SHORT_PROMPT = """---
score_label: "Educational score"
max_score: 5
extract_chars: 200
---
How useful is this text for teaching at school, from 0 to 5?
Text: {extract}
Answer with one line: "Educational score: <points>"
"""


@pytest.fixture(scope="session")
def smollm2() -> LocalBackend:
    """The real model, loaded once per session (1 torch thread: several times faster on a busy 2-core machine)."""
    backend = LocalBackend(MODEL, threads=1)
    backend.start()
    return backend


@pytest.fixture(scope="session")
def pages(shared_data) -> list[dict]:
    """Six real article texts from the shared extraction set."""
    rows = []
    with open(shared_data / "extraction" / "truth.jsonl") as file:
        for line in file:
            row = json.loads(line)
            if row.get("text"):
                rows.append({"id": row["id"], "text": row["text"]})
            if len(rows) == 6:
                break
    return rows


@pytest.fixture()
def short_prompt(tmp_path):
    path = tmp_path / "short_prompt.md"
    path.write_text(SHORT_PROMPT)
    return load_prompt(path)


def _documents(pages, n):
    return [Document(text=page["text"], id=page["id"]) for page in pages[:n]]


@pytest.fixture()
def server(smollm2):
    """curate.annotate.serve's server over the real model, on a random free port of 127.0.0.1."""
    model_server = ModelServer(("127.0.0.1", 0), smollm2, served_model_name="smollm2")
    thread = threading.Thread(target=model_server.serve_forever, daemon=True)
    thread.start()
    yield model_server
    model_server.shutdown()
    model_server.server_close()


def _base_url(model_server) -> str:
    return f"http://127.0.0.1:{model_server.server_address[1]}/v1"


def test_local_backend_applies_the_chat_template_and_generates(smollm2, pages):
    prompt = load_prompt("fineweb_edu", extract_chars=300)
    conversation = [{"role": "user", "content": prompt.render(pages[0]["text"])}]
    rendered = smollm2.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>") and rendered.rstrip().endswith("<|im_start|>assistant")
    assert pages[0]["text"][:100] in rendered

    annotator = LLMAnnotator(smollm2, prompt, max_tokens=8)
    docs = list(annotator.run(_documents(pages, 2)))
    for doc in docs:
        meta = doc.metadata
        assert meta["raw_response"].strip(), "the model answered nothing"
        assert 0 < meta["completion_tokens"] <= 8
        assert (meta["score"] is None) == (meta["null_reason"] is not None)
        assert meta["annotation_model"] == MODEL and meta["prompt_hash"] == prompt.prompt_hash


def test_logprobs_mode_gives_a_score_within_the_scale(smollm2, pages, short_prompt):
    # SmolLM2 splits " 3" into " " + "3", so the prefix must end with the space for a digit to come next
    assert smollm2.score_prefix("Educational score") == "Educational score: "
    for prompt in (short_prompt, load_prompt("finemath_3pt", extract_chars=200)):
        docs = list(LLMAnnotator(smollm2, prompt, mode="logprobs").run(_documents(pages, 2)))
        for doc in docs:
            assert doc.metadata["null_reason"] is None
            assert 0.0 <= doc.metadata["score"] <= prompt.max_score
            assert doc.metadata["completion_tokens"] == 1


def test_openai_backend_against_the_server_both_modes(server, pages, short_prompt):
    backend = OpenAICompatibleBackend("smollm2", base_url=_base_url(server), concurrency=2, tokenizer=MODEL)
    generated = list(LLMAnnotator(backend, short_prompt, max_tokens=6).run(_documents(pages, 2)))
    scored = list(LLMAnnotator(backend, short_prompt, mode="logprobs").run(_documents(pages, 2)))
    assert server.requests_served == 4
    for doc in generated:
        assert doc.metadata["null_reason"] != "error" and doc.metadata["raw_response"].strip()
        assert doc.metadata["annotation_model"] == "smollm2"
    for doc in scored:
        assert 0.0 <= doc.metadata["score"] <= 5.0


class FlakyProxy(ThreadingHTTPServer):
    """Stand-in for a flaky network path: answers HTTP 500 to the first `failures` POSTs, then forwards
    each request to the real server."""

    daemon_threads = True

    def __init__(self, target: str, failures: int):
        self.target, self.failures, self.posts = target, failures, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.posts += 1
            fail = self.server.posts <= self.server.failures
        if fail:
            status, data = 500, b'{"error": {"message": "stand-in failure"}}'
        else:
            url = self.server.target + self.path.removeprefix("/v1")
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                status, data = response.status, response.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_server_error_then_success_is_retried(server, pages, short_prompt):
    proxy = FlakyProxy(_base_url(server), failures=2)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        backend = OpenAICompatibleBackend(
            "smollm2",
            base_url=f"http://127.0.0.1:{proxy.server_address[1]}/v1",
            concurrency=1,
            retries=3,
            backoff_base=0.01,
        )
        docs = list(LLMAnnotator(backend, short_prompt, max_tokens=4).run(_documents(pages, 2)))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert [doc.metadata["null_reason"] == "error" for doc in docs] == [False, False]
    assert proxy.posts == 4  # two 500s retried, then one real answer per document
    assert server.requests_served == 2


def test_server_dying_mid_run_costs_retries_not_the_run_and_a_rerun_fills_the_gaps(
    smollm2, pages, short_prompt, tmp_path
):
    """The server stops listening after its second answer; the run completes with `error` nulls for the rest, and
    a CLI rerun against a restarted server on the same port sends exactly those documents again.

    The first run chains the steps by hand: datatrove's executor forks a manager process, which would inherit
    this in-process server's listening socket and keep it open after the server "dies"."""
    output = tmp_path / "annotations"
    first = ModelServer(("127.0.0.1", 0), smollm2, served_model_name="smollm2")
    port = first.server_address[1]
    threading.Thread(target=first.serve_forever, daemon=True).start()

    def stop_after_two_answers():
        while first.requests_served < 2:
            time.sleep(0.005)
        first.shutdown()
        first.server_close()

    killer = threading.Thread(target=stop_after_two_answers, daemon=True)
    killer.start()
    backend = OpenAICompatibleBackend(
        "smollm2", base_url=f"http://127.0.0.1:{port}/v1", concurrency=1, retries=2, backoff_base=0.05
    )
    steps = [
        SkipAnnotated(str(output)),
        LLMAnnotator(backend, short_prompt, max_tokens=4, batch_size=6),
        AnnotationWriter(str(output), run_id="run1"),
    ]
    data = iter(_documents(pages, 6))
    for step in steps:
        data = step.run(data)
    assert len(list(data)) == 6
    killer.join(timeout=5)
    rows = {row["id"]: row for row in read_annotations(output).to_pylist()}
    assert len(rows) == 6  # every document is in the output, scored or not
    errors = [doc_id for doc_id, row in rows.items() if row["null_reason"] == "error"]
    assert 1 <= len(errors) <= 4 and "gave up after 3 tries" in rows[errors[0]]["raw_response"]

    restarted = ModelServer(("127.0.0.1", port), smollm2, served_model_name="smollm2")
    threading.Thread(target=restarted.serve_forever, daemon=True).start()
    input_file = tmp_path / "docs.jsonl"
    input_file.write_text("".join(json.dumps(page) + "\n" for page in pages))
    argv = [
        "--input", str(input_file), "--prompt", str(tmp_path / "short_prompt.md"), "--backend", "openai",
        "--model", "smollm2", "--base-url", f"http://127.0.0.1:{port}/v1", "--max-tokens", "4",
        "--output", str(output),
    ]  # fmt: skip
    try:
        assert annotate_main(argv) == 0
        assert restarted.requests_served == len(errors)  # only the failed documents were sent again
        rows = {row["id"]: row for row in read_annotations(output).to_pylist()}
        assert len(rows) == 6 and all(row["null_reason"] != "error" for row in rows.values())
        assert annotate_main(argv) == 0  # a third run finds nothing left to do
        assert restarted.requests_served == len(errors)
    finally:
        restarted.shutdown()
        restarted.server_close()


def test_cli_local_backend_writes_the_annotation_columns_and_resumes(pages, tmp_path, capsys, smollm2):
    input_file = tmp_path / "docs.jsonl"
    input_file.write_text("".join(json.dumps(page) + "\n" for page in pages))
    (tmp_path / "p.md").write_text(SHORT_PROMPT)
    output = tmp_path / "out"
    argv = [
        "--input", str(tmp_path / "*.jsonl"), "--prompt", str(tmp_path / "p.md"), "--backend", "local",
        "--model", MODEL, "--threads", "1", "--mode", "logprobs", "--sample", "3", "--seed", "1",
        "--output", str(output),
    ]  # fmt: skip
    assert annotate_main(argv) == 0
    assert "annotated 3 documents this run" in capsys.readouterr().out
    table = read_annotations(output)
    assert table.num_rows == 3
    assert set(table["id"].to_pylist()) <= {page["id"] for page in pages}
    assert set(table["mode"].to_pylist()) == {"logprobs"}
    assert all(0 <= score <= 5 for score in table["score"].to_pylist())
    assert table["text"].to_pylist()[0] in {page["text"] for page in pages}
    assert annotate_main(argv) == 0
    assert "annotated 0 documents this run" in capsys.readouterr().out
    assert read_annotations(output).num_rows == 3


def test_serve_module_runs_as_a_command(tmp_path):
    """`python -m curate.annotate.serve` starts, lists its model and answers a chat request."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "curate.annotate.serve", "--model", MODEL, "--port", "0", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        assert "serving" in line, line
        base = line.strip().split(" on ")[-1]
        with urllib.request.urlopen(f"{base}/models", timeout=30) as response:
            assert json.load(response)["data"][0]["id"] == MODEL
        body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})
        request = urllib.request.Request(
            f"{base}/chat/completions", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert answer["choices"][0]["message"]["content"].strip()
        assert 0 < answer["usage"]["completion_tokens"] <= 3
        bad = urllib.request.Request(f"{base}/completions", data=b'{"prompt": 5}', headers={})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(bad, timeout=30)
        assert error.value.code == 400
    finally:
        process.terminate()
        process.wait(timeout=30)
