"""resolve_warc_input: every kind of spec, read end to end on local copies of the real WARCs (never the network)."""

import gzip
import shutil
from pathlib import Path

import pytest

from curate.blocks.warc import CommonCrawlWarcReader
from curate.inputs import COMMONCRAWL_HTTPS, COMMONCRAWL_S3, WarcInput, resolve_warc_input

CC_FILE = "resiliparse-cc-main-2020-34.warc.gz"
CC_2024 = "whirlwind-cc-main-2024-22.warc.gz"


def urls(source: WarcInput) -> list[str]:
    return [d.metadata["url"] for d in CommonCrawlWarcReader(**source.reader_kwargs()).run()]


@pytest.fixture
def mirror(tmp_path: Path, shared_data: Path) -> Path:
    """A local stand-in for the Common Crawl bucket: crawl-data/<dump>/segments/.../warc/<file> + warc.paths.gz."""
    paths = []
    for dump, name in (("CC-MAIN-2020-34", CC_FILE), ("CC-MAIN-2024-22", CC_2024)):
        relative = f"crawl-data/{dump}/segments/1596439738015.38/warc/{name}"
        (tmp_path / relative).parent.mkdir(parents=True)
        shutil.copy(shared_data / "warc" / name, tmp_path / relative)
        with gzip.open(tmp_path / f"crawl-data/{dump}/warc.paths.gz", "wt") as listing:
            listing.write(relative + "\n")
        paths.append(relative)
    return tmp_path


def test_dump_name_reads_the_dumps_paths_file(mirror):
    source = resolve_warc_input("CC-MAIN-2020-34", commoncrawl_base=str(mirror))
    assert source.paths_file == f"{mirror}/crawl-data/CC-MAIN-2020-34/warc.paths.gz"
    assert source.dump == "CC-MAIN-2020-34"
    reader = CommonCrawlWarcReader(**source.reader_kwargs())
    docs = list(reader.run())
    assert len(docs) == 16
    # warc_filename is the path inside the bucket, as in Common Crawl's own index
    assert docs[0].metadata["warc_filename"] == (
        f"crawl-data/CC-MAIN-2020-34/segments/1596439738015.38/warc/{CC_FILE}"
    )
    assert {d.metadata["dump"] for d in docs} == {"CC-MAIN-2020-34"}


def test_dump_name_defaults_to_the_s3_bucket_and_accepts_the_https_mirror():
    assert resolve_warc_input("CC-MAIN-2024-10") == WarcInput(
        data_folder=COMMONCRAWL_S3,
        paths_file="s3://commoncrawl/crawl-data/CC-MAIN-2024-10/warc.paths.gz",
        dump="CC-MAIN-2024-10",
    )
    https = resolve_warc_input("CC-MAIN-2024-10", commoncrawl_base=COMMONCRAWL_HTTPS.rstrip("/"))
    assert https.paths_file == "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/warc.paths.gz"
    assert https.data_folder == COMMONCRAWL_HTTPS


def test_paths_file_spec(mirror):
    source = resolve_warc_input(str(mirror / "crawl-data/CC-MAIN-2024-22/warc.paths.gz"), commoncrawl_base=str(mirror))
    assert source.dump == "CC-MAIN-2024-22"
    assert urls(source) == ["https://an.wikipedia.org/wiki/Escopete"]


def test_local_folder(mirror):
    source = resolve_warc_input(str(mirror / "crawl-data"))
    assert source == WarcInput(data_folder=str(mirror / "crawl-data"))
    assert len(urls(source)) == 16 + 1


def test_local_glob(mirror):
    source = resolve_warc_input(str(mirror / "crawl-data/CC-MAIN-2024-22/segments/*/warc/*.warc.gz"))
    assert source.data_folder == str(mirror / "crawl-data/CC-MAIN-2024-22/segments")
    assert source.glob_pattern == "*/warc/*.warc.gz"
    assert source.dump == "CC-MAIN-2024-22"
    assert urls(source) == ["https://an.wikipedia.org/wiki/Escopete"]


def test_single_local_file_reads_only_that_file(tmp_path, shared_data):
    for name in (CC_2024, f"x{CC_2024}"):  # datatrove would read "*<pattern>", matching both
        shutil.copy(shared_data / "warc" / CC_2024, tmp_path / name)
    source = resolve_warc_input(str(tmp_path / CC_2024))
    assert urls(source) == ["https://an.wikipedia.org/wiki/Escopete"]


def test_fsspec_url_with_and_without_glob():
    assert resolve_warc_input("s3://bucket/prefix/") == WarcInput(data_folder="s3://bucket/prefix/")
    source = resolve_warc_input("s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/*/warc/*.warc.gz")
    assert source.data_folder == "s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments"
    assert source.glob_pattern == "*/warc/*.warc.gz"
    assert source.dump == "CC-MAIN-2024-10"


def test_fsspec_url_is_read(shared_data):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe(f"/inputs-test/{CC_2024}", (shared_data / "warc" / CC_2024).read_bytes())
    try:
        assert urls(resolve_warc_input("memory://inputs-test/*.warc.gz")) == ["https://an.wikipedia.org/wiki/Escopete"]
    finally:
        memory.rm("/inputs-test", recursive=True)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("CC-MAIN-2024-1", "not a Common Crawl dump name"),
        ("CC-MAIN-2024-54", "not a Common Crawl dump name"),
        ("CC-MAIN-24-10", "not a Common Crawl dump name"),
        ("cc-main-2024-10-extra", "not a Common Crawl dump name"),
        ("/no/such/folder", "does not exist"),
        ("/no/such/folder/*.warc.gz", "does not exist"),
        ("/no/such/warc.paths.gz", "does not exist"),
        ("", "empty"),
    ],
)
def test_bad_specs_raise_one_clear_sentence(spec, message):
    with pytest.raises(ValueError, match=message) as error:
        resolve_warc_input(spec)
    text = str(error.value)
    assert text.endswith(".") and text.count(". ") == 0


def test_glob_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="matches no files"):
        resolve_warc_input(str(tmp_path / "*.warc.gz"))
