"""The ``openai`` backend for real: vLLM's own OpenAI server (``python -m vllm.entrypoints.openai.api_server``,
vLLM's CPU build) serving SmolLM2-135M-Instruct on 127.0.0.1 and a free port, in generate and logprobs mode.

Two servers start in this module: one serves the tests in order, and the last test kills it mid-run and starts the
second. What the server answered is read from its own Prometheus counters (``/metrics``).
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from vllm_shared import MODEL, SERVER_ENGINE_ARGS, write_jsonl

from curate.annotate import LLMAnnotator, OpenAICompatibleBackend, load_prompt, read_annotations
from curate.annotate.__main__ import main as annotate_main

pytest.importorskip("vllm", reason="needs vLLM: run these in the vLLM environment (make vllm-env)")

SERVED_NAME = "smollm2"


@dataclass
class VLLMServer:
    process: subprocess.Popen
    base_url: str  # the /v1 root

    def requests_served(self) -> int:
        """Requests the server finished (``vllm:request_success_total``, summed over finish reasons)."""
        with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        return int(sum(float(line.split()[-1]) for line in lines if line.startswith("vllm:request_success_total{")))

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the API server and its engine-core process
        self.process.wait(timeout=60)


def start_server(model_folder: str, log_path) -> VLLMServer:
    """vLLM's OpenAI server on a free port of 127.0.0.1, once its /health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_folder,
        "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port), *SERVER_ENGINE_ARGS,
        "--disable-uvicorn-access-log",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = VLLMServer(process, f"http://127.0.0.1:{port}/v1")
    deadline = time.monotonic() + 900
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"vLLM's server did not start; its log: {log_path.read_text()[-3000:]}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def server(model_folder, tmp_path_factory):
    instance = start_server(model_folder, tmp_path_factory.mktemp("server") / "vllm.log")
    yield instance
    instance.kill()


def _argv(input_path, prompt, output, base_url, *extra: str) -> list[str]:
    return [
        "--input", str(input_path), "--prompt", str(prompt), "--backend", "openai", "--model", SERVED_NAME,
        "--tokenizer", MODEL, "--base-url", base_url, "--output", str(output), *extra,
    ]  # fmt: skip


def _rows(output) -> dict[str, dict]:
    return {row["id"]: row for row in read_annotations(output).to_pylist()}


def test_both_modes_against_vllms_server(server, pages, short_prompt, tmp_path, local_logprob_scores):
    input_file = write_jsonl(tmp_path / "pages.jsonl", pages[:4])
    before = server.requests_served()
    generate = _argv(input_file, short_prompt, tmp_path / "generate", server.base_url, "--max-tokens", "8")
    assert annotate_main(generate) == 0
    assert (
        annotate_main(_argv(input_file, short_prompt, tmp_path / "logprobs", server.base_url, "--mode", "logprobs"))
        == 0
    )
    assert server.requests_served() - before == 8

    for row in _rows(tmp_path / "generate").values():
        assert row["null_reason"] != "error" and row["raw_response"].strip()
        assert 0 < row["completion_tokens"] <= 8 and row["model"] == SERVED_NAME
    # the served float32 model gives the next-token distribution the transformers backend computes
    served = _rows(tmp_path / "logprobs")
    for doc_id, local_score in local_logprob_scores.items():
        assert served[doc_id]["score"] == pytest.approx(local_score, abs=0.02)


class FlakyProxy(ThreadingHTTPServer):
    """Stand-in for a flaky path to the server (no real one answers errors on demand): the first POSTs get the
    ``failures`` statuses in turn, later ones are forwarded to vLLM's server."""

    daemon_threads = True

    def __init__(self, target: str, failures: list[int]):
        self.target, self.failures, self.posts = target, list(failures), 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.posts += 1
            status = self.server.failures.pop(0) if self.server.failures else None
        if status is not None:
            data = b'{"error": {"message": "stand-in failure"}}'
        else:
            url = self.server.target + self.path.removeprefix("/v1")
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as response:
                status, data = response.status, response.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_server_errors_are_retried_then_answered(server, pages, short_prompt):
    proxy = FlakyProxy(server.base_url, failures=[503, 429])
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    before = server.requests_served()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        backend = OpenAICompatibleBackend(SERVED_NAME, base_url=url, concurrency=1, retries=3, tokenizer=MODEL)
        docs = [Document(text=page["text"], id=page["id"]) for page in pages[:2]]
        annotated = list(LLMAnnotator(backend, load_prompt(short_prompt), mode="logprobs").run(docs))
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert [doc.metadata["null_reason"] for doc in annotated] == [None, None]
    assert proxy.posts == 4  # a 503 and a 429 retried, then one real answer per document
    assert server.requests_served() - before == 2


def test_server_killed_mid_run_resumes_with_nothing_lost_or_duplicated(
    server, model_folder, pages, short_prompt, tmp_path
):
    """The server is killed after its second answer of this run: the run completes with `error` nulls for the
    documents it could not answer, and a rerun against a new server sends exactly those again. (This test ends
    the module's server, so it comes last.)"""
    input_file = write_jsonl(tmp_path / "pages.jsonl", pages[:6])
    output = tmp_path / "out"
    start = server.requests_served()

    def kill_after_two_answers():
        while server.requests_served() - start < 2:
            time.sleep(0.05)
        server.kill()

    killer = threading.Thread(target=kill_after_two_answers, daemon=True)
    killer.start()
    argv = ["--max-tokens", "16", "--concurrency", "1", "--retries", "2"]
    assert annotate_main(_argv(input_file, short_prompt, output, server.base_url, *argv)) == 0
    killer.join(timeout=60)
    assert server.process.poll() is not None, "the server was never killed"
    rows = _rows(output)
    assert sorted(rows) == sorted(page["id"] for page in pages[:6])  # every document is in the output
    errors = sorted(doc_id for doc_id, row in rows.items() if row["null_reason"] == "error")
    assert 1 <= len(errors) <= 4
    assert all(rows[doc_id]["raw_response"].startswith("gave up after 3 tries") for doc_id in errors)

    restarted = start_server(model_folder, tmp_path / "vllm-restarted.log")
    try:
        rerun = _argv(input_file, short_prompt, output, restarted.base_url, *argv)
        assert annotate_main(rerun) == 0
        assert restarted.requests_served() == len(errors)  # only the failed documents were sent again
        rows = _rows(output)
        assert sorted(rows) == sorted(page["id"] for page in pages[:6])
        assert all(row["null_reason"] != "error" for row in rows.values())
        assert annotate_main(rerun) == 0  # a third run finds nothing left to do
        assert restarted.requests_served() == len(errors)
    finally:
        restarted.kill()
    # every document has exactly one answer on disk, plus the error rows the rerun replaced
    answers = [row for shard in output.glob("*.parquet") for row in pq.read_table(shard).to_pylist()]
    assert sorted(row["id"] for row in answers if row["null_reason"] != "error") == sorted(rows)
    assert sorted(row["id"] for row in answers if row["null_reason"] == "error") == errors
