"""FineWeb's URL filter without network access."""

from collections.abc import Iterable

from datatrove.pipeline.filters import URLFilter
from datatrove.pipeline.writers.disk_base import DiskWriter


class OfflineURLFilter(URLFilter):
    """datatrove's URLFilter (bundled blocklists, soft banned words) with the Public Suffix List snapshot that
    ships inside tldextract, so filtering makes no network call.

    Args:
        soft_word_threshold: URLs with at least this many soft banned words are removed (FineWeb: 2)
        extra_domains: more domains to block
        extra_urls: more URLs to block
        exclusion_writer: where removed documents go
    """

    name = "😈 Url-filter (offline)"

    def __init__(
        self,
        soft_word_threshold: int = 2,
        extra_domains: Iterable[str] | None = None,
        extra_urls: Iterable[str] | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(
            soft_word_threshold=soft_word_threshold,
            extra_domains=extra_domains,
            extra_urls=extra_urls,
            exclusion_writer=exclusion_writer,
        )
        from tldextract import TLDExtract

        # no suffix list URLs: tldextract falls back to the snapshot it ships
        self.tldextractor = TLDExtract(suffix_list_urls=())
