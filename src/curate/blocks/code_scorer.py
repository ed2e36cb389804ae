"""Score code with the classifier of its own language, as Stack-Edu did (one classifier per language)."""

from collections.abc import Iterator

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curate.assets import Asset
from curate.classify import models as classifier_models
from curate.languages import BY_NAME, CLASSIFIERS


class PerLanguageScorer(PipelineStep):
    """Route each document to its language's classifier (``metadata["language"]``) and write ``score``,
    ``int_score = round(clip(score, 0, 5))`` and ``score_model`` (the model's name) into its metadata.

    Models are loaded lazily, once per task, through ``curate.classify.models.load_regressor``; languages that
    share a reference share one loaded model. Documents are buffered per language and scored ``batch_size`` at
    a time, and the rest at the end of the stream. **Output order changes**: documents come out grouped by
    language as their batch fills (order within one language is kept). Nothing is dropped for its score;
    selection is a separate threshold step (per-language thresholds: ``curate.languages.THRESHOLDS``).

    A document whose language has no model (or no ``language`` at all) is counted as
    ``no_model_for_language`` and dropped, or passed through unscored with ``keep_unscored=True``.

    Args:
        models: ``None`` for the published Stack-Edu classifiers of all 15 languages; one reference (Hub id or
            local path) used for every language in ``languages``; or a dict language -> reference.
        languages: languages that get a model when ``models`` is a single reference; default all 15.
        max_length: tokens of each file the model sees; 1024, the Stack-Edu classifiers' context.
        batch_size: documents per language scored together (and per forward pass).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
        trust_remote_code: allow custom modelling code from the Hub.
        precision: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp32" or "int8" (CPU; see load_regressor).
        keep_unscored: pass documents without a model through unscored instead of dropping them.
        language_key: metadata key holding the Stack-Edu language name (e.g. "Cpp").
        max_score: top of the label scale (5).
    """

    name = "🧑‍💻 Per-language code scorer"
    type = "📊 - SCORER"

    def __init__(
        self,
        models: str | dict[str, str] | None = None,
        languages: list[str] | None = None,
        max_length: int = 1024,
        batch_size: int = 64,
        device: str = "auto",
        trust_remote_code: bool = False,
        keep_unscored: bool = False,
        language_key: str = "language",
        max_score: int = 5,
        precision: str = "auto",
    ):
        super().__init__()
        if models is None:
            self.models = dict(CLASSIFIERS)
        elif isinstance(models, str):
            self.models = {language: models for language in (languages or BY_NAME)}
        else:
            self.models = dict(models)
        if languages is not None and not isinstance(models, str):
            self.models = {language: ref for language, ref in self.models.items() if language in languages}
        unknown = sorted(set(self.models) - set(BY_NAME))
        if unknown:
            raise ValueError(f"unknown languages {unknown}; known: {', '.join(BY_NAME)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.keep_unscored = keep_unscored
        self.language_key = language_key
        self.max_score = max_score
        self.precision = classifier_models.check_precision(precision)
        self._loaded: dict[str, classifier_models.Regressor] = {}  # reference -> loaded model

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_loaded"] = {}  # loaded models never travel to workers
        return state

    def required_assets(self) -> list[Asset]:
        refs = dict.fromkeys(self.models.values())  # languages sharing a model share its assets
        return [asset for ref in refs for asset in classifier_models.classifier_assets(ref)]

    def regressor(self, language: str) -> classifier_models.Regressor:
        """The loaded model for ``language`` (loaded on first use; one load per distinct reference)."""
        ref = self.models[language]
        if ref not in self._loaded:
            self._loaded[ref] = classifier_models.load_regressor(
                ref,
                max_length=self.max_length,
                device=self.device,
                batch_size=self.batch_size,
                trust_remote_code=self.trust_remote_code,
                precision=self.precision,
            )
            self.stat_update("models_loaded")
        return self._loaded[ref]

    def _score(self, language: str, batch: list[Document]) -> Iterator[Document]:
        regressor = self.regressor(language)
        with self.track_time(unit="batch"):
            scores = np.asarray(regressor.predict([doc.text for doc in batch]), dtype=np.float64)
        int_scores = np.rint(np.clip(scores, 0, self.max_score)).astype(np.int64)
        for doc, score, int_score in zip(batch, scores, int_scores, strict=True):
            doc.metadata["score"] = float(score)
            doc.metadata["int_score"] = int(int_score)
            doc.metadata["score_model"] = regressor.name
            self.stat_update("scored")
            self.stat_update(f"scored_{language}")
            self.update_doc_stats(doc)
            yield doc

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        buffers: dict[str, list[Document]] = {}
        for doc in data:
            language = doc.metadata.get(self.language_key)
            if language not in self.models:
                self.stat_update("no_model_for_language")
                if self.keep_unscored:
                    yield doc
                continue
            buffer = buffers.setdefault(language, [])
            buffer.append(doc)
            if len(buffer) >= self.batch_size:
                yield from self._score(language, buffer)
                buffers[language] = []
        for language, buffer in buffers.items():
            if buffer:
                yield from self._score(language, buffer)
