"""Score documents with an educational-quality classifier (FineWeb-Edu style), writing the score to metadata."""

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

from curate.assets import Asset
from curate.classify.models import DEFAULT_MODEL, Regressor, check_precision, classifier_assets, load_regressor


class EduClassifierScorer(PipelineStep):
    """Write a classifier's raw ``score`` and its rounded ``int_score`` into each document's metadata.

    Follows the FineWeb-Edu classifier card: the model sees the first ``max_length`` tokens, ``score`` is the raw
    regression output and ``int_score = round(clip(score, 0, max_score))``. Nothing is dropped here: selection is
    a separate step (``ScoreThreshold``) so one scoring pass serves several thresholds.

    Args:
        model: Hub id or local path of the classifier (any kind ``curate.classify.models.load_regressor`` reads).
        max_length: tokens of each document the model sees (the published classifier uses 512).
        batch_size: documents per forward pass.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
        trust_remote_code: allow custom modelling code from the Hub.
        score_key: metadata key for the raw score.
        int_score_key: metadata key for the rounded, clipped score.
        max_score: top of the label scale (5 for FineWeb-Edu and Stack-Edu).
        chunk_size: documents read from the stream before scoring them together (keeps memory flat).
        precision: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp32" or "int8" (CPU; see load_regressor).
    """

    name = "🎓 Edu classifier scorer"
    type = "📊 - SCORER"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        max_length: int = 512,
        batch_size: int = 64,
        device: str = "auto",
        trust_remote_code: bool = False,
        score_key: str = "score",
        int_score_key: str = "int_score",
        max_score: int = 5,
        chunk_size: int = 1024,
        precision: str = "auto",
    ):
        super().__init__()
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.score_key = score_key
        self.int_score_key = int_score_key
        self.max_score = max_score
        self.chunk_size = chunk_size
        self.precision = check_precision(precision)  # a typo fails when the pipeline is built
        self._regressor: Regressor | None = None

    def required_assets(self) -> list[Asset]:
        return classifier_assets(self.model)

    @property
    def regressor(self) -> Regressor:
        """The classifier, loaded on first use (in the worker, not when the pipeline is built or pickled)."""
        if self._regressor is None:
            self._regressor = load_regressor(
                self.model,
                max_length=self.max_length,
                device=self.device,
                batch_size=self.batch_size,
                trust_remote_code=self.trust_remote_code,
                precision=self.precision,
            )
        return self._regressor

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_regressor"] = None  # a loaded model never travels to workers
        return state

    def int_scores(self, scores: np.ndarray) -> np.ndarray:
        """``round(clip(score, 0, max_score))`` as integers (round half to even, like Python's ``round``)."""
        return np.rint(np.clip(scores, 0, self.max_score)).astype(np.int64)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        for chunk in batched(data, self.chunk_size):
            with self.track_time(unit="chunk"):
                scores = self.regressor.predict([doc.text for doc in chunk])
                int_scores = self.int_scores(scores)
            for doc, score, int_score in zip(chunk, scores, int_scores, strict=True):
                doc.metadata[self.score_key] = float(score)
                doc.metadata[self.int_score_key] = int(int_score)
                doc.metadata["score_model"] = self.regressor.name
                self.stat_update("scored")
                self.stat_update(f"{self.int_score_key}_{int_score}")
                self.update_doc_stats(doc)
                yield doc
