"""LLM backends for annotation, all behind ``AnnotationBackend``: ``vllm`` (offline ``vllm.LLM``, GPUs or vLLM's CPU
build), ``openai`` (any OpenAI-compatible server, e.g. vLLM's) and ``local`` (transformers on CPU)."""

from curate.annotate.backends.base import AnnotationBackend, Completion, Conversation, NextTokenLogprobs
from curate.annotate.backends.local import LocalBackend
from curate.annotate.backends.openai_compatible import OpenAICompatibleBackend
from curate.annotate.backends.vllm_offline import VLLMBackend

BACKENDS = {"vllm": VLLMBackend, "openai": OpenAICompatibleBackend, "local": LocalBackend}


def make_backend(name: str, model: str, **options) -> AnnotationBackend:
    """A backend by name; ``options`` go to its constructor (None values are left to its defaults)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name](model, **{key: value for key, value in options.items() if value is not None})


__all__ = [
    "AnnotationBackend",
    "BACKENDS",
    "Completion",
    "Conversation",
    "LocalBackend",
    "NextTokenLogprobs",
    "OpenAICompatibleBackend",
    "VLLMBackend",
    "make_backend",
]
