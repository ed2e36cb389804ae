"""Every real page the project has, as datatrove Documents, read once per test session.

The pages: ../shared/data/extraction and ../shared/data/math (packed into a WARC here), the HTML records of every
real WARC in ../shared/data/warc, and the demo sample (web and math). They are read by curate's WARC reader, and
extracted by datatrove's own ``Trafilatura`` with FineWeb's settings (a generous timeout, so that a loaded machine
does not drop pages), as the FineWeb stage sees them.
"""

import copy
import tempfile
from functools import cache
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.extractors import Trafilatura

from curate.blocks.warc import CommonCrawlWarcReader
from curate.evaluation.realdata import extraction_pages, math_pages, write_html_warc
from curate.sample import demo_math_warc, demo_warc

EXTRACTION_TIMEOUT = 60.0


@cache
def html_documents(shared_data: Path) -> tuple[Document, ...]:
    """The pages as read from WARCs (text = HTML), in a fixed order."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_html_warc(folder / "extraction.warc.gz", extraction_pages(shared_data))
        write_html_warc(folder / "math.warc.gz", [(row["url"], row["html"]) for row in math_pages(shared_data)])
        for path in sorted((shared_data / "warc").glob("*.gz")):
            (folder / path.name).symlink_to(path)
        for name, path in (("demo-web", demo_warc()), ("demo-math", demo_math_warc())):  # both named CC-MAIN-...
            (folder / f"{name}.warc.gz").symlink_to(path)
        return tuple(CommonCrawlWarcReader(str(folder)).run())


@cache
def extracted_documents(shared_data: Path) -> tuple[Document, ...]:
    """The pages' texts from datatrove's Trafilatura step with FineWeb's settings (pages it drops left out)."""
    step = Trafilatura(favour_precision=True, timeout=EXTRACTION_TIMEOUT)
    return tuple(step.run(iter(copy.deepcopy(list(html_documents(shared_data))))))
