"""CPU inference with transformers: a Hub id, a local model folder, or a GGUF file (converted once, see
``model_files``)."""

from contextlib import contextmanager
from functools import lru_cache

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)
from curate.annotate.backends.model_files import chat_token_ids, load_tokenizer, model_dir


@lru_cache(maxsize=2)
def load_causal_lm(model: str):
    """``(model, tokenizer)`` for CPU inference (see ``model_dir``), loaded once per process."""
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(model_dir(model))
    lm.eval()
    return lm, load_tokenizer(model)


class LocalBackend(AnnotationBackend):
    """transformers on CPU, one prompt at a time (CPU batching with padding buys little for small models)."""

    name = "local"

    def __init__(self, model: str, threads: int | None = None):
        """
        Args:
            model: Hub id, local folder, ``.gguf`` file or ``bundled:smollm2-135m-instruct.gguf``.
            threads: torch CPU threads while this backend computes (None: torch's default). On a shared or
                oversubscribed machine 1 can be several times faster than the default.
        """
        super().__init__(model)
        self.threads = threads
        self._lm = None
        self._tokenizer = None
        self._digit_token_ids: dict[str, int] | None = None

    def __getstate__(self) -> dict:
        # pipelines are deep-copied or pickled to their workers: ship the reference, each worker loads the model
        return {**self.__dict__, "_lm": None, "_tokenizer": None}

    def start(self, rank: int = 0, world_size: int = 1) -> None:
        self._lm, self._tokenizer = load_causal_lm(self.model)

    @contextmanager
    def _inference(self):
        """``threads`` torch threads for the duration of one call only (the setting is process-wide)."""
        import torch

        with torch.inference_mode():
            previous = torch.get_num_threads()
            if self.threads:
                torch.set_num_threads(self.threads)
            try:
                yield
            finally:
                torch.set_num_threads(previous)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self.start()
        return self._tokenizer

    def score_prefix(self, score_label: str) -> str:
        return score_prefix_for_tokenizer(self.tokenizer, score_label)

    def generate(self, conversations: list[Conversation], max_tokens: int, temperature: float) -> list[Completion]:
        results = []
        for conversation in conversations:
            try:
                ids = chat_token_ids(self.tokenizer, conversation)
                text, n_tokens = self.generate_from_ids(ids, max_tokens, temperature)
                results.append(Completion(text=text, completion_tokens=n_tokens))
            except Exception as error:  # one bad document must not stop the others
                results.append(Completion(error=f"{type(error).__name__}: {error}"))
        return results

    def generate_from_ids(self, ids: list[int], max_tokens: int, temperature: float) -> tuple[str, int]:
        """Generate from raw token ids; returns the decoded answer and how many tokens it has."""
        import torch

        with self._inference():
            input_ids = torch.tensor([ids])
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            output = self._lm.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_tokens,
                pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                **sampling,
            )
        new_tokens = output[0, input_ids.shape[1] :].tolist()
        return self._tokenizer.decode(new_tokens, skip_special_tokens=True), len(new_tokens)

    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        results = []
        for conversation in conversations:
            try:
                ids = chat_token_ids(self.tokenizer, conversation, assistant_prefix)
                results.append(NextTokenLogprobs(top_logprobs=self.logprobs_from_ids(ids, top_logprobs)))
            except Exception as error:  # one bad document must not stop the others
                results.append(NextTokenLogprobs(error=f"{type(error).__name__}: {error}"))
        return results

    def logprobs_from_ids(self, ids: list[int], top_logprobs: int) -> dict[str, float]:
        """The ``top_logprobs`` most likely next tokens, plus every single-digit token: on CPU the whole
        distribution is at hand, so digits outside the top k are not lost."""
        import torch

        with self._inference():
            logits = self._lm(input_ids=torch.tensor([ids])).logits[0, -1]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        top = torch.topk(logprobs, k=min(top_logprobs, logprobs.shape[0]))
        candidates = {self._tokenizer.decode([int(i)]): float(v) for v, i in zip(top.values, top.indices, strict=True)}
        for token, token_id in self._digit_tokens().items():
            candidates.setdefault(token, float(logprobs[token_id]))
        return candidates

    def _digit_tokens(self) -> dict[str, int]:
        if self._digit_token_ids is None:
            self._digit_token_ids = {}
            for text in [str(d) for d in range(10)] + [f" {d}" for d in range(10)]:
                ids = self._tokenizer.encode(text, add_special_tokens=False)
                if len(ids) == 1:
                    self._digit_token_ids[text] = ids[0]
        return self._digit_token_ids
