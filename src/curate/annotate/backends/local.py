"""CPU inference with transformers: a Hub id, a local model folder, or a GGUF file (dequantised on load)."""

import hashlib
import os
import shutil
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)
from curate.assets import cache_dir, resolve


def model_dir(model: str) -> str:
    """Where transformers loads ``model`` from: a Hub id or folder as is; a ``.gguf`` file (or ``bundled:`` GGUF)
    dequantised once into a transformers folder under ``curate.assets.cache_dir()``. Dequantising and
    rebuilding the tokenizer from GGUF take tens of seconds on every load; the converted folder loads in one."""
    path = Path(resolve(model))
    if path.suffix != ".gguf":
        return str(path) if path.exists() else model
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    converted = cache_dir() / "gguf-as-transformers" / f"{path.stem}-{key}"
    if not (converted / "config.json").exists():
        _convert_gguf(path, converted)
    return str(converted)


def _convert_gguf(gguf: Path, target: Path) -> None:
    import safetensors.torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lm = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # transformers refuses save_pretrained on GGUF-loaded models; the weights are plain float32 by now
    lm.config.quantization_config = None
    del lm.config.quantization_config
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    lm.config.save_pretrained(tmp)
    safetensors.torch.save_model(lm, str(tmp / "model.safetensors"))  # save_model handles the tied embeddings
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)  # atomic: parallel workers may convert at the same time
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another worker won the race


@lru_cache(maxsize=2)
def load_tokenizer(model: str):
    """The tokenizer of ``model`` (see ``model_dir``), loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir(model))


@lru_cache(maxsize=2)
def load_causal_lm(model: str):
    """``(model, tokenizer)`` for CPU inference (see ``model_dir``), loaded once per process."""
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(model_dir(model))
    lm.eval()
    return lm, load_tokenizer(model)


def chat_token_ids(tokenizer, conversation: Conversation, assistant_prefix: str = "") -> list[int]:
    """Token ids of a conversation in the model's chat template, with an assistant turn opened and, if given,
    ``assistant_prefix`` already written into it. The template already holds any BOS token, so none is added."""
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return tokenizer.encode(text + assistant_prefix, add_special_tokens=False)


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
        # one forward pass at a time: the serve module calls in from several HTTP threads
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        # pipelines are deep-copied or pickled to their workers: ship the reference, each worker loads the model
        return {**self.__dict__, "_lm": None, "_tokenizer": None, "_lock": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def start(self, rank: int = 0, world_size: int = 1) -> None:
        self._lm, self._tokenizer = load_causal_lm(self.model)

    @contextmanager
    def _inference(self):
        """One call at a time, with ``threads`` torch threads for its duration only (the setting is process-wide)."""
        import torch

        with self._lock, torch.inference_mode():
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
