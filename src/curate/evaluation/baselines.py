"""Plain datatrove pipelines configured per the published recipes, to compare curate against (tests and benches)."""

from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
    URLFilter,
)

from curate.assets import resolve


def plain_fineweb_steps(lid_model: str = "bundled:lid.176.ftz", extraction_timeout: float = 1.0) -> list:
    """datatrove's FineWeb filters with their own defaults (FineWeb's numbers), English-only, C4 punctuation off."""
    from fasttext.FastText import _FastText
    from tldextract import TLDExtract

    url = URLFilter()
    url.tldextractor = TLDExtract(suffix_list_urls=())  # same offline suffix list; the rules are datatrove's
    language = LanguageFilter(languages=["en"], language_threshold=0.65)
    language.model._model = _FastText(resolve(lid_model))  # the same model file on both sides
    return [
        url,
        Trafilatura(favour_precision=True, timeout=extraction_timeout),
        language,
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]
