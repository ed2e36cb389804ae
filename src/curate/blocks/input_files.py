"""Which input files a reader opens, and how their names appear in the output.

datatrove lists a folder with fsspec and opens every name it finds: a directory symlink (``latest -> .``), a
dangling link or an unreadable file then fails the task, and a FIFO hangs it. ``CheckedDiskReader`` walks local
folders itself and checks each entry before opening it: a bad entry is counted under its own reason and skipped,
and the task goes on with every good file. Remote filesystems (S3, the Hub) have no links, FIFOs or devices; their
listing stays datatrove's, and a file that cannot be opened there is counted the same way.

Symlinks: a link to a regular file is read under the link's name, unless its target is read under its own name
anyway (``skipped_symlink_duplicate``). A directory link is walked, unless it points to one of its own parent
folders (``skipped_symlink_loop``). With ``follow_symlinks_outside_root = False`` (source trees: an untrusted
repository must not pull ``/etc/passwd`` into a dataset) no link whose target lies outside the input folder is
followed (``skipped_symlink_outside_root``).

File names are bytes; a name that is not UTF-8 comes from the OS with surrogate escapes, which Parquet and JSON
cannot store. ``text_path`` writes it as valid UTF-8 without loss: each undecodable byte as ``\\xHH`` and a literal
backslash as ``\\\\``; ``path_from_text`` turns that back into the name the OS uses.
"""

import errno
import os
import random
import re
import stat
from abc import abstractmethod
from dataclasses import dataclass

from datatrove.data import DocumentsPipeline
from datatrove.io import get_shard_from_paths_file
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger
from fsspec.implementations.local import LocalFileSystem
from fsspec.utils import glob_translate

SYMLINK_LOOP = "skipped_symlink_loop"
DANGLING_SYMLINK = "skipped_dangling_symlink"
SYMLINK_OUTSIDE_ROOT = "skipped_symlink_outside_root"
SYMLINK_DUPLICATE = "skipped_symlink_duplicate"
NOT_A_FILE = "skipped_not_a_file"
UNREADABLE = "skipped_unreadable"
MISSING = "skipped_missing"

_ESCAPED = re.compile(rb"\\(\\|x([0-9a-f]{2}))")


def text_path(path: str) -> str:
    """A file name from the OS as valid UTF-8 text, losslessly: undecodable bytes as ``\\xHH``, ``\\`` as ``\\\\``."""
    if path.isascii() and "\\" not in path:
        return path
    return os.fsencode(path).replace(b"\\", b"\\\\").decode("utf-8", errors="backslashreplace")


def path_from_text(text: str) -> str:
    """The OS file name that ``text_path`` wrote as ``text``."""
    raw = _ESCAPED.sub(lambda m: b"\\" if m.group(2) is None else bytes([int(m.group(2), 16)]), text.encode("utf-8"))
    return os.fsdecode(raw)


@dataclass(frozen=True)
class Entry:
    """What one name in the input is: ``kind`` "file" or "dir" with its ``real`` path, or a ``fault``."""

    kind: str | None = None
    real: str | None = None
    fault: str | None = None


def inspect_entry(path: str, root_real: str, follow_outside_root: bool = True) -> Entry:
    """Classify one local path without opening it (so a FIFO cannot block); ``kind`` is kept beside a fault."""
    try:
        mode = os.lstat(path).st_mode
        real = path
        if stat.S_ISLNK(mode) or not follow_outside_root:
            real = os.path.realpath(path, strict=True)
            mode = os.stat(real).st_mode
    except FileNotFoundError:
        return Entry(fault=DANGLING_SYMLINK if os.path.islink(path) else MISSING)
    except PermissionError:
        return Entry(fault=UNREADABLE)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return Entry(fault=SYMLINK_LOOP)
        raise
    kind = "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else None
    if not follow_outside_root and os.path.commonpath([real, root_real]) != root_real:
        return Entry(kind, real, SYMLINK_OUTSIDE_ROOT)
    return Entry(kind, real) if kind else Entry(fault=NOT_A_FILE)


class LocalListing:
    """The entries under a local folder, sorted as datatrove sorts them: ``(relative path, fault or None)``."""

    def __init__(self, root: str, recursive: bool, glob_pattern: str | None = None, follow_outside_root: bool = True):
        self.root = root
        self.root_real = os.path.realpath(root)
        self.follow_outside_root = follow_outside_root
        if glob_pattern and not any(char in glob_pattern for char in "*?["):
            glob_pattern = f"*{glob_pattern}"  # datatrove's rule: a plain pattern is a file-name ending
        self.matcher = re.compile(glob_translate(glob_pattern)) if glob_pattern else None
        if glob_pattern and "**" not in glob_pattern:
            self.max_depth: int | None = glob_pattern.count("/") + 1
        else:
            self.max_depth = None if recursive else 1

    def entries(self) -> list[tuple[str, str | None]]:
        found: list[tuple[str, Entry]] = []
        self._walk("", self.root_real, frozenset([self.root_real]), 1, found)
        return sorted(self._without_duplicates(found))

    def _walk(self, rel_dir: str, real_dir: str, chain: frozenset[str], depth: int, found: list) -> None:
        try:
            with os.scandir(os.path.join(self.root, rel_dir)) as listing:
                names = sorted(entry.name for entry in listing)
        except PermissionError:
            found.append((rel_dir, Entry(fault=UNREADABLE)))
            return
        for name in names:
            rel, path = os.path.join(rel_dir, name), os.path.join(self.root, rel_dir, name)
            entry = inspect_entry(path, self.root_real, self.follow_outside_root)
            if entry.real == path:  # not a link: its real path is its folder's
                entry = Entry(entry.kind, os.path.join(real_dir, name), entry.fault)
            if entry.kind == "dir":
                if self.max_depth is None or depth < self.max_depth:
                    self._walk_into(rel, entry, chain, depth, found)
            elif self.matcher is None or self.matcher.fullmatch(rel):
                found.append((rel, entry))

    def _walk_into(self, rel: str, entry: Entry, chain: frozenset[str], depth: int, found: list) -> None:
        if entry.fault or entry.real in chain:
            found.append((rel, Entry(fault=entry.fault or SYMLINK_LOOP)))
            return
        self._walk(rel, entry.real, chain | {entry.real}, depth + 1, found)

    def _without_duplicates(self, found: list[tuple[str, Entry]]) -> list[tuple[str, str | None]]:
        """A file reached under several names is read once: under its own name if listed, else the first link."""
        readers: dict[str, str] = {}
        for rel, entry in found:
            if not entry.fault and (entry.real not in readers or entry.real == os.path.join(self.root_real, rel)):
                readers[entry.real] = rel
        return [
            (rel, entry.fault or (SYMLINK_DUPLICATE if readers[entry.real] != rel else None)) for rel, entry in found
        ]


class CheckedDiskReader(BaseDiskReader):
    """A datatrove disk reader that counts bad input entries (see the module docstring) instead of failing on them.

    Subclasses implement ``read_input(filepath)`` where datatrove readers implement ``read_file``. Stats:
    ``skipped_symlink_loop``, ``skipped_dangling_symlink``, ``skipped_symlink_outside_root``,
    ``skipped_symlink_duplicate``, ``skipped_not_a_file`` (FIFO, socket, device, folder), ``skipped_unreadable``
    and ``skipped_missing`` (named in a paths file but absent).
    """

    follow_symlinks_outside_root = True
    _listing_faults: dict[str, str | None] | None = None

    @abstractmethod
    def read_input(self, filepath: str) -> DocumentsPipeline:
        """The documents of one input file that passed the checks."""

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        shard = self._shard(rank, world_size)
        if shard is None:
            raise RuntimeError(f"No files found on {self.data_folder.path}!")
        if not shard:
            logger.warning(f"No files found on {self.data_folder.path} for {rank=}")
        self._log_limit_scope(rank, world_size)
        if self.shuffle_files:
            random.shuffle(shard)
        for document in self.read_files_shard(shard):
            self.update_doc_stats(document)
            yield document

    def read_file(self, filepath: str) -> DocumentsPipeline:
        # a local listing hands datatrove the names as text (it logs them; surrogates would break its log file)
        fault = self._listing_faults.get(filepath) if self._listing_faults is not None else None
        path = self._input_path(filepath)
        fault = fault or self._fault(path)
        if fault is None:
            try:
                yield from self.read_input(path)
                return
            except PermissionError:
                fault = UNREADABLE
            except FileNotFoundError:
                fault = MISSING
            except (IsADirectoryError, NotADirectoryError):
                fault = NOT_A_FILE
        self.stat_update(fault)
        logger.warning(f"Skipping input {text_path(path)!r}: {fault.removeprefix('skipped_').replace('_', ' ')}")

    @property
    def _is_local(self) -> bool:
        return isinstance(self.data_folder.fs, LocalFileSystem)

    def _root(self) -> str:
        return self.data_folder.fs._strip_protocol(self.data_folder.path)

    def _shard(self, rank: int, world_size: int) -> list[str] | None:
        """This task's files: every ``world_size``-th name of the listing, as datatrove shards (None: no files)."""
        names = self._listing()
        return None if names is None else names[rank::world_size]

    def _listing(self) -> list[str] | None:
        """Every input name, in datatrove's order (None when there is none); a local listing remembers its faults."""
        if self.paths_file:
            return list(get_shard_from_paths_file(self.paths_file, 0, 1))
        if not self._is_local:
            return self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern) or None
        listing = LocalListing(self._root(), self.recursive, self.glob_pattern, self.follow_symlinks_outside_root)
        entries = listing.entries()
        if not entries:
            return None
        self._listing_faults = {text_path(path): fault for path, fault in entries}
        return list(self._listing_faults)

    def _input_path(self, name: str) -> str:
        """The path ``read_input`` receives for a name of the listing."""
        return path_from_text(name) if self._listing_faults is not None else name

    def _fault(self, path: str) -> str | None:
        """Why a local file cannot be read (checked right before it is opened), or None."""
        if not self._is_local:
            return None
        root = self._root()
        entry = inspect_entry(os.path.join(root, path), os.path.realpath(root), self.follow_symlinks_outside_root)
        return NOT_A_FILE if entry.kind == "dir" else entry.fault
