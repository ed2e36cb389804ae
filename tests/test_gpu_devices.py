"""Every GPU of one machine used: each local scoring task is pinned to one GPU by its worker slot.

This machine has no GPU. The GPU count is a STAND-IN: the tests give ``choose_device``/``local_workers`` a count
(as ``torch.cuda.device_count()`` would on an N-GPU node) and check the device each task would choose and the
environment the executor sets; CUDA itself is not exercised here.
"""

import json
import os
import time

import pytest
from datatrove.pipeline.base import PipelineStep

from curate.blocks.scorer import EduClassifierScorer
from curate.classify.devices import (
    LOCAL_SLOT_ENV,
    SlotLocalExecutor,
    choose_device,
    local_workers,
    max_batch_tokens,
    stage_uses_gpu,
    worker_device,
)

STANDIN_GPUS = 2  # the GPUs of the pretend node


class RecordDevice(PipelineStep):
    """Writes the slot and the device each task would use on a node with ``STANDIN_GPUS`` GPUs, and when it ran."""

    name = "record device"

    def __init__(self, folder: str, seconds: float):
        super().__init__()
        self.folder, self.seconds = folder, seconds

    def run(self, data, rank: int = 0, world_size: int = 1):
        start = time.time()
        time.sleep(self.seconds * (3 if rank == 1 else 1))  # uneven tasks: ranks and slots stop lining up
        slot = os.environ.get(LOCAL_SLOT_ENV)
        device = choose_device("auto", STANDIN_GPUS, int(slot), rank)
        with open(f"{self.folder}/{rank}.json", "w") as f:
            json.dump({"slot": slot, "device": device, "start": start, "end": time.time()}, f)
        yield from data or ()


def test_concurrent_local_tasks_never_share_a_gpu(tmp_path):
    workers = local_workers(workers=-1, tasks=6, gpu_count=STANDIN_GPUS)
    assert workers == STANDIN_GPUS  # one replica per GPU
    SlotLocalExecutor(
        [RecordDevice(str(tmp_path), 0.3)], tasks=6, workers=workers, logging_dir=str(tmp_path / "logs")
    ).run()
    runs = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in range(6)]
    assert {run["device"] for run in runs} == {"cuda:0", "cuda:1"}
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            if a["start"] < b["end"] and b["start"] < a["end"]:  # ran at the same time
                assert a["device"] != b["device"], (a, b)


@pytest.mark.parametrize(
    "device,gpus,slot,rank,expected",
    [
        ("auto", 0, None, 3, "cpu"),
        ("auto", 8, 5, 0, "cuda:5"),
        ("cuda", 8, None, 11, "cuda:3"),  # no slot (an executor showing a task several GPUs): by rank
        ("auto", 1, None, 7, "cuda:0"),  # Slurm --gpus-per-task / Ray num_gpus: the task sees its own GPU only
        ("cpu", 8, 2, 2, "cpu"),
        ("cuda:6", 8, 2, 2, "cuda:6"),
    ],
)
def test_device_choice(device, gpus, slot, rank, expected):
    assert choose_device(device, gpus, slot, rank) == expected


def test_cuda_without_a_gpu_is_an_error_naming_cuda_visible_devices():
    with pytest.raises(ValueError, match="CUDA_VISIBLE_DEVICES"):
        choose_device("cuda", 0)


def test_this_cpu_machine_scores_on_cpu():
    assert worker_device("auto", rank=3) == "cpu"


def test_local_workers_one_per_gpu_or_as_asked_on_cpu():
    assert local_workers(workers=-1, tasks=16, gpu_count=8) == 8
    assert local_workers(workers=4, tasks=16, gpu_count=8) == 4
    assert local_workers(workers=-1, tasks=16, gpu_count=0) == 16


def test_only_scoring_stages_count_as_gpu_stages():
    assert stage_uses_gpu([EduClassifierScorer(model="x", device="auto")])
    assert not stage_uses_gpu([EduClassifierScorer(model="x", device="cpu"), RecordDevice("/tmp", 0)])


def test_batch_tokens_grow_with_free_memory():
    # BERT-base in bf16: (3072 + 4 * 768) * 2 bytes per token; half of 80 GB free
    assert max_batch_tokens(80 * 10**9, 768, 3072, 2) == 40 * 10**9 // 12288
    assert max_batch_tokens(10**3, 768, 3072, 2) == 1
