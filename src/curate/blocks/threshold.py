"""Keep documents whose classifier score reaches a threshold (FineWeb-Edu keeps ``int_score >= 3``)."""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter


class ScoreThreshold(BaseFilter):
    """Keep a document when ``doc.metadata[key] >= threshold``.

    Separate from scoring, so one scoring pass serves several thresholds (FineWeb-Edu ``>= 3``,
    FineWeb-Edu-score-2 ``>= 2``, FineMath-4+ ``>= 4``).

    Args:
        threshold: lowest score kept (3: FineWeb-Edu, FineMath-3+ and Stack-Edu except Java).
        key: metadata key holding the score.
        exclusion_writer: optional writer for the dropped documents.
        per_group: thresholds that replace ``threshold`` for some values of ``group_key`` (Stack-Edu: {"Java": 2}).
        group_key: metadata key whose value picks the threshold from ``per_group``.
    """

    name = "🎯 Score threshold"

    def __init__(
        self,
        threshold: float = 3,
        key: str = "int_score",
        exclusion_writer: DiskWriter | None = None,
        per_group: dict[str, float] | None = None,
        group_key: str = "language",
    ):
        super().__init__(exclusion_writer)
        self.threshold = threshold
        self.key = key
        self.per_group = dict(per_group or {})
        self.group_key = group_key

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        value = doc.metadata.get(self.key)
        if value is None:
            return False, "missing_score"
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False, "invalid_score"
        if value != value:  # NaN never passes a threshold
            return False, "invalid_score"
        if value < self.per_group.get(doc.metadata.get(self.group_key), self.threshold):
            return False, "below_threshold"
        return True
