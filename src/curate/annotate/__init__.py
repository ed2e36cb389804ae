"""LLM annotation: prompts, strict score parsers, backends (offline vLLM, an OpenAI-compatible server such as vLLM's,
transformers on CPU), and the annotation step with its Parquet store. CLI: ``python -m curate.annotate``; see
docs/annotation.md."""

from curate.annotate.annotator import LLMAnnotator
from curate.annotate.backends import (
    AnnotationBackend,
    LocalBackend,
    OpenAICompatibleBackend,
    VLLMBackend,
    make_backend,
)
from curate.annotate.parsing import ParsedScore, expected_score, parse_score_line
from curate.annotate.prompts import PromptTemplate, load_prompt
from curate.annotate.sampling import ReservoirSampler
from curate.annotate.store import AnnotationWriter, SkipAnnotated, finished_ids, read_annotations

__all__ = [
    "AnnotationBackend",
    "AnnotationWriter",
    "LLMAnnotator",
    "LocalBackend",
    "OpenAICompatibleBackend",
    "ParsedScore",
    "PromptTemplate",
    "ReservoirSampler",
    "SkipAnnotated",
    "VLLMBackend",
    "expected_score",
    "finished_ids",
    "load_prompt",
    "make_backend",
    "parse_score_line",
    "read_annotations",
]
