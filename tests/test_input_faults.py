"""Bad entries among the input files (issue 11 rows 1, 3, 4, 5, 7), for every disk reader, built in tmp folders
from the real files of ../shared/data.

Each test reads a folder of good files first, then adds one bad entry and reads again: the good documents must
come out identical (ids and texts) and the bad entry must be counted under its own reason, with nothing else
skipped.
"""

import ctypes
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.code import SourceTreeReader, StackV2Reader, git_blob_sha1
from curate.blocks.domains import DomainFilter
from curate.blocks.input_files import path_from_text, text_path
from curate.blocks.warc import CommonCrawlWarcReader
from curate.blocks.writers import FINEWEB_COLUMNS, FlatParquetWriter

READERS = {"warc": CommonCrawlWarcReader, "source_tree": SourceTreeReader, "stack_v2": StackV2Reader}
EXTENSION = {"warc": ".warc.gz", "source_tree": ".py", "stack_v2": ".parquet"}
INPUT_FAULTS = {
    "skipped_symlink_loop",
    "skipped_dangling_symlink",
    "skipped_symlink_outside_root",
    "skipped_symlink_duplicate",
    "skipped_not_a_file",
    "skipped_unreadable",
    "skipped_missing",
}
CODE_SAMPLES = [
    "Python/Python__physics__ideal_gas_law.py",
    "Rust/Rust__src__ciphers__another_rot13.rs",
    "C/linguist__samples__C__elf.h",
    "Go/Go__cache__lfu.go",
    "Shell/rbenv__libexec__rbenv-which",
]


def read(kind: str, folder: Path, **kwargs) -> tuple[list[tuple[str, str]], dict[str, int]]:
    reader = READERS[kind](str(folder), **kwargs)
    docs = [(doc.id, doc.text) for doc in reader.run()]
    return docs, {name: int(value.total) for name, value in reader.stats.stats.items()}


def faults(stats: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in stats.items() if name in INPUT_FAULTS}


def code_rows(shared_data: Path) -> list[dict]:
    rows = []
    for name in CODE_SAMPLES:
        data = (shared_data / "code" / name).read_bytes()
        rows.append({"blob_id": git_blob_sha1(data), "path": name, "content": data.decode("utf-8")})
    return rows


def fill_with_good_files(kind: str, folder: Path, shared_data: Path) -> None:
    """Real input of each kind: two real WARCs; real code files; Parquet and JSONL rows of real code files."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "warc":
        for name in ("resiliparse-cc-main-2020-34.warc.gz", "warcio-example.warc.gz"):
            shutil.copyfile(shared_data / "warc" / name, folder / name)
    elif kind == "source_tree":
        for name in CODE_SAMPLES:
            target = folder / "repo" / Path(name).name.split("__", 1)[1].replace("__", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared_data / "code" / name, target)
    else:
        rows = code_rows(shared_data)
        pq.write_table(pa.Table.from_pylist(rows[:3]), folder / "train-00000.parquet")
        with gzip.open(folder / "train-00001.jsonl.gz", "wt") as f:
            f.write("".join(json.dumps(row) + "\n" for row in rows[3:]))


@pytest.fixture(params=list(READERS))
def kind(request) -> str:
    return request.param


@pytest.fixture
def good(kind, tmp_path, shared_data) -> tuple[Path, list[tuple[str, str]]]:
    """A folder of good files and what the reader makes of it."""
    folder = tmp_path / "input"
    fill_with_good_files(kind, folder, shared_data)
    docs, stats = read(kind, folder)
    assert len(docs) >= 5 and faults(stats) == {}
    return folder, docs


def make_socket(path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(path.parent)  # AF_UNIX paths are limited to 107 bytes: bind the short relative name
    try:
        socket.socket(socket.AF_UNIX).bind(path.name)
    finally:
        os.chdir(cwd)


def make_device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))  # a character device: the same node as /dev/null


BAD_ENTRIES = {
    # name: (how to make it inside the input folder, expected reason)
    "directory_link_to_itself": (lambda d, ext: (d / "latest").symlink_to("."), "skipped_symlink_loop"),
    "directory_link_to_a_parent": (
        lambda d, ext: ((d / "sub").mkdir(), (d / "sub" / "up").symlink_to("..")),
        "skipped_symlink_loop",
    ),
    "file_link_to_itself": (lambda d, ext: (d / f"self{ext}").symlink_to(f"self{ext}"), "skipped_symlink_loop"),
    "dangling_link": (lambda d, ext: (d / f"gone{ext}").symlink_to(f"missing{ext}"), "skipped_dangling_symlink"),
    "fifo": (lambda d, ext: os.mkfifo(d / f"pipe{ext}"), "skipped_not_a_file"),
    "socket": (lambda d, ext: make_socket(d / f"sock{ext}"), "skipped_not_a_file"),
    "device": (lambda d, ext: make_device(d / f"dev{ext}"), "skipped_not_a_file"),
}


def read_with_timeout(kind: str, folder: Path, fifo: Path | None = None, seconds: float = 60, **kwargs):
    return within(seconds, fifo, lambda: read(kind, folder, **kwargs))


def within(seconds: float, fifo: Path | None, work):
    """``work()`` in a thread: one that blocks on a FIFO is released (by opening it for writing) and reported."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(out=work()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"the reader hung for {seconds} s on the input folder")
    return result["out"]


@pytest.mark.parametrize("entry", list(BAD_ENTRIES))
def test_bad_entry_is_counted_and_every_good_document_kept(kind, good, entry):
    folder, expected = good
    make, reason = BAD_ENTRIES[entry]
    make(folder, EXTENSION[kind])
    fifo = next(folder.glob("pipe*"), None)

    docs, stats = read_with_timeout(kind, folder, fifo)

    assert docs == expected
    assert faults(stats) == {reason: 1}


@pytest.mark.parametrize("entry", list(BAD_ENTRIES))
def test_bad_entry_among_the_c4_rejects_finemath_rereads_is_counted(tmp_path, entry):
    """FineMath keeps the pages FineWeb's C4 step removed (DomainFilter's rejected_folder, FineWeb's removed/c4
    JSONL): a bad entry among those files is skipped and counted, never followed or opened."""
    folder = tmp_path / "c4"
    with JsonlWriter(str(folder)) as writer:
        writer.write(Document(text="a { in C4", id="rejected", metadata={"url": "https://a.example.org/1"}))
    make, reason = BAD_ENTRIES[entry]
    make(folder, ".jsonl.gz")
    step = DomainFilter(set(), rejected_folder=str(folder))
    docs = [Document(text=t, id=t, metadata={"url": f"https://{t}.example.org/1"}) for t in ("a", "b")]

    kept = within(60, next(folder.glob("pipe*"), None), lambda: [d.id for d in step.run(iter(docs))])

    assert kept == ["a"]
    skipped = {name: int(stat.total) for name, stat in step.stats.stats.items() if name.startswith("rejected_folder")}
    # a folder link has no .jsonl name: left out of the listing, so neither followed nor counted as a skip
    assert skipped == ({} if entry.startswith("directory") else {f"rejected_folder_{reason}": 1})


def test_a_second_name_of_a_file_is_counted_not_read_twice(kind, good):
    folder, expected = good
    target = sorted(p for p in folder.rglob("*") if p.is_file())[0]
    (target.parent / f"alias{EXTENSION[kind]}").symlink_to(target.name)

    docs, stats = read(kind, folder)

    assert docs == expected
    assert faults(stats) == {"skipped_symlink_duplicate": 1}


def test_a_folder_link_inside_the_input_reads_nothing_twice(kind, good):
    folder, _ = good
    archive = folder / "archive"
    archive.mkdir()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and archive not in p.parents)[:2]:
        path.rename(archive / path.name)
    expected, _ = read(kind, folder)
    (folder / "latest").symlink_to("archive")

    docs, stats = read(kind, folder)

    assert docs == expected
    assert faults(stats) == {"skipped_symlink_duplicate": 2}


def _without_dac_override():
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: root reads mode-000 files without them
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, before the child's exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def read_unprivileged(kind: str, folder: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Read as a process for which file permissions hold (root here: a child without the DAC capabilities)."""
    if os.geteuid() != 0:
        return read(kind, folder)
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[3])\n"
        "from test_input_faults import read\n"
        "docs, stats = read(sys.argv[1], sys.argv[2])\n"
        "print(json.dumps({'docs': docs, 'stats': stats}))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, kind, str(folder), str(Path(__file__).parent)],
        preexec_fn=_without_dac_override,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    return [tuple(doc) for doc in out["docs"]], out["stats"]


def test_unreadable_files_and_folders_are_counted(kind, good):
    folder, expected = good
    locked = folder / f"locked{EXTENSION[kind]}"
    shutil.copyfile(sorted(p for p in folder.rglob("*") if p.is_file())[0], locked)
    (folder / "private").mkdir()
    shutil.copyfile(locked, folder / "private" / f"inside{EXTENSION[kind]}")
    locked.chmod(0)
    (folder / "private").chmod(0)
    try:
        docs, stats = read_unprivileged(kind, folder)
    finally:
        (folder / "private").chmod(0o755)
    assert docs == expected
    assert faults(stats) == {"skipped_unreadable": 2}


def test_source_trees_never_follow_links_out_of_the_input(tmp_path, shared_data):
    """Security: a cloned (untrusted) repository must not pull /etc/passwd or the user's files into a dataset."""
    folder = tmp_path / "input"
    fill_with_good_files("source_tree", folder, shared_data)
    expected, _ = read("source_tree", folder)
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "keys.py").write_text("API_KEY = 'not for the dataset'\n")
    (folder / "repo" / "passwd.sh").symlink_to("/etc/passwd")
    (folder / "repo" / "elsewhere").symlink_to(secret)
    (folder / "repo" / "sneaky.py").symlink_to(os.path.relpath(secret / "keys.py", folder / "repo"))

    docs, stats = read("source_tree", folder)

    assert docs == expected
    assert faults(stats) == {"skipped_symlink_outside_root": 3}
    assert not any("not for the dataset" in text or "root:x:0:0" in text for _, text in docs)


def test_stack_v2_tables_may_be_links_out_of_the_input(tmp_path, shared_data):
    """A Hugging Face cache snapshot holds links to ../../blobs: Stack v2 tables (not code files) follow them."""
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshots" / "abc123"
    fill_with_good_files("stack_v2", blobs, shared_data)
    expected, _ = read("stack_v2", blobs)
    snapshot.mkdir(parents=True)
    for blob in blobs.iterdir():
        (snapshot / blob.name).symlink_to(os.path.relpath(blob, snapshot))

    docs, stats = read("stack_v2", snapshot)

    assert docs == expected and faults(stats) == {}


def test_warc_inputs_follow_links_to_other_disks(tmp_path, shared_data):
    """The documented WARC policy: the operator's own storage, where links into a download cache are normal."""
    folder = tmp_path / "input"
    fill_with_good_files("warc", folder, shared_data)
    expected, _ = read("warc", folder)
    (folder / "more").symlink_to(shared_data / "warc")  # a folder link out of the input
    wet = "whirlwind-cc-main-2024-22.warc.wet.gz"
    (folder / wet).symlink_to(shared_data / "warc" / wet)  # a file link out of the input
    more, _ = read("warc", shared_data / "warc", glob_pattern=wet)

    docs, stats = read("warc", folder, glob_pattern="*.gz")

    assert docs == sorted(expected + more, key=lambda doc: docs.index(doc)) and len(docs) == len(expected) + 1
    assert faults(stats) == {}
    docs, stats = read("warc", folder, glob_pattern="**/*.gz")
    assert set(expected + more) <= set(docs)
    assert faults(stats) == {"skipped_symlink_duplicate": 1}  # more/<wet> is the same file as the <wet> link


def test_names_in_a_paths_file_that_are_missing_or_not_files(tmp_path, shared_data):
    folder = tmp_path / "input"
    fill_with_good_files("warc", folder, shared_data)
    expected, _ = read("warc", folder)
    os.mkfifo(folder / "pipe.warc.gz")
    (folder / "a-folder.warc.gz").mkdir()
    paths = tmp_path / "warc.paths"
    names = ["resiliparse-cc-main-2020-34.warc.gz", "gone.warc.gz", "pipe.warc.gz", "a-folder.warc.gz"]
    paths.write_text("\n".join([*names, "warcio-example.warc.gz"]) + "\n")

    docs, stats = read_with_timeout("warc", folder, folder / "pipe.warc.gz", paths_file=str(paths))

    assert docs == expected
    assert faults(stats) == {"skipped_missing": 1, "skipped_not_a_file": 2}


# --- names that are not UTF-8 ---------------------------------------------------------------------------------


def test_non_utf8_file_names_survive_into_ids_columns_jsonl_and_parquet(tmp_path, shared_data):
    folder = tmp_path / "input"
    folder.mkdir()
    raw_name = os.fsdecode(b"good\xff\\x.arc.gz")  # an undecodable byte and a literal backslash
    shutil.copyfile(shared_data / "warc" / "warcio-example.arc.gz", folder / raw_name)
    shutil.copyfile(shared_data / "warc" / "warcio-example.warc.gz", folder / os.fsdecode(b"caf\xe9.warc.gz"))
    reader = CommonCrawlWarcReader(str(folder))
    docs = list(reader.run())

    arc = next(d for d in docs if d.metadata["warc_filename"].endswith(".arc.gz"))
    assert arc.metadata["warc_filename"] == "good\\xff\\\\x.arc.gz"
    assert arc.id == "good\\xff\\\\x.arc.gz/171"  # ARC ids are "<file>/<offset>"
    assert path_from_text(arc.metadata["file_path"]) == str(folder / raw_name)
    assert {text_path(p.name) for p in folder.iterdir()} == {d.metadata["warc_filename"] for d in docs}

    # the recipes' intermediate JSONL (orjson) and final Parquet (pyarrow) both need valid UTF-8
    list(JsonlWriter(str(tmp_path / "work")).run(iter(docs)))
    again = list(JsonlReader(str(tmp_path / "work")).run())
    assert [(d.id, d.text, d.metadata["file_path"]) for d in again] == [
        (d.id, d.text, d.metadata["file_path"]) for d in docs
    ]
    with FlatParquetWriter(str(tmp_path / "data"), columns=FINEWEB_COLUMNS, output_filename="x.parquet") as writer:
        for doc in again:
            writer.write(doc)
    table = [row for f in (tmp_path / "data").glob("*.parquet") for row in pq.read_table(f).to_pylist()]
    assert sorted(path_from_text(row["file_path"]) for row in table) == sorted(str(p) for p in folder.iterdir())


def test_non_utf8_names_in_source_trees_and_stack_v2_files(tmp_path, shared_data):
    tree = tmp_path / "tree"
    data = (shared_data / "code" / CODE_SAMPLES[0]).read_bytes()
    repo = tree / os.fsdecode(b"d\xe9p\xf4t")
    repo.mkdir(parents=True)
    (repo / os.fsdecode(b"gaz_id\xe9al.py")).write_bytes(data)
    (doc,) = SourceTreeReader(str(tree)).run()
    assert (doc.metadata["repo_name"], doc.metadata["path"]) == ("d\\xe9p\\xf4t", "gaz_id\\xe9al.py")
    assert doc.id == git_blob_sha1(data) and doc.text == data.decode("utf-8")
    assert path_from_text(doc.metadata["file_path"]) == str(repo / os.fsdecode(b"gaz_id\xe9al.py"))
    pa.array([doc.metadata["repo_name"], doc.metadata["path"], doc.metadata["file_path"]])  # valid UTF-8

    tables = tmp_path / "tables"
    fill_with_good_files("stack_v2", tables, shared_data)
    expected, _ = read("stack_v2", tables)
    (tables / "train-00000.parquet").rename(tables / os.fsdecode(b"train-\xff.parquet"))
    docs = list(StackV2Reader(str(tables)).run())
    assert sorted((d.id, d.text) for d in docs) == sorted(expected)
    assert {text_path(p.name) for p in tables.iterdir()} == {Path(d.metadata["file_path"]).name for d in docs}


def test_text_path_round_trips_every_name():
    names = [b"plain.warc.gz", b"caf\xc3\xa9.py", b"bad\xff\xfe.py", b"back\\slash", b"literal\\xff", b"\\\\xff\xff"]
    for raw in names:
        text = text_path(os.fsdecode(raw))
        text.encode("utf-8")  # never raises: no surrogates left
        assert os.fsencode(path_from_text(text)) == raw
    assert len({text_path(os.fsdecode(raw)) for raw in names}) == len(names)
    assert text_path("plain.warc.gz") == "plain.warc.gz" and text_path("café.py") == "café.py"


# --- the format comes from the content, not the name ---------------------------------------------------------


@pytest.mark.parametrize(
    "source, misnamed",
    [
        ("warcio-example.arc.gz", "looks-like.warc.gz"),  # ARC named as WARC
        ("warcio-example.warc.gz", "looks-like.arc.gz"),  # WARC named as ARC
        ("whirlwind-cc-main-2024-22.warc.wet.gz", "looks-like.warc"),  # gzip WET named as plain WARC
        ("warcio-example.arc.gz", "plain-arc.warc.gz"),  # an uncompressed ARC named as gzip WARC
    ],
)
def test_format_is_read_from_the_content(tmp_path, shared_data, source, misnamed):
    reference = tmp_path / "reference"
    reference.mkdir()
    shutil.copyfile(shared_data / "warc" / source, reference / source)
    expected, expected_stats = read("warc", reference)
    folder = tmp_path / "misnamed"
    folder.mkdir()
    raw = (shared_data / "warc" / source).read_bytes()
    (folder / misnamed).write_bytes(gzip.decompress(raw) if "plain" in misnamed else raw)

    docs, stats = read("warc", folder)

    assert [text for _, text in docs] == [text for _, text in expected] and len(docs) >= 1
    if "plain" not in misnamed:  # ARC ids are "<file>/<offset>"
        assert [i for i, _ in docs] == [i.replace(f"{source}/", f"{misnamed}/") for i, _ in expected]
    assert stats.get("truncated_file", 0) == stats.get("broken_record", 0) == 0
    assert {k: v for k, v in stats.items() if k.startswith("skipped_")} == {
        k: v for k, v in expected_stats.items() if k.startswith("skipped_")
    }


@pytest.mark.slow
def test_stack_edu_run_with_bad_entries_and_non_utf8_names(tmp_path, shared_data):
    """The path users take: the stack_edu recipe over a cloned tree holding a link to /etc/passwd, a FIFO, a loop
    and a non-UTF-8 file name, with ``keep_content`` on (tiny RANDOM stand-in classifiers that score 3.4)."""
    from recipe_runs import run_recipe
    from tiny_models import tiny_bert

    from curate.config import load_recipe_config

    tree = tmp_path / "clones"
    fill_with_good_files("source_tree", tree, shared_data)
    odd_name = os.fsdecode(b"caf\xe9.py")
    shutil.copyfile(shared_data / "code" / CODE_SAMPLES[0], tree / "repo" / odd_name)
    (tree / "repo" / "passwd.sh").symlink_to("/etc/passwd")
    os.mkfifo(tree / "repo" / "pipe.py")
    (tree / "repo" / "latest").symlink_to(".")
    model = tiny_bert(tmp_path / "model", bias=3.4, max_positions=1024)
    cfg = load_recipe_config(
        "stack_edu", [f"input={tree}", "offline=false", f"scorer.model={model}", "keep_content=true", "tasks=1"]
    )

    assert run_recipe(cfg, tmp_path / "out") == 0

    rows = [row for f in (tmp_path / "out" / "data").rglob("*.parquet") for row in pq.read_table(f).to_pylist()]
    assert sorted(row["path"] for row in rows) == sorted(
        [Path(name).name.split("__", 1)[1].replace("__", "/") for name in CODE_SAMPLES] + ["caf\\xe9.py"]
    )
    assert not any("root:x:0:0" in row["content"] for row in rows)
    stats = json.loads((tmp_path / "out" / "stats" / "select.json").read_text())
    (reader,) = [step["stats"] for step in stats if "READER" in step["name"]]
    totals = {key: value["total"] if isinstance(value, dict) else value for key, value in reader.items()}
    assert {key: total for key, total in totals.items() if key in INPUT_FAULTS and total} == {
        "skipped_symlink_outside_root": 1,
        "skipped_not_a_file": 1,
        "skipped_symlink_loop": 1,
    }
