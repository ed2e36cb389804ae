"""The annotation step: prompt an LLM about each document and put its score into ``doc.metadata``."""

import json
from itertools import islice

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curate.annotate.backends.base import AnnotationBackend
from curate.annotate.parsing import ERROR, ParsedScore, expected_score, parse_score_line
from curate.annotate.prompts import PromptError, PromptTemplate, load_prompt

MODES = ("generate", "logprobs")


class LLMAnnotator(PipelineStep):
    """Scores documents with an LLM judge (FineWeb-Edu / FineMath / Stack-Edu prompts).

    Sets ``score`` (float, None when unparsed), ``int_score``, ``raw_response``, ``null_reason``,
    ``annotation_model``, ``prompt_hash``, ``annotation_mode`` and ``completion_tokens`` in ``doc.metadata``.
    Every document comes out, scored or not; nulls are counted as ``null_<reason>``.
    """

    name = "🧑‍🏫 LLM annotator"
    type = "🔢 - SCORER"

    def __init__(
        self,
        backend: AnnotationBackend,
        prompt: str | PromptTemplate = "fineweb_edu",
        mode: str = "generate",
        max_tokens: int = 512,
        temperature: float = 0.0,
        batch_size: int = 256,
        top_logprobs: int = 20,
        language: str | None = None,
        language_key: str = "language",
    ):
        """
        Args:
            backend: the LLM backend (``vllm``, ``openai`` or ``local``).
            prompt: a prompt name (``fineweb_edu``, ``finemath``, ``finemath_3pt``, ``stack_edu``), a path, or a
                loaded ``PromptTemplate``.
            mode: ``generate`` (answer + strict last-line parse) or ``logprobs`` (expected score from the
                next-token distribution after the score prefix; one forward pass).
            max_tokens: generate mode: answer length cap (a 100-word justification fits in ~200 tokens).
            temperature: generate mode: 0 = greedy.
            batch_size: documents handed to the backend at once (vLLM schedules them; the openai backend keeps
                ``concurrency`` of them in flight).
            top_logprobs: logprobs mode: candidate tokens asked for (vLLM and OpenAI allow up to 20).
            language: code prompts: the language of every document (a Stack-Edu subset name such as ``Python``).
            language_key: code prompts: metadata key with each document's language, used when ``language`` is None.
        """
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.backend = backend
        self.prompt = prompt if isinstance(prompt, PromptTemplate) else load_prompt(prompt)
        self.mode = mode
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.batch_size = batch_size
        self.top_logprobs = top_logprobs
        self.language = language
        self.language_key = language_key

    def annotate_batch(self, documents: list[Document]) -> None:
        """Annotate documents in place (their metadata); rendering errors become ``error`` nulls."""
        conversations, pending = [], []
        for document in documents:
            try:
                content = self.prompt.render(document.text, self._language_of(document))
            except PromptError as error:
                self._record(document, ParsedScore(None, None, ERROR), str(error), 0)
                continue
            conversations.append([{"role": "user", "content": content}])
            pending.append(document)
        if not pending:
            return
        if self.mode == "generate":
            completions = self.backend.generate(conversations, self.max_tokens, self.temperature)
            for document, completion in zip(pending, completions, strict=True):
                if completion.error is not None:
                    self._record(document, ParsedScore(None, None, ERROR), completion.error, 0)
                    continue
                parsed = parse_score_line(completion.text, self.prompt.score_label, self.prompt.max_score)
                self._record(document, parsed, completion.text, completion.completion_tokens)
        else:
            prefix = self.backend.score_prefix(self.prompt.score_label)
            candidates = self.backend.next_token_logprobs(conversations, prefix, self.top_logprobs)
            for document, result in zip(pending, candidates, strict=True):
                if result.error is not None:
                    self._record(document, ParsedScore(None, None, ERROR), result.error, 0)
                    continue
                parsed = expected_score(result.top_logprobs, self.prompt.max_score)
                self._record(document, parsed, json.dumps(result.top_logprobs, ensure_ascii=False), 1)

    def _language_of(self, document: Document) -> str | None:
        return self.language or document.metadata.get(self.language_key)

    def _record(self, document: Document, parsed: ParsedScore, raw_response: str, completion_tokens: int) -> None:
        document.metadata.update(
            score=parsed.score,
            int_score=parsed.int_score,
            raw_response=raw_response,
            null_reason=parsed.null_reason,
            annotation_model=self.backend.model,
            prompt_hash=self.prompt.prompt_hash,
            annotation_mode=self.mode,
            completion_tokens=completion_tokens,
        )
        if self.prompt.needs_language:
            document.metadata[self.language_key] = self._language_of(document)
        self.stat_update("annotated" if parsed.score is not None else f"null_{parsed.null_reason}")
        self.stat_update("completion_tokens", value=completion_tokens)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.backend.start(rank, world_size)
        try:
            iterator = iter(data)
            while batch := list(islice(iterator, self.batch_size)):
                with self.track_time(unit="batch"):
                    self.annotate_batch(batch)
                yield from batch
        finally:
            self.backend.close()
