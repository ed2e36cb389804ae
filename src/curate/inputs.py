"""Turn a user's input spec (folder, glob, URL, paths file or Common Crawl dump name) into WARC reader arguments."""

import re
import zlib
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

COMMONCRAWL_S3 = "s3://commoncrawl/"
COMMONCRAWL_HTTPS = "https://data.commoncrawl.org/"

_DUMP_NAME = re.compile(r"CC-MAIN-(\d{4})-(\d{2})")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_GLOB_CHARS = re.compile(r"[*?\[]")
_PATHS_FILE_SUFFIXES = (".paths", ".paths.gz")
_ARCHIVE_MAGIC = (b"WARC/", b"filedesc://")
_FILES_LOOKED_AT = 1000  # a folder's first files, looked at for one web archive before the run


@dataclass(frozen=True)
class WarcInput:
    """Where a WARC reader finds its files; the fields are `CommonCrawlWarcReader` arguments."""

    data_folder: str
    paths_file: str | None = None
    glob_pattern: str | None = None
    dump: str | None = None

    def reader_kwargs(self, dump: str | None = None) -> dict:
        """Keyword arguments for ``CommonCrawlWarcReader``: ``dump`` (else the one in the spec) is its fallback when a
        file has no warcinfo."""
        return {
            "data_folder": self.data_folder,
            "paths_file": self.paths_file,
            "glob_pattern": self.glob_pattern,
            "dump": dump or self.dump,
        }


def resolve_warc_input(spec: str, commoncrawl_base: str = COMMONCRAWL_S3) -> WarcInput:
    """Resolve an input spec; raises ValueError with one sentence when the spec cannot be used.

    Accepted specs:
      - a Common Crawl dump name ``CC-MAIN-YYYY-WW``: every WARC in the dump, listed by its ``warc.paths.gz`` under
        ``<commoncrawl_base>crawl-data/<dump>/`` (base ``s3://commoncrawl/``, or ``https://data.commoncrawl.org/``
        without AWS credentials, or a local mirror folder);
      - a local folder, a single local file, or a local glob such as ``/data/*.warc.gz``;
      - a paths file (``*.paths`` / ``*.paths.gz``, one path per line relative to ``commoncrawl_base``);
      - any fsspec URL (``s3://bucket/prefix/``, ``hf://datasets/...``), with or without a glob.
    A dump name found anywhere in the spec becomes ``dump``.
    """
    spec = (spec or "").strip()
    if not spec:
        raise ValueError("The WARC input is empty: give a folder, a glob, a URL or a dump name like CC-MAIN-2024-10.")
    if spec.upper().startswith("CC-MAIN"):
        return _commoncrawl_dump(spec, commoncrawl_base)
    dump = _dump_in(spec)
    if spec.endswith(_PATHS_FILE_SUFFIXES):
        if not _URL.match(spec) and not Path(spec).expanduser().is_file():
            raise ValueError(f"The WARC paths file {spec!r} does not exist.")
        paths_file = spec if _URL.match(spec) else str(Path(spec).expanduser().resolve())
        return WarcInput(data_folder=_with_slash(commoncrawl_base), paths_file=paths_file, dump=dump)
    if _URL.match(spec):
        folder, pattern = _split_glob(spec)
        return WarcInput(data_folder=folder, glob_pattern=pattern, dump=dump)
    return _local(spec, dump)


def _commoncrawl_dump(spec: str, base: str) -> WarcInput:
    match = _DUMP_NAME.fullmatch(spec)
    if not match or not 1 <= int(match.group(2)) <= 53:
        raise ValueError(
            f"{spec!r} is not a Common Crawl dump name: expected CC-MAIN-YYYY-WW with a week 01-53, "
            "for example CC-MAIN-2024-10."
        )
    base = _with_slash(base)
    return WarcInput(data_folder=base, paths_file=f"{base}crawl-data/{spec}/warc.paths.gz", dump=spec)


def _local(spec: str, dump: str | None) -> WarcInput:
    path = Path(spec).expanduser().absolute()
    folder, pattern = _split_glob(str(path))
    if pattern is not None:
        if not Path(folder).is_dir():
            raise ValueError(f"The folder {folder!r} of the WARC glob {spec!r} does not exist.")
        if not any(Path(folder).glob(pattern)):
            raise ValueError(f"The WARC glob {spec!r} matches no files.")
        return WarcInput(data_folder=folder, glob_pattern=pattern, dump=dump)
    if path.is_dir():
        if not any(is_web_archive(p) for p in islice(path.rglob("*"), _FILES_LOOKED_AT)):
            raise ValueError(f"The WARC input folder {spec!r} holds no WARC, WET or ARC file.")
        return WarcInput(data_folder=str(path.resolve()), dump=dump)
    if path.is_file():
        if not is_web_archive(path):
            raise ValueError(f"The WARC input {spec!r} is not a WARC, WET or ARC file (gzip-compressed or not).")
        path = path.resolve()
        return WarcInput(data_folder=str(path.parent), glob_pattern=_exact_glob(path.name), dump=dump)
    raise ValueError(f"The WARC input {spec!r} does not exist (no such local file or folder).")


def is_web_archive(path: Path) -> bool:
    """True when ``path`` is a readable file that starts like a WARC/WET (``WARC/``) or ARC (``filedesc://``) file,
    gzip-compressed or not: what the reader tells apart by content, checked before a run starts."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(512)
        if head.startswith(b"\x1f\x8b"):
            head = zlib.decompressobj(wbits=31).decompress(head, 16)
    except (OSError, zlib.error):
        return False
    return head.lstrip().startswith(_ARCHIVE_MAGIC)


def _split_glob(path: str) -> tuple[str, str | None]:
    """``/a/b/*.gz`` -> (``/a/b``, ``*.gz``): the folder before the first part with a wildcard, and the rest."""
    scheme = ""
    if match := _URL.match(path):
        scheme, path = match.group(0), path[match.end() :]
    parts = path.split("/")
    for i, part in enumerate(parts):
        if _GLOB_CHARS.search(part):
            return scheme + ("/".join(parts[:i]) or "/"), "/".join(parts[i:])
    return scheme + path, None


def _exact_glob(name: str) -> str:
    """A glob matching exactly ``name``: datatrove prefixes a pattern without wildcards with ``*``."""
    escaped = [f"[{char}]" if char in "*?[" else char for char in name]
    if not any(char in "*?[" for char in name):
        first = next(i for i, char in enumerate(name) if char.isalnum())
        escaped[first] = f"[{name[first]}]"
    return "".join(escaped)


def _dump_in(spec: str) -> str | None:
    match = _DUMP_NAME.search(spec)
    return match.group(0) if match else None


def _with_slash(base: str) -> str:
    return base if base.endswith("/") else base + "/"


def locate(spec: str) -> tuple[str, str | None]:
    """``(folder or URL, glob or None)`` of any input spec: a folder, a glob, one file (an exact glob) or a URL,
    whatever the files hold (``resolve_warc_input`` checks that they are WARCs)."""
    if _URL.match(spec):
        return _split_glob(spec)
    path = Path(spec).expanduser().absolute()
    if path.is_file():
        return str(path.resolve().parent), _exact_glob(path.name)
    return _split_glob(str(path))
