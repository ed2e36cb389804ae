"""Any OpenAI-compatible server (vLLM's ``python -m vllm.entrypoints.openai.api_server`` or ``vllm serve``,
llama.cpp, TGI…), through the official ``openai`` client.

Why not datatrove's ``InferenceRunner``: its retry schedule is fixed (6 tries, 5 s·2^n, no jitter), a request
that still fails raises and ends the whole task instead of leaving one document with a null score, it
resumes by chunk position rather than by document id, and it owns the output writer. Here a dead server
costs retries, then each affected document gets ``null_reason="error"`` and the run goes on; a rerun
retries exactly those documents.
"""

import asyncio
import os

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)
from curate.annotate.backends.model_files import chat_token_ids, load_tokenizer
from curate.retry import LLM_SERVER

# local servers (vLLM without --api-key) take any key, but the client will not start without one
NO_API_KEY = "none"


class OpenAICompatibleBackend(AnnotationBackend):
    """Sends chat requests (generate mode) or completion requests with logprobs (logprobs mode) concurrently."""

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "http://127.0.0.1:8000/v1",
        concurrency: int = 32,
        timeout: float = 300.0,
        retries: int = LLM_SERVER.attempts - 1,
        api_key: str | None = None,
        tokenizer: str | None = None,
    ):
        """
        Args:
            model: the model name the server serves (sent as ``model`` in each request).
            base_url: the server's ``/v1`` root.
            concurrency: requests in flight at once (the server batches what arrives together).
            timeout: seconds per request.
            retries: tries after the first (``curate.retry.LLM_SERVER``) before a document gets an error null.
            api_key: the server's key (default: ``$OPENAI_API_KEY``, else none).
            tokenizer: logprobs mode only: the tokenizer whose chat template builds the prompt (Hub id, folder,
                ``.gguf`` or ``bundled:``); default: ``model``.
        """
        super().__init__(model)
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.api_key = api_key
        self.tokenizer_ref = tokenizer or model

    @property
    def tokenizer(self):
        return load_tokenizer(self.tokenizer_ref)

    def score_prefix(self, score_label: str) -> str:
        return score_prefix_for_tokenizer(self.tokenizer, score_label)

    def generate(self, conversations: list[Conversation], max_tokens: int, temperature: float) -> list[Completion]:
        requests = [
            {"model": self.model, "messages": conv, "max_tokens": max_tokens, "temperature": temperature}
            for conv in conversations
        ]
        results = []
        for response, error in asyncio.run(self._send_all("chat", requests)):
            if error is not None:
                results.append(Completion(error=error))
                continue
            tokens = response.usage.completion_tokens if response.usage else 0
            results.append(Completion(text=response.choices[0].message.content or "", completion_tokens=tokens))
        return results

    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        # token ids, not text: a server tokenizing the rendered text would add a second BOS token
        requests = [
            {
                "model": self.model,
                "prompt": chat_token_ids(self.tokenizer, conv, assistant_prefix),
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": top_logprobs,
            }
            for conv in conversations
        ]
        results = []
        for response, error in asyncio.run(self._send_all("completions", requests)):
            if error is not None:
                results.append(NextTokenLogprobs(error=error))
                continue
            try:
                results.append(NextTokenLogprobs(top_logprobs=first_token_top_logprobs(response.to_dict())))
            except (KeyError, IndexError, TypeError) as shape_error:
                results.append(NextTokenLogprobs(error=f"response without logprobs: {shape_error!r}"))
        return results

    async def _send_all(self, endpoint: str, requests: list[dict]) -> list[tuple[object | None, str | None]]:
        """Each request to ``chat`` (``/chat/completions``) or ``completions``, ``concurrency`` at a time:
        ``(response, None)``, or ``(None, error message)`` once the client's retries are spent."""
        import openai

        api_key = self.api_key or os.environ.get("OPENAI_API_KEY") or NO_API_KEY
        semaphore = asyncio.Semaphore(self.concurrency)
        # one client per batch: its connection pool belongs to this asyncio.run's event loop
        async with openai.AsyncOpenAI(
            base_url=self.base_url, api_key=api_key, max_retries=self.retries, timeout=self.timeout
        ) as client:
            create = client.chat.completions.create if endpoint == "chat" else client.completions.create

            async def send(request: dict) -> tuple[object | None, str | None]:
                async with semaphore:
                    try:
                        return await create(**request), None
                    except openai.APIError as error:
                        return None, self._describe(error)

            return await asyncio.gather(*(send(request) for request in requests))

    def _describe(self, error) -> str:
        """The error null's message: what failed, and whether it was retried."""
        status = getattr(error, "status_code", None)
        what = f"HTTP {status}: {error.message}" if status else f"{type(error).__name__}: {error.message}"
        retried = status is None or status in LLM_SERVER.retry_statuses
        return f"gave up after {self.retries + 1} tries: {what}" if retried else what


def first_token_top_logprobs(response: dict) -> dict[str, float]:
    """``{token: logprob}`` for the first generated token of a completion response.

    Reads the legacy completions shape (``logprobs.top_logprobs[0]`` is a dict; vLLM, OpenAI) and the chat shape
    (``logprobs.content[0].top_logprobs`` is a list of ``{token, logprob}``; llama.cpp uses it for both).
    """
    logprobs = response["choices"][0]["logprobs"]
    if logprobs.get("top_logprobs"):
        return {token: float(lp) for token, lp in logprobs["top_logprobs"][0].items()}
    return {entry["token"]: float(entry["logprob"]) for entry in logprobs["content"][0]["top_logprobs"]}
