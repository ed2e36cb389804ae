"""FineMath recall expansion by domain: count scored pages per registered domain, select domains, keep their pages.

SmolLM2 (arXiv 2502.02737, §3.3): domains with at least 10 pages scoring >= 2 on the first classifier are
re-crawled from Common Crawl; the smollm FineMath README states the rule as at least 10 % of a domain's pages.
Domains with at least 10 URLs in OpenWebMath / InfiMM-WebMath are added as seed lists.
"""

import json
from collections import Counter
from collections.abc import Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder, open_file
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

_extractor = None


def registered_domain(url: str) -> str:
    """The registered domain of a URL or host (``math.stackexchange.com`` → ``stackexchange.com``), lowercased;
    the bare host for IP addresses and hosts without a public suffix; ``""`` for an empty URL.

    Uses the Public Suffix List snapshot bundled with tldextract (no network).
    """
    global _extractor
    if _extractor is None:
        from tldextract import TLDExtract

        _extractor = TLDExtract(suffix_list_urls=())
    url = url.strip()
    if not url:
        return ""
    parts = _extractor(url)
    return (parts.top_domain_under_public_suffix or parts.domain).lower()


class DomainScoreCounter(PipelineStep):
    """Count, per registered domain, the pages and the pages with ``metadata[score_key] >= min_score``.

    Documents pass through unchanged; each task writes ``<rank>.json`` (``{domain: [pages, scoring_pages]}``)
    to ``output_folder``, merged later by :func:`select_domains`.

    Args:
        output_folder: where the per-task counts go
        score_key: metadata field holding the classifier score (the first FineMath classifier's ``int_score``)
        min_score: a page "scores" at or above this value (FineMath: 2 on the 3-point scale)
        url_key: metadata field holding the page URL
    """

    name = "🌐 Domain score counter"
    type = "📊 - STATS"

    def __init__(
        self,
        output_folder: DataFolderLike,
        score_key: str = "int_score",
        min_score: float = 2,
        url_key: str = "url",
    ):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)
        self.score_key = score_key
        self.min_score = min_score
        self.url_key = url_key

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        pages: Counter = Counter()
        scoring: Counter = Counter()
        for doc in data:
            with self.track_time():
                domain = registered_domain(str(doc.metadata.get(self.url_key) or ""))
                if not domain:
                    self.stat_update("no_url")
                else:
                    pages[domain] += 1
                    score = doc.metadata.get(self.score_key)
                    if score is None:
                        self.stat_update("no_score")
                    elif score >= self.min_score:
                        scoring[domain] += 1
                        self.stat_update("scoring_pages")
            yield doc
        counts = {domain: [pages[domain], scoring[domain]] for domain in sorted(pages)}
        with self.output_folder.open(f"{rank:05d}.json", "wt") as f:
            json.dump(counts, f)
        self.stat_update("domains", value=len(counts))


def merge_domain_counts(counts_folder: DataFolderLike) -> dict[str, tuple[int, int]]:
    """Sum the per-task files of :class:`DomainScoreCounter`: ``{domain: (pages, scoring_pages)}``."""
    folder = get_datafolder(counts_folder)
    merged: dict[str, list[int]] = {}
    for path in folder.list_files(glob_pattern="*.json"):
        with folder.open(path, "rt") as f:
            for domain, (pages, scoring) in json.load(f).items():
                total = merged.setdefault(domain, [0, 0])
                total[0] += pages
                total[1] += scoring
    return {domain: (pages, scoring) for domain, (pages, scoring) in merged.items()}


def read_domain_list(path: str) -> set[str]:
    """Registered domains of a list file: one domain or URL per line; blank lines and ``#`` comments skipped."""
    domains = set()
    with open_file(path, "rt") as f:
        for line in f:
            entry = line.split("#", 1)[0].strip()
            if entry and (domain := registered_domain(entry.split()[0])):
                domains.add(domain)
    return domains


def select_domains(
    counts_folder: DataFolderLike,
    min_pages: int | None = 10,
    min_fraction: float | None = None,
    seed_files: Iterable[str] = (),
) -> set[str]:
    """Domains to re-crawl: those passing every given rule, plus the seed lists.

    Args:
        counts_folder: the output folder of :class:`DomainScoreCounter`
        min_pages: at least this many scoring pages (SmolLM2 paper: 10); ``None`` to skip the rule
        min_fraction: at least this share of the domain's pages scoring (smollm README: 0.1); ``None`` to skip
        seed_files: domain lists added as they are (e.g. OpenWebMath / InfiMM-WebMath domains with >= 10 URLs)
    """
    if min_pages is None and min_fraction is None:
        raise ValueError("give min_pages, min_fraction or both")
    selected = set()
    for domain, (pages, scoring) in merge_domain_counts(counts_folder).items():
        if min_pages is not None and scoring < min_pages:
            continue
        if min_fraction is not None and (not pages or scoring / pages < min_fraction):
            continue
        selected.add(domain)
    for path in seed_files:
        selected |= read_domain_list(path)
    return selected


class SelectDomains(PipelineStep):
    """Merge :class:`DomainScoreCounter` counts and write the selected domains, one per line (run as 1 task).

    Args:
        counts_folder: the counter's output folder
        output_file: where the selected domains go (read by :class:`DomainFilter` in a later stage)
        min_pages: a domain needs this many pages scoring >= the counter's min_score (SmolLM2 paper: 10)
        min_fraction: or/and this share of its pages scoring (smollm FineMath README: 0.1); None to skip
        seed_files: domain lists added as they are (OpenWebMath / InfiMM-WebMath domains with >= 10 URLs)
    """

    name = "🌐 Select domains"
    type = "📊 - STATS"

    def __init__(
        self,
        counts_folder: DataFolderLike,
        output_file: str,
        min_pages: int | None = 10,
        min_fraction: float | None = None,
        seed_files: Iterable[str] = (),
    ):
        super().__init__()
        self.counts_folder = counts_folder
        self.output_file = output_file
        self.min_pages = min_pages
        self.min_fraction = min_fraction
        self.seed_files = tuple(seed_files)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        domains = select_domains(self.counts_folder, self.min_pages, self.min_fraction, self.seed_files)
        self.stat_update("selected_domains", value=len(domains))
        with open_file(self.output_file, "wt") as f:
            f.write("".join(f"{domain}\n" for domain in sorted(domains)))
        yield from data or ()


def read_document_urls(folder: DataFolderLike) -> tuple[set[str], dict[str, int]]:
    """URLs of the JSONL documents in a folder (e.g. what FineWeb's C4 step removed: ``<run>/removed/c4``), and
    the bad entries skipped there (a FIFO, a dangling link, an unreadable file: counted as in an input folder)."""
    from curate.blocks.datasets import DatasetReader

    reader = DatasetReader(folder)
    files = reader._shard(0, 1) or []  # None: nothing was rejected (the reader's run() would raise)
    documents = reader.read_files_shard(files)
    urls = {url for doc in documents if (url := (doc.metadata.get("metadata") or {}).get("url"))}
    return urls, {name: int(stat.total) for name, stat in reader.stats.stats.items() if name.startswith("skipped_")}


class DomainFilter(BaseFilter):
    """Keep the documents whose registered domain is selected (FineMath: re-read the selected domains' pages),
    and those whose URL another run rejected (FineMath re-reads the pages FineWeb's C4 ``{`` rule dropped).

    A domain list file is read when the first document arrives, so a stage can filter on a file that an
    earlier stage of the same run writes.

    Args:
        domains: a set of domains, or the path of a domain list file (see :func:`read_domain_list`)
        url_key: metadata field holding the page URL
        rejected_folder: a folder of JSONL documents whose URLs are kept as well
        exclusion_writer: where removed documents go
    """

    name = "🌐 Domain filter"

    def __init__(
        self,
        domains: Iterable[str] | str,
        url_key: str = "url",
        rejected_folder: DataFolderLike | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.domains_source = domains
        self.url_key = url_key
        self.rejected_folder = rejected_folder
        self._domains: set[str] | None = None
        self._urls: set[str] = set()

    @property
    def domains(self) -> set[str]:
        if self._domains is None:
            if isinstance(self.domains_source, str):
                self._domains = read_domain_list(self.domains_source)
            else:
                self._domains = {registered_domain(d) for d in self.domains_source} - {""}
            if self.rejected_folder:
                self._urls, skipped = read_document_urls(self.rejected_folder)
                for reason, count in skipped.items():
                    self.stat_update(f"rejected_folder_{reason}", value=count)
        return self._domains

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        url = str(doc.metadata.get(self.url_key) or "")
        domain = registered_domain(url)
        if not domain:
            return False, "no_url"
        if domain in self.domains:
            return True
        if url in self._urls:
            self.stat_update("kept_rejected_url")
            return True
        return False, "domain_not_selected"
