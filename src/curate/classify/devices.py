"""Which device a scoring process uses, and how many tokens one of its batches may hold.

Every GPU of a machine works: a worker is pinned to one GPU, each GPU runs one model replica.
- Slurm (``--gpus-per-task``) and Ray (``num_gpus``) give each task its own GPU through ``CUDA_VISIBLE_DEVICES``:
  the task sees one GPU and uses it.
- curate's local executor runs at most one scoring task per visible GPU at a time, each in its own worker slot
  (``CURATE_LOCAL_SLOT``, set per task): slot ``s`` uses GPU ``s % N``. Without a slot (another executor that
  shows a task several GPUs), the task's rank picks the GPU.
"""

import os

from datatrove.executor import LocalPipelineExecutor

LOCAL_SLOT_ENV = "CURATE_LOCAL_SLOT"
GPU_DEVICES = ("auto", "cuda")  # device settings that place a model on a GPU chosen here
# share of a GPU's free memory one batch's activations may take (weights, CUDA context and allocator slack aside)
BATCH_MEMORY_SHARE = 0.5


def choose_device(device: str, gpu_count: int, slot: int | None = None, rank: int = 0) -> str:
    """The device for ``device`` in a process that sees ``gpu_count`` GPUs: ``"auto"`` is CPU without GPUs and
    ``"cuda"`` is an error there; otherwise both pick ``cuda:<slot or rank modulo gpu_count>``. An explicit
    ``"cpu"`` or ``"cuda:N"`` is kept."""
    if device not in GPU_DEVICES:
        return device
    if gpu_count < 1:
        if device == "cuda":
            raise ValueError("device 'cuda' was asked for, but this process sees no GPU (CUDA_VISIBLE_DEVICES?)")
        return "cpu"
    return f"cuda:{(rank if slot is None else slot) % gpu_count}"


def visible_gpus() -> int:
    """GPUs this process may use: those CUDA_VISIBLE_DEVICES leaves (Slurm and Ray set it per task)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def local_slot() -> int | None:
    slot = os.environ.get(LOCAL_SLOT_ENV, "")
    return int(slot) if slot.isdigit() else None


def worker_device(device: str, rank: int = 0) -> str:
    """:func:`choose_device` for this process: its visible GPUs, its local worker slot, its task's rank."""
    if device not in GPU_DEVICES:
        return device
    return choose_device(device, visible_gpus(), local_slot(), rank)


def local_workers(workers: int, tasks: int, gpu_count: int) -> int:
    """Tasks a local executor runs at once for a scoring stage: ``workers`` (-1: all), at most one per GPU."""
    wanted = tasks if workers == -1 else workers
    return min(wanted, gpu_count) if gpu_count > 0 else wanted


def max_batch_tokens(free_bytes: int, hidden_size: int, intermediate_size: int, dtype_bytes: int) -> int:
    """Padded tokens one forward pass may hold so that its activations fit in a share of the GPU's free memory.

    Under ``torch.inference_mode`` a BERT-like encoder keeps about one layer's activations per token at a time:
    the feed-forward block's ``intermediate_size`` values plus a few ``hidden_size`` copies (attention is
    PyTorch's fused kernel, linear in the sequence length).
    """
    per_token = dtype_bytes * (intermediate_size + 4 * hidden_size)
    return max(1, int(free_bytes * BATCH_MEMORY_SHARE) // per_token)


def cuda_batch_tokens(model, device: str, dtype_bytes: int) -> int:
    """:func:`max_batch_tokens` for a loaded ``transformers`` model on ``device``, from its free memory now."""
    import torch

    free_bytes, _ = torch.cuda.mem_get_info(torch.device(device))
    config = model.config
    hidden = getattr(config, "hidden_size", 768)
    return max_batch_tokens(free_bytes, hidden, getattr(config, "intermediate_size", 4 * hidden), dtype_bytes)


def stage_uses_gpu(pipeline) -> bool:
    """Whether a stage holds a step that puts a model on a GPU when it sees one (a scorer with a GPU device)."""
    return any(getattr(step, "uses_gpu", False) for step in pipeline)


class SlotLocalExecutor(LocalPipelineExecutor):
    """datatrove's LocalPipelineExecutor that tells each task its worker slot (``CURATE_LOCAL_SLOT``).

    datatrove hands every running task a distinct local rank from ``0`` to ``workers - 1``; with at most one
    worker per GPU, slot ``s`` pins a task to GPU ``s`` and no two running tasks share a GPU, however unevenly
    they finish.
    """

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        os.environ[LOCAL_SLOT_ENV] = str(local_rank)
        return super()._run_for_rank(rank, local_rank, node_rank)
