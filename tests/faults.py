"""Test-only fault injection, importable by Slurm jobs (the tests put this folder on PYTHONPATH)."""

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class FailOnceInTask(PipelineStep):
    """Passes documents through, but task ``rank`` raises after ``after`` documents the first time it runs."""

    name = "💥 injected failure"

    def __init__(self, rank: int, marker: str, after: int = 1):
        super().__init__()
        self.fail_rank = rank
        self.marker = marker
        self.after = after

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for i, doc in enumerate(data):
            if rank == self.fail_rank and i == self.after and not Path(self.marker).exists():
                Path(self.marker).touch()
                raise RuntimeError("injected task failure")
            yield doc
