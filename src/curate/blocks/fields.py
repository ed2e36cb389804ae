"""Columns derived from a document's text and metadata."""

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep


class DerivedFields(PipelineStep):
    """Add the FineMath columns derived from a document: ``char_count``, renamed keys and constants.

    Args:
        char_count_key: metadata key for the text length in characters
        copies: ``{new_key: existing_key}`` (FineMath calls the dump ``crawl``)
        constants: ``{key: value}`` set on every document
    """

    name = "➕ Derived fields"
    type = "✂️ - FORMAT"

    def __init__(
        self,
        char_count_key: str = "char_count",
        copies: dict[str, str] | None = None,
        constants: dict[str, object] | None = None,
    ):
        super().__init__()
        self.char_count_key = char_count_key
        self.copies = dict(copies or {})
        self.constants = dict(constants or {})

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            doc.metadata[self.char_count_key] = len(doc.text)
            for new, old in self.copies.items():
                doc.metadata[new] = doc.metadata.get(old)
            doc.metadata.update(self.constants)
            yield doc
