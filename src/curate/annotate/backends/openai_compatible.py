"""Any OpenAI-compatible server (``vllm serve``, llama.cpp, TGI, ``python -m curate.annotate.serve``…).

Why not datatrove's ``InferenceRunner``: its retry schedule is fixed (6 tries, 5 s·2^n, no jitter), a request
that still fails raises and ends the whole task instead of leaving one document with a null score, it
resumes by chunk position rather than by document id, and it owns the output writer. Here a dead server
costs retries, then each affected document gets ``null_reason="error"`` and the run goes on; a rerun
retries exactly those documents.
"""

import asyncio
import random

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAICompatibleBackend(AnnotationBackend):
    """Sends chat requests (generate mode) or completion requests with logprobs (logprobs mode) concurrently."""

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "http://127.0.0.1:8000/v1",
        concurrency: int = 32,
        timeout: float = 300.0,
        retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        api_key: str | None = None,
        tokenizer: str | None = None,
    ):
        """
        Args:
            model: the model name the server serves (sent as ``model`` in each request).
            base_url: the server's ``/v1`` root.
            concurrency: requests in flight at once.
            timeout: seconds per request.
            retries: tries after the first, with exponential backoff and jitter, before a document gets an error null.
            backoff_base: seconds before the first retry; doubles each retry, times a random factor in [0.5, 1.5).
            backoff_max: cap on one wait, in seconds.
            api_key: sent as a Bearer token when set.
            tokenizer: logprobs mode only: the tokenizer whose chat template builds the prompt (Hub id, folder,
                ``.gguf`` or ``bundled:``); default: ``model``.
        """
        super().__init__(model)
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.api_key = api_key
        self.tokenizer_ref = tokenizer or model

    @property
    def tokenizer(self):
        from curate.annotate.backends.local import load_tokenizer

        return load_tokenizer(self.tokenizer_ref)

    def score_prefix(self, score_label: str) -> str:
        return score_prefix_for_tokenizer(self.tokenizer, score_label)

    def generate(self, conversations: list[Conversation], max_tokens: int, temperature: float) -> list[Completion]:
        payloads = [
            {"model": self.model, "messages": conv, "max_tokens": max_tokens, "temperature": temperature}
            for conv in conversations
        ]
        results = []
        for response, error in asyncio.run(self._post_all("/chat/completions", payloads)):
            if error is not None:
                results.append(Completion(error=error))
                continue
            try:
                content = response["choices"][0]["message"].get("content") or ""
                tokens = int((response.get("usage") or {}).get("completion_tokens") or 0)
                results.append(Completion(text=content, completion_tokens=tokens))
            except (KeyError, IndexError, TypeError, AttributeError) as shape_error:
                results.append(Completion(error=f"unexpected response shape: {shape_error!r}"))
        return results

    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        from curate.annotate.backends.local import chat_token_ids

        # token ids, not text: a server tokenizing the rendered text would add a second BOS token
        payloads = [
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
        for response, error in asyncio.run(self._post_all("/completions", payloads)):
            if error is not None:
                results.append(NextTokenLogprobs(error=error))
                continue
            try:
                results.append(NextTokenLogprobs(top_logprobs=first_token_top_logprobs(response)))
            except (KeyError, IndexError, TypeError, AttributeError) as shape_error:
                results.append(NextTokenLogprobs(error=f"unexpected response shape: {shape_error!r}"))
        return results

    async def _post_all(self, path: str, payloads: list[dict]) -> list[tuple[dict | None, str | None]]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        semaphore = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, limits=limits) as client:

            async def post_one(payload: dict) -> tuple[dict | None, str | None]:
                async with semaphore:
                    return await self._post_with_retries(client, path, payload)

            return await asyncio.gather(*(post_one(p) for p in payloads))

    async def _post_with_retries(self, client, path: str, payload: dict) -> tuple[dict | None, str | None]:
        """``(response json, None)`` or, once retries are spent or on a non-retryable answer, ``(None, error)``."""
        import httpx

        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                await asyncio.sleep(delay)
            try:
                response = await client.post(path, json=payload, timeout=self.timeout)
            except httpx.TransportError as error:  # refused, reset, timed out, protocol broken
                last_error = f"{type(error).__name__}: {error}"
                continue
            if response.status_code in RETRYABLE_STATUS:
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                return None, f"HTTP {response.status_code}: {response.text[:200]}"
            try:
                return response.json(), None
            except ValueError:
                return None, f"response is not JSON: {response.text[:200]!r}"
        return None, f"gave up after {self.retries + 1} tries: {last_error}"


def first_token_top_logprobs(response: dict) -> dict[str, float]:
    """``{token: logprob}`` for the first generated token of a completion response.

    Reads the legacy completions shape (``logprobs.top_logprobs[0]`` is a dict; vLLM, OpenAI, ours) and the chat
    shape (``logprobs.content[0].top_logprobs`` is a list of ``{token, logprob}``; llama.cpp uses it for both).
    """
    logprobs = response["choices"][0]["logprobs"]
    if "top_logprobs" in logprobs and logprobs["top_logprobs"]:
        return {token: float(lp) for token, lp in logprobs["top_logprobs"][0].items()}
    return {entry["token"]: float(entry["logprob"]) for entry in logprobs["content"][0]["top_logprobs"]}
