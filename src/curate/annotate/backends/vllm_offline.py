"""Offline vLLM (``vllm.LLM``): the fast path on GPUs. vllm is imported inside ``start``, so curate imports
without it. Data parallelism = several curate tasks (ranks), each with its own ``LLM`` on its own GPUs."""

import math
import os

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)
from curate.assets import resolve


class VLLMBackend(AnnotationBackend):
    """``vllm.LLM`` + ``SamplingParams``; the whole batch goes to vLLM at once, which schedules it."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpus_per_node: int | None = None,
        max_model_len: int | None = 8192,
        gpu_memory_utilization: float = 0.9,
        seed: int = 0,
        llm_kwargs: dict | None = None,
    ):
        """
        Args:
            model: Hub id or local folder (the FineWeb-Edu annotator was meta-llama/Meta-Llama-3-70B-Instruct).
            tensor_parallel_size: GPUs per model replica.
            gpus_per_node: when set, and CUDA_VISIBLE_DEVICES is not, rank r uses GPUs
                ``(r * tp) % gpus_per_node ...``: one replica per rank for data parallelism on one node.
            max_model_len: context length to reserve (prompts are ~1000 characters of page plus instructions).
            gpu_memory_utilization: share of GPU memory vLLM may take.
            seed: vLLM's sampling seed.
            llm_kwargs: anything else for ``vllm.LLM``.
        """
        super().__init__(model)
        self.tensor_parallel_size = tensor_parallel_size
        self.gpus_per_node = gpus_per_node
        self.max_model_len = max_model_len
        self.gpu_memory_utilization = gpu_memory_utilization
        self.seed = seed
        self.llm_kwargs = llm_kwargs or {}
        self._llm = None

    def start(self, rank: int = 0, world_size: int = 1) -> None:
        if self.gpus_per_node and "CUDA_VISIBLE_DEVICES" not in os.environ:
            first = (rank * self.tensor_parallel_size) % self.gpus_per_node
            devices = range(first, first + self.tensor_parallel_size)
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices)
        from vllm import LLM

        kwargs = {"max_model_len": self.max_model_len} if self.max_model_len else {}
        self._llm = LLM(
            model=resolve(self.model),
            tensor_parallel_size=self.tensor_parallel_size,
            gpu_memory_utilization=self.gpu_memory_utilization,
            seed=self.seed,
            **kwargs,
            **self.llm_kwargs,
        )

    def close(self) -> None:
        self._llm = None

    @property
    def llm(self):
        if self._llm is None:
            self.start()
        return self._llm

    def score_prefix(self, score_label: str) -> str:
        return score_prefix_for_tokenizer(self.llm.get_tokenizer(), score_label)

    def generate(self, conversations: list[Conversation], max_tokens: int, temperature: float) -> list[Completion]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=temperature, max_tokens=max_tokens, seed=self.seed)
        outputs = self.llm.chat(conversations, params, use_tqdm=False)
        return [completion_from_request_output(output) for output in outputs]

    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        from vllm import SamplingParams

        from curate.annotate.backends.local import chat_token_ids

        tokenizer = self.llm.get_tokenizer()
        # token ids rendered here rather than llm.chat(continue_final_message=True): some chat templates trim
        # the last message, which would drop the space the prefix may end with
        prompts = [{"prompt_token_ids": chat_token_ids(tokenizer, conv, assistant_prefix)} for conv in conversations]
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=top_logprobs)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [logprobs_from_request_output(output) for output in outputs]


def completion_from_request_output(output) -> Completion:
    """A ``Completion`` from a ``vllm.RequestOutput`` (its first ``CompletionOutput``)."""
    try:
        first = output.outputs[0]
        return Completion(text=first.text, completion_tokens=len(first.token_ids))
    except (AttributeError, IndexError, TypeError) as error:
        return Completion(error=f"unexpected vLLM output: {error!r}")


def logprobs_from_request_output(output) -> NextTokenLogprobs:
    """``{decoded token: logprob}`` of the one generated position of a ``vllm.RequestOutput``.

    ``CompletionOutput.logprobs`` holds one mapping per generated token, ``token_id -> Logprob`` with
    ``.logprob`` and ``.decoded_token``; the sampled token is included even when it is outside the top k.
    """
    try:
        position = output.outputs[0].logprobs[0]
        top: dict[str, float] = {}
        for entry in position.values():
            token = entry.decoded_token
            # two token ids can decode to the same text: add their probabilities
            top[token] = float(entry.logprob) if token not in top else _log_add(top[token], float(entry.logprob))
        return NextTokenLogprobs(top_logprobs=top)
    except (AttributeError, IndexError, TypeError, KeyError) as error:
        return NextTokenLogprobs(error=f"unexpected vLLM output: {error!r}")


def _log_add(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))
