"""Draw a fixed-size random sample of documents, the same one on every run (so that reruns resume)."""

import random

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class ReservoirSampler(PipelineStep):
    """Keeps exactly ``n`` documents (all if fewer) drawn uniformly by reservoir sampling, in input order.

    With several tasks each rank keeps its share (``n // world_size``, the first ``n % world_size`` ranks one
    more) of the files it reads. Holds the kept documents in memory.
    """

    name = "🎲 Reservoir sample"
    type = "🔻 - FILTER"

    def __init__(self, n: int, seed: int = 0):
        """
        Args:
            n: documents to keep over all ranks (FineWeb-Edu annotated ~450k pages).
            seed: the same seed and input give the same sample.
        """
        super().__init__()
        if n < 1:
            raise ValueError(f"sample size must be positive, got {n}")
        self.n = n
        self.seed = seed

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keep = self.n // world_size + (1 if rank < self.n % world_size else 0)
        rng = random.Random(f"{self.seed}/{rank}")
        reservoir: list[tuple[int, object]] = []
        seen = 0
        for index, document in enumerate(data):
            seen += 1
            if len(reservoir) < keep:
                reservoir.append((index, document))
                continue
            slot = rng.randrange(index + 1)
            if slot < keep:
                reservoir[slot] = (index, document)
        self.stat_update("not_sampled", value=max(0, seen - len(reservoir)))
        for _, document in sorted(reservoir, key=lambda pair: pair[0]):
            yield document
