"""fastText language identification with the model read from the caches or a local file, never downloaded."""

from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.lid import FT176LID

from curate.assets import PUBLISHED_LID_MODEL, Asset, model_asset


class LocalFastTextLID(FT176LID):
    """datatrove's lid.176 predictor, loading its model from a local path or the cache instead of downloading it."""

    def __init__(self, model_ref: str, languages: list[str] | None = None, k: int = -1) -> None:
        super().__init__(languages, k)
        self.model_ref = model_ref

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(str(model_asset(self.model_ref, "language ID model").require()))
        return self._model


class FastTextLanguageFilter(LanguageFilter):
    """FineWeb's language filter (fastText lid.176, English, score >= 0.65) with a configurable model file.

    Args:
        languages: languages to keep (FineWeb: English only; datatrove's default of all languages is not the recipe)
        language_threshold: minimum score of the top language
        model: "lid.176.bin" for the published model, read from datatrove's cache in ``HF_HOME`` (``curate fetch``
            puts it there), a local path to a lid.176 .bin/.ftz file, or a ``bundled:`` reference such as
            ``bundled:lid.176.ftz``
        exclusion_writer: where removed documents go
    """

    name = "🌍 Language ID"

    def __init__(
        self,
        languages: list[str] | str | None = ("en",),
        language_threshold: float = 0.65,
        model: str = PUBLISHED_LID_MODEL,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(
            languages=list(languages) if isinstance(languages, (list, tuple)) else languages,
            language_threshold=language_threshold,
            exclusion_writer=exclusion_writer,
        )
        self.model_ref = model
        self.model = LocalFastTextLID(model, self.languages)

    def required_assets(self) -> list[Asset]:
        return [model_asset(self.model_ref, "language ID model")]
