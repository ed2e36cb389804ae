"""Annotation without a model: prompts, strict parsers, result shapes, the CLI's options, the openai client's retry
policy, sampling and the resumable store. The real backends run in test_annotate_smollm2.py and tests/vllm/."""

import json
import math
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from curate.annotate import (
    AnnotationWriter,
    LLMAnnotator,
    OpenAICompatibleBackend,
    ReservoirSampler,
    SkipAnnotated,
    expected_score,
    finished_ids,
    load_prompt,
    make_backend,
    parse_score_line,
    read_annotations,
)
from curate.annotate.__main__ import backend_options, engine_args, parse_args, split_input
from curate.annotate.__main__ import main as annotate_main
from curate.annotate.backends.base import AnnotationBackend, Completion, NextTokenLogprobs
from curate.annotate.backends.openai_compatible import first_token_top_logprobs
from curate.annotate.backends.vllm_offline import merge_token_logprobs
from curate.annotate.prompts import PromptError, prompt_hash, recipe_of_prompt
from curate.config import ConfigError
from curate.retry import LLM_SERVER

# ---------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    "name, label, scale",
    [
        ("fineweb_edu", "Educational score", 5),
        ("finemath", "Final score", 5),
        ("finemath_3pt", "Final score", 3),
        ("finemath_5pt", "Final score", 5),
        ("stack_edu", "Educational score", 5),
    ],
)
def test_named_prompts_follow_the_recipe_structure(name, label, scale):
    prompt = load_prompt(name)
    assert (prompt.score_label, prompt.max_score) == (label, scale)
    # the instruction for the last line names the exact format the parser reads
    assert f'"{label}: <points>"' in prompt.text
    assert "100 words" in prompt.text
    assert len(prompt.prompt_hash) == 64


def test_fineweb_edu_prompt_sees_the_first_1000_characters():
    prompt = load_prompt("fineweb_edu")
    page = "a" * 999 + "B" + "c" * 500
    rendered = prompt.render(page)
    assert "a" * 999 + "B" in rendered
    assert "c" not in rendered.split('"""')[1]
    assert load_prompt("fineweb_edu", extract_chars=10).render(page).split('"""')[1].strip() == "a" * 10


def test_placeholders_inside_the_document_are_not_filled():
    rendered = load_prompt("stack_edu").render("print('{language} {extract}')", language="Rust")
    assert "print('{language} {extract}')" in rendered
    assert "an extract from a Rust program" in rendered


def test_stack_edu_third_criterion_example_changes_with_language():
    prompt = load_prompt("stack_edu")
    python, sql = prompt.render("x = 1", "Python"), prompt.render("SELECT 1", "SQL")
    assert prompt.language_examples["Python"]["example"] in python
    assert prompt.language_examples["SQL"]["example"] in sql
    assert prompt.language_examples["SQL"]["example"] not in python
    assert "a C# program" in prompt.render("x", "CSharp")  # subset names map to display names
    with pytest.raises(PromptError, match="needs a language"):
        prompt.render("x = 1")
    with pytest.raises(PromptError, match="no example"):
        prompt.render("x", "Fortran")


def test_prompt_file_without_front_matter_infers_label_and_scale(tmp_path):
    path = tmp_path / "official.txt"
    path.write_text('Use the 3-point scale.\n{extract}\nEnd with "Final score: <total points>".\n')
    prompt = load_prompt(path)
    assert (prompt.score_label, prompt.max_score, prompt.extract_chars) == ("Final score", 3, 1000)
    assert prompt.prompt_hash == prompt_hash(path.read_text())
    path.write_text(path.read_text() + " ")
    assert load_prompt(path).prompt_hash != prompt.prompt_hash  # any change to the file changes the hash


def test_bad_prompt_files_are_clear_errors(tmp_path):
    no_placeholder = tmp_path / "a.md"
    no_placeholder.write_text("Educational score: <points>")
    with pytest.raises(PromptError, match="no {extract}"):
        load_prompt(no_placeholder)
    no_label = tmp_path / "b.md"
    no_label.write_text("rate {extract}")
    with pytest.raises(PromptError, match="score label"):
        load_prompt(no_label)
    with pytest.raises(PromptError, match="neither a file"):
        load_prompt("no_such_prompt")


# ---------------------------------------------------------------- strict parsing


@pytest.mark.parametrize(
    "response, score, reason",
    [
        ("The page teaches fractions.\nEducational score: 4", 4, None),
        ("Justification.\n\n  Educational score:3  \n\n", 3, None),
        ("Justification.\nEducational score: 2.", 2, None),  # one trailing period is tolerated
        ("Educational score: 0", 0, None),
        ("Educational score: 5", 5, None),
        ("Educational score: 6", None, "out_of_range"),
        ("Educational score: -1", None, "out_of_range"),
        ("Educational score: 3\nThanks!", None, "no_score_line"),  # only the last line counts
        ("Educational Score: 3", None, "no_score_line"),  # exact label
        ("**Educational score: 3**", None, "no_score_line"),
        ("Educational score: 3/5", None, "no_score_line"),
        ("Educational score: 3.5", None, "no_score_line"),
        ("Final score: 3", None, "no_score_line"),  # the other recipe's label
        ("I would give it a 3.", None, "no_score_line"),
        ("", None, "empty_response"),
        ("  \n\n ", None, "empty_response"),
        (None, None, "empty_response"),
    ],
)
def test_generate_mode_parses_only_an_exact_last_line(response, score, reason):
    parsed = parse_score_line(response, "Educational score", 5)
    assert parsed.null_reason == reason
    assert parsed.score == (None if score is None else float(score))
    assert parsed.int_score == score


def test_final_score_scale_is_the_prompts():
    assert parse_score_line("ok\nFinal score: 3", "Final score", 3).int_score == 3
    assert parse_score_line("ok\nFinal score: 4", "Final score", 3).null_reason == "out_of_range"


def test_logprobs_mode_expected_score_over_digits_renormalised():
    top = {" 3": math.log(0.3), "3": math.log(0.1), "4": math.log(0.2), "Hello": math.log(0.35), "7": math.log(0.05)}
    parsed = expected_score(top, max_score=5)
    # digits 3 (0.4) and 4 (0.2); "Hello" and the out-of-scale 7 are left out and the rest renormalised
    assert parsed.score == pytest.approx((3 * 0.4 + 4 * 0.2) / 0.6)
    assert parsed.int_score == 3
    assert parsed.null_reason is None
    assert expected_score({"The": -0.1, " A": -2.0}, 5).null_reason == "no_digit_token"
    assert expected_score({"0": 0.0}, 5).score == 0.0
    # non-ASCII digits (SmolLM2 proposes "²") are not scores and must not crash the parse
    assert expected_score({"²": -0.5, "4": -1.0}, 5).score == 4.0


# ---------------------------------------------------------------- backend result shapes


def test_token_logprobs_decoding_to_the_same_text_add_up():
    merged = merge_token_logprobs([("3", -0.5), ("4", -1.5), ("3", -2.0), ("\n", -3.0)])
    assert merged["3"] == pytest.approx(math.log(math.exp(-0.5) + math.exp(-2.0)))
    assert (merged["4"], merged["\n"]) == (-1.5, -3.0)


def test_openai_completion_logprobs_in_both_response_shapes():
    legacy = {"choices": [{"logprobs": {"top_logprobs": [{" 3": -0.2, " 4": -1.9}]}}]}
    chat_like = {"choices": [{"logprobs": {"content": [{"top_logprobs": [{"token": "3", "logprob": -0.4}]}]}}]}
    assert first_token_top_logprobs(legacy) == {" 3": -0.2, " 4": -1.9}
    assert first_token_top_logprobs(chat_like) == {"3": -0.4}


# ---------------------------------------------------------------- annotator, sampler, store


class ScriptedBackend(AnnotationBackend):
    """Stand-in backend returning scripted answers, to test the step's bookkeeping without a model."""

    name = "scripted"

    def __init__(self, answers):
        super().__init__("scripted-model")
        self.answers = answers
        self.seen: list[str] = []

    def generate(self, conversations, max_tokens, temperature):
        self.seen += [conv[-1]["content"] for conv in conversations]
        return [self.answers[conv[-1]["content"].split("<<")[1].split(">>")[0]] for conv in conversations]

    def next_token_logprobs(self, conversations, assistant_prefix, top_logprobs):
        return [NextTokenLogprobs(top_logprobs={"2": -0.1, "3": -2.4})] * len(conversations)

    def score_prefix(self, score_label):
        return f"{score_label}:"


def _docs(ids):
    return [Document(text=f"page <<{i}>> body", id=i) for i in ids]


def test_annotator_records_scores_and_null_reasons():
    answers = {
        "a": Completion(text="good\nEducational score: 4", completion_tokens=9),
        "b": Completion(text="no idea", completion_tokens=2),
        "c": Completion(error="HTTP 503: down"),
    }
    annotator = LLMAnnotator(ScriptedBackend(answers), "fineweb_edu", batch_size=2)
    docs = list(annotator.run(_docs("abc")))
    meta = {d.id: d.metadata for d in docs}
    assert (meta["a"]["score"], meta["a"]["int_score"], meta["a"]["null_reason"]) == (4.0, 4, None)
    assert (meta["b"]["score"], meta["b"]["null_reason"], meta["b"]["raw_response"]) == (
        None,
        "no_score_line",
        "no idea",
    )
    assert (meta["c"]["null_reason"], meta["c"]["raw_response"]) == ("error", "HTTP 503: down")
    assert meta["a"]["prompt_hash"] == load_prompt("fineweb_edu").prompt_hash
    assert annotator.stats["annotated"].total == 1
    assert annotator.stats["null_no_score_line"].total == 1
    assert annotator.stats["null_error"].total == 1


def test_annotator_logprobs_mode_and_missing_language():
    annotator = LLMAnnotator(ScriptedBackend({}), "stack_edu", mode="logprobs")
    docs = _docs("xy")
    docs[0].metadata["language"] = "Go"
    list(annotator.run(docs))
    p2, p3 = math.exp(-0.1), math.exp(-2.4)
    assert docs[0].metadata["score"] == pytest.approx((2 * p2 + 3 * p3) / (p2 + p3))
    assert json.loads(docs[0].metadata["raw_response"]) == {"2": -0.1, "3": -2.4}
    assert docs[1].metadata["null_reason"] == "error"  # no language: counted, not a crash
    assert "language" in docs[1].metadata["raw_response"]


def test_reservoir_sample_is_fixed_by_seed_and_exact_in_size():
    docs = [Document(text=str(i), id=str(i)) for i in range(100)]
    first = [d.id for d in ReservoirSampler(10, seed=3).run(iter(docs))]
    again = [d.id for d in ReservoirSampler(10, seed=3).run(iter(docs))]
    other = [d.id for d in ReservoirSampler(10, seed=4).run(iter(docs))]
    assert first == again and len(first) == 10 and first != other
    assert first == sorted(first, key=int)  # input order kept
    assert len(list(ReservoirSampler(500).run(iter(docs)))) == 100
    ranks = [[d.id for d in ReservoirSampler(10, seed=3).run(iter(docs), rank=r, world_size=3)] for r in range(3)]
    assert [len(r) for r in ranks] == [4, 3, 3]


def _write_run(folder, run_id, rows):
    """Write one run's shard through the real writer from (id, score, null_reason) triples."""
    writer = AnnotationWriter(str(folder), run_id=run_id)
    with writer:
        for doc_id, score, reason in rows:
            doc = Document(text=f"text {doc_id}", id=doc_id)
            doc.metadata.update(score=score, int_score=None if score is None else int(score), null_reason=reason)
            doc.metadata.update(annotation_model="m", prompt_hash="h", annotation_mode="generate", raw_response="r")
            writer.write(doc)


def test_store_merges_runs_and_resume_retries_only_errors(tmp_path):
    _write_run(tmp_path, "20250101T000000Z", [("a", 3.0, None), ("b", None, "error"), ("c", None, "no_score_line")])
    assert finished_ids(tmp_path) == {"a", "c"}
    assert finished_ids(tmp_path, retry_unparsed=True) == {"a"}
    skip = SkipAnnotated(str(tmp_path))
    kept = [d.id for d in skip.run(iter(_docs("abcd")))]
    assert kept == ["b", "d"]
    assert skip.stats["already_annotated"].total == 2

    _write_run(tmp_path, "20250102T000000Z", [("b", 1.0, None), ("d", None, "error")])
    merged = {row["id"]: row for row in read_annotations(tmp_path).to_pylist()}
    assert sorted(merged) == ["a", "b", "c", "d"]
    assert merged["b"]["score"] == 1.0 and merged["b"]["null_reason"] is None
    assert merged["a"]["text"] == "text a"
    assert finished_ids(tmp_path) == {"a", "b", "c"}
    # a later error never hides an earlier score
    _write_run(tmp_path, "20250103T000000Z", [("a", None, "error")])
    assert {r["id"]: r["score"] for r in read_annotations(tmp_path).to_pylist()}["a"] == 3.0


def test_store_columns_and_unreadable_shards(tmp_path):
    _write_run(tmp_path, "r1", [("a", 2.0, None)])
    (tmp_path / "r2_00000.parquet").write_bytes(b"PAR1 truncated by a killed run")
    shard = next(tmp_path.glob("*r1_*.parquet"))
    columns = pq.read_schema(shard).names
    for column in ("id", "text", "score", "int_score", "raw_response", "null_reason", "model", "prompt_hash", "mode"):
        assert column in columns
    assert read_annotations(tmp_path)["id"].to_pylist() == ["a"]


def test_split_input(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.jsonl").write_text("")
    assert split_input(str(tmp_path / "d")) == (str(tmp_path / "d"), None)
    assert split_input(str(tmp_path / "d" / "x.jsonl")) == (str(tmp_path / "d"), "x.jsonl")
    assert split_input(str(tmp_path / "d" / "*.jsonl")) == (str(tmp_path / "d"), "*.jsonl")


# ---------------------------------------------------------------- CLI options


def test_each_named_prompt_belongs_to_its_recipe(tmp_path):
    assert [recipe_of_prompt(name) for name in ("fineweb_edu", "finemath", "finemath_3pt", "stack_edu")] == [
        "fineweb_edu",
        "finemath",
        "finemath",
        "stack_edu",
    ]
    own = tmp_path / "prompt.md"
    own.write_text("Educational score: {extract}")
    assert recipe_of_prompt(own) is None


def test_recipe_reader_without_a_recipe_is_a_one_line_error(tmp_path, capsys):
    own = tmp_path / "prompt.md"
    own.write_text("Educational score: {extract}")
    argv = ["--input", str(tmp_path), "--reader", "recipe", "--prompt", str(own), "--backend", "local"]
    assert annotate_main([*argv, "--model", "m", "--output", str(tmp_path / "out")]) == 2
    assert "--recipe" in capsys.readouterr().err


def test_vllm_engine_options_reach_the_backend():
    args = parse_args(
        [
            "--input", "x", "--output", "y", "--backend", "vllm", "--model", "m", "--tensor-parallel-size", "4",
            "--max-model-len", "4096", "--gpu-memory-utilization", "0.85", "--dtype", "bfloat16",
            "--max-num-seqs", "64", "--max-num-batched-tokens", "8192", "--enforce-eager",
            "--engine-arg", "quantization=fp8", "--engine-arg", "swap_space=4",
        ]
    )  # fmt: skip
    backend = make_backend("vllm", "m", **backend_options(args))
    assert backend.engine_args == {
        "tensor_parallel_size": 4,
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.85,
        "kv_cache_memory_bytes": None,  # left to vLLM
        "dtype": "bfloat16",
        "max_num_seqs": 64,
        "max_num_batched_tokens": 8192,
        "enforce_eager": True,
        "seed": 0,
        "quantization": "fp8",
        "swap_space": 4,
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        engine_args(["no-equals-sign"])


# ---------------------------------------------------------------- the openai client's retry policy


class StatusServer(ThreadingHTTPServer):
    """Stand-in for a server in trouble (a real one cannot be made to answer a chosen status): every POST gets
    ``status``; ``posts`` counts them."""

    daemon_threads = True

    def __init__(self, status: int):
        self.status, self.posts = status, 0
        super().__init__(("127.0.0.1", 0), _StatusHandler)


class _StatusHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts += 1
        body = json.dumps({"error": {"message": f"stand-in {self.server.status}"}}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [400, 404, 408, 409, 422, 429, 500, 503])
def test_the_client_retries_exactly_the_named_statuses(status):
    server = StatusServer(status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        backend = OpenAICompatibleBackend("m", base_url=url, retries=1, concurrency=1)
        [completion] = backend.generate([[{"role": "user", "content": "hi"}]], max_tokens=1, temperature=0.0)
    finally:
        server.shutdown()
        server.server_close()
    retried = status in LLM_SERVER.retry_statuses
    assert server.posts == (2 if retried else 1)
    assert completion.text is None and f"HTTP {status}" in completion.error
    assert completion.error.startswith("gave up after 2 tries") == retried


def test_the_named_backoff_is_the_clients():
    from openai import _constants

    waits = (LLM_SERVER.first_wait_s, LLM_SERVER.max_wait_s)
    assert waits == (_constants.INITIAL_RETRY_DELAY, _constants.MAX_RETRY_DELAY)
    assert LLM_SERVER.attempts - 1 == OpenAICompatibleBackend("m").retries


def test_a_server_that_is_not_there_costs_retries_then_an_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    backend = OpenAICompatibleBackend("m", base_url=f"http://127.0.0.1:{port}/v1", retries=1)
    [result] = backend.generate([[{"role": "user", "content": "hi"}]], max_tokens=1, temperature=0.0)
    assert result.text is None
    assert result.error.startswith("gave up after 2 tries: APIConnectionError")
