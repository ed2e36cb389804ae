"""Annotation plumbing with the REAL SmolLM2-135M-Instruct (bundled GGUF), on CPU through transformers.

The model is far too small to judge pages (DESIGN.md §4), so nothing here asserts on its scores: only that
prompts reach it through its chat template, answers come back, scores, nulls and resume are recorded as they
should be, and the text it judges is the recipe's. Most tests use a short prompt written here so each forward pass
stays small. The vLLM backends (offline and served) run in tests/vllm/, in the vLLM environment.
"""

import gzip
import io
import json
from pathlib import Path

import pytest
from datatrove.data import Document
from safetensors import safe_open
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curate.annotate import LLMAnnotator, LocalBackend, load_prompt, read_annotations
from curate.annotate.__main__ import main as annotate_main
from curate.annotate.backends.model_files import model_dir
from curate.blocks.math_extract import MathHtmlExtractor
from curate.config import load_recipe_config
from curate.recipes.common import extractor

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


def test_the_converted_model_folder_has_what_vllm_loads(smollm2):
    folder = Path(model_dir(MODEL))
    config = json.loads((folder / "config.json").read_text())
    assert config["tie_word_embeddings"] is True and "quantization_config" not in config
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        names = set(weights.keys())
    # vLLM ties lm_head to the input embedding: a folder holding only lm_head.weight scored every token alike
    assert "model.embed_tokens.weight" in names


MATH_PAGES = (  # MathJax, KaTeX, MathML and LaTeX images
    "llmwk-bench-math_stackexchange_1",
    "llmwk-bench-math_katex_latex_3",
    "llmwk-bench-math_none_mathml_1",
    "llmwk-bench-math_img_1",
)


def _math_warc(shared_data, path: Path) -> dict[str, str]:
    """A Common-Crawl-shaped WARC of real math pages; returns their HTML by URL."""
    truth = {row["id"]: row for row in map(json.loads, (shared_data / "math" / "truth.jsonl").open())}
    pages = {}
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"isPartOf": "CC-MAIN-2024-10"}))
        for page_id in MATH_PAGES:
            body = gzip.decompress((shared_data / "math" / truth[page_id]["file"]).read_bytes())
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            url = truth[page_id]["url"]
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers)
            )
            pages[url] = body.decode("utf-8")
    return pages


def test_math_pages_from_a_warc_are_annotated_on_the_finemath_recipes_text(shared_data, smollm2, tmp_path):
    """With the FineMath prompt and --reader recipe, annotation reads the WARC through the finemath recipe's reader
    and math extractor: the stored text keeps the LaTeX exactly as the recipe writes it (trafilatura, the reader
    annotation used before, drops nearly all of it). The recipe's 1 s extraction timeout is raised through --set:
    the 1 MB KaTeX page can take longer on a busy 2-core machine."""
    html = _math_warc(shared_data, tmp_path / "math.warc.gz")
    argv = [
        "--input", str(tmp_path / "math.warc.gz"), "--reader", "recipe", "--prompt", "finemath", "--backend", "local",
        "--set", "extraction.timeout=30", "--model", MODEL, "--threads", "1", "--mode", "logprobs",
        "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    assert annotate_main(argv) == 0
    stored = sorted(read_annotations(tmp_path / "out")["text"].to_pylist())
    recipe = load_recipe_config("finemath", ["extraction.timeout=30"])
    recipe_extractor = extractor(recipe)
    assert isinstance(recipe_extractor, MathHtmlExtractor)
    assert stored == sorted(recipe_extractor.extract(page) for page in html.values())
    assert all(text.count("$") >= 100 for text in stored)  # every page keeps its formulas, as $…$ / $$…$$
