"""Score documents with an educational-quality classifier (FineWeb-Edu, FineMath, Stack-Edu), into metadata."""

import os

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from curate.assets import Asset
from curate.classify.devices import GPU_DEVICES
from curate.classify.models import (
    DEFAULT_MODEL,
    Regressor,
    check_precision,
    classifier_assets,
    load_regressor,
    resolve_device,
)
from curate.classify.scores import int_scores


class EduClassifierScorer(PipelineStep):
    """Write a classifier's raw score, its rounded score and the model's name into each document's metadata.

    Follows the FineWeb-Edu classifier card: the model sees the first ``max_length`` tokens, the score is the raw
    regression output and the rounded score is ``round(clip(score, 0, max_score))``
    (:func:`curate.classify.scores.int_scores`). Nothing is dropped for its score: selection is a separate step
    (``ScoreThreshold``), so one scoring pass serves several thresholds.

    One model scores every document, or, with ``group_key``, each document is scored by the model of its group
    (Stack-Edu: one classifier per ``metadata["language"]``). Models load lazily, once per task and reference
    (groups sharing a reference share the loaded model), and never travel with the pickled step. Documents are
    scored ``chunk_size`` at a time; with groups, each group fills its own chunk, so **output order changes**:
    documents come out grouped as their chunk fills (the order within a group is kept). A document whose group
    has no model is counted as ``no_model_for_<group_key>`` and dropped, or passed through with ``keep_unscored``.

    Stats: ``scored``, ``<int_score_key>_<n>`` per rounded score (the dataset card's histogram), ``scored_<group>``
    and ``models_loaded``.

    Args:
        model: Hub id or local path of the classifier (any kind ``load_regressor`` reads), or with ``group_key``
            a dict group -> reference.
        max_length: tokens of each document the model sees (512 for FineWeb-Edu/FineMath, 1024 for Stack-Edu).
        batch_size: documents per forward pass (on a GPU, fewer when their activations would not fit in its free
            memory).
        device: ``"auto"`` (this worker's GPU when one is visible, else the CPU), ``"cpu"`` or ``"cuda[:N]"``.
            Each task uses one GPU: the one Slurm or Ray gave it, or on one machine the GPU of its worker slot
            (``curate.classify.devices``); the device is logged with ``CUDA_VISIBLE_DEVICES`` when the model loads.
        trust_remote_code: allow custom modelling code from the Hub.
        score_key: metadata key for the raw score.
        int_score_key: metadata key for the rounded, clipped score.
        max_score: top of the label scale (5 for FineWeb-Edu, FineMath and Stack-Edu).
        chunk_size: documents read from the stream (per group) before scoring them together.
        precision: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp32" or "int8" (CPU; see load_regressor).
        group_key: metadata key whose value picks the model from the ``model`` dict; None for one model.
        model_key: metadata key for the name of the model that scored the document.
        keep_unscored: pass documents whose group has no model through unscored instead of dropping them.
    """

    name = "🎓 Edu classifier scorer"
    type = "📊 - SCORER"

    def __init__(
        self,
        model: str | dict[str, str] = DEFAULT_MODEL,
        max_length: int = 512,
        batch_size: int = 64,
        device: str = "auto",
        trust_remote_code: bool = False,
        score_key: str = "score",
        int_score_key: str = "int_score",
        max_score: int = 5,
        chunk_size: int = 1024,
        precision: str = "auto",
        group_key: str | None = None,
        model_key: str = "score_model",
        keep_unscored: bool = False,
    ):
        super().__init__()
        if isinstance(model, dict) != (group_key is not None):
            raise ValueError("a dict of models needs group_key, and group_key needs a dict of models")
        if group_key is not None and not model:
            raise ValueError("the dict of models is empty")
        if batch_size < 1 or chunk_size < 1:
            raise ValueError(f"batch_size and chunk_size must be >= 1, got {batch_size} and {chunk_size}")
        self.model = dict(model) if isinstance(model, dict) else model
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.score_key = score_key
        self.int_score_key = int_score_key
        self.max_score = max_score
        self.chunk_size = chunk_size
        self.precision = check_precision(precision)  # a typo fails when the pipeline is built
        self.group_key = group_key
        self.model_key = model_key
        self.keep_unscored = keep_unscored
        self._loaded: dict[str, Regressor] = {}  # reference -> loaded model
        self._rank = 0

    @property
    def uses_gpu(self) -> bool:
        """Whether this step puts its models on a GPU when the task sees one (executors size GPU stages by it)."""
        return self.device in GPU_DEVICES or self.device.startswith("cuda:")

    def required_assets(self) -> list[Asset]:
        refs = [self.model] if self.group_key is None else dict.fromkeys(self.model.values())
        return [asset for ref in refs for asset in classifier_assets(ref)]  # groups sharing a model share its assets

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_loaded"] = {}  # a loaded model never travels to workers
        return state

    def reference(self, group: str | None = None) -> str | None:
        """The model reference that scores ``group`` (None when the group has none)."""
        return self.model if self.group_key is None else self.model.get(group)

    def regressor(self, group: str | None = None) -> Regressor:
        """The loaded model for ``group`` (loaded on first use, in the worker; one load per distinct reference)."""
        ref = self.reference(group)
        if ref not in self._loaded:
            device = resolve_device(self.device, self._rank)
            visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
            logger.info(f"scoring with {ref} on {device} (task {self._rank}, CUDA_VISIBLE_DEVICES={visible})")
            if device.startswith("cuda"):
                import torch

                torch.cuda.empty_cache()  # what an earlier task of this worker left cached, maybe on another GPU
            self._loaded[ref] = load_regressor(
                ref,
                max_length=self.max_length,
                device=device,
                batch_size=self.batch_size,
                trust_remote_code=self.trust_remote_code,
                precision=self.precision,
            )
            self.stat_update("models_loaded")
        return self._loaded[ref]

    def _score(self, group: str | None, chunk: list[Document]) -> DocumentsPipeline:
        regressor = self.regressor(group)
        with self.track_time(unit="chunk"):
            scores = np.asarray(regressor.predict([doc.text for doc in chunk]))
            rounded = int_scores(scores, self.max_score)
        # counted per chunk, not per document: the totals are the same, at a fraction of the cost
        for label in ("scored", *(() if group is None else (f"scored_{group}",))):
            self.stat_update(label, value=len(chunk))
        for int_score, count in enumerate(np.bincount(rounded)):
            if count:
                self.stat_update(f"{self.int_score_key}_{int_score}", value=int(count))
        for doc, score, int_score in zip(chunk, scores.tolist(), rounded.tolist(), strict=True):
            doc.metadata[self.score_key] = score
            doc.metadata[self.int_score_key] = int_score
            doc.metadata[self.model_key] = regressor.name
            self.update_doc_stats(doc)
            yield doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        self._rank = rank
        chunks: dict[str | None, list[Document]] = {}
        for doc in data:
            group = None if self.group_key is None else doc.metadata.get(self.group_key)
            if self.reference(group) is None:
                self.stat_update(f"no_model_for_{self.group_key}")
                if self.keep_unscored:
                    yield doc
                continue
            chunk = chunks.setdefault(group, [])
            chunk.append(doc)
            if len(chunk) >= self.chunk_size:
                yield from self._score(group, chunk)
                chunks[group] = []
        for group, chunk in chunks.items():
            if chunk:
                yield from self._score(group, chunk)
