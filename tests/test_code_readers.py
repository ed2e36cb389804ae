"""Code readers on the real code in shared_data/code (795 files, 15 languages, manifest.jsonl)."""

import gzip
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from step_stats import stat

from curate.blocks.code import SoftwareHeritageContentFetcher, SourceTreeReader, StackV2Reader, git_blob_sha1
from curate.blocks.code_language import detect_language
from curate.blocks.decoding import decode_source


@pytest.fixture(scope="module")
def manifest(shared_data) -> list[dict]:
    return [json.loads(line) for line in (shared_data / "code" / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def repo_tree(shared_data, manifest, tmp_path_factory) -> Path:
    """The manifest's files laid out as the repositories they came from: <owner>/<name>/<original path>.
    Copies in a temporary folder (a source tree never follows links out of itself); the folder a file sits in
    never names its language for the TheAlgorithms and rbenv repositories, and detection only looks at base
    names anyway."""
    root = tmp_path_factory.mktemp("repos")
    for row in manifest:
        target = root / row["source_repo"] / row["source_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / "code" / row["path"], target)
    return root


def test_language_detection_matches_the_manifest(shared_data, manifest):
    mismatches = []
    for row in manifest:
        decoded = decode_source((shared_data / "code" / row["path"]).read_bytes())
        detected = detect_language(row["source_path"], decoded[0] if decoded else None)
        if detected != row["language"]:
            mismatches.append((row["source_path"], row["language"], detected))
    assert len(manifest) == 795
    assert len(mismatches) <= 0.01 * len(manifest), mismatches
    # the cases that need the content, not the name: .h split between C and C++, scripts without extension
    assert detect_language("samples/C/elf.h", "struct elf { void *entry; /* virtual address */ };") == "C"
    assert detect_language("x/queue.h", "template <typename T> class Queue {};") == "Cpp"
    assert detect_language("libexec/rbenv-which", "#!/usr/bin/env bash\nset -e\n") == "Shell"
    assert detect_language("bin/tool", "#!/usr/bin/env python3.11\nprint(1)\n") == "Python"
    assert detect_language("Python/notes.txt", "import os\n") is None  # the folder never decides
    assert detect_language("Makefile", "all:\n\tcc x.c\n") is None  # Makefile is not one of the 15


def test_source_tree_reader_reads_real_repositories(repo_tree, manifest):
    reader = SourceTreeReader(str(repo_tree), repo_depth=2)
    docs = list(reader.run())
    by_key = {(row["source_repo"], row["source_path"]): row for row in manifest}

    matched = [doc for doc in docs if by_key[(doc.metadata["repo_name"], doc.metadata["path"])]["language"]
               == doc.metadata["language"]]  # fmt: skip
    assert len(matched) >= 0.99 * len(manifest)
    # every file is either a document or a counted skip; all 795 are text of the 15 languages, so no skips
    skips = {key: value.total for key, value in reader.stats.stats.items() if key.startswith("skipped_")}
    assert len(docs) + sum(skips.values()) == len(manifest)
    assert skips == {}

    languages = Counter(doc.metadata["language"] for doc in docs)
    assert len(languages) == 15
    for doc in docs[:50]:
        row = by_key[(doc.metadata["repo_name"], doc.metadata["path"])]
        assert doc.metadata["length_bytes"] == row["bytes"]
        assert doc.metadata["src_encoding"] == "UTF-8"
        assert doc.id == doc.metadata["blob_id"]
    # blob ids are git's: check against git itself where it is installed
    if shutil.which("git"):
        sample = docs[0]
        real_file = repo_tree / sample.metadata["repo_name"] / sample.metadata["path"]
        git_id = subprocess.run(["git", "hash-object", str(real_file)], capture_output=True, text=True, check=True)
        assert sample.id == git_id.stdout.strip()


def test_source_tree_reader_counts_bad_files(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ok.py").write_text("def f():\n    return 1\n")
    (repo / "blob.py").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 100)  # binary disguised as .py
    # ordinary prose, as in real comments: detectors guess exotic codepages (cchardet: IBM852) on a few accented words
    french = (
        "# Fonction qui calcule la moyenne des élèves de la classe, très utilisée.\n"
        "# Paramètres : liste des notes; renvoie la moyenne arrondie à deux décimales.\n"
        "def moyenne(notes):\n    return round(sum(notes) / len(notes), 2)\n"
    )
    (repo / "latin1.py").write_bytes(french.encode("latin-1"))
    japanese = "# これは日本語のコメントです。関数の説明を書きます。\ndef greet():\n    return 'こんにちは、世界'\n"
    (repo / "sjis.py").write_bytes(japanese.encode("shift_jis") * 3)
    # neither UTF-8 nor Windows-1252 (these five bytes are its holes), nothing a detector recognises
    (repo / "broken.py").write_bytes(b"abc \x81\x8d\x8f\x90\x9d def\n" * 3)
    (repo / "notes.xyz").write_text("unknown extension\n")
    (repo / "empty.rb").write_bytes(b"")
    with open(repo / "huge.js", "wb") as f:  # 50 MB of JavaScript
        f.write(b"var x = 1;\n" * (50 * 1024 * 1024 // 11))
    (repo / "app.min.js").write_text("var a=1;" * 20_000)  # minified, one line: read (filters decide)

    reader = SourceTreeReader(str(tmp_path))
    docs = {doc.metadata["path"]: doc for doc in reader.run()}

    assert set(docs) == {"ok.py", "latin1.py", "sjis.py", "app.min.js"}
    assert docs["ok.py"].metadata["repo_name"] == "repo"
    # Latin-1 is read as its superset Windows-1252 (WHATWG); Shift_JIS as its superset windows-31j (cp932)
    assert docs["latin1.py"].text == french and docs["latin1.py"].metadata["src_encoding"] == "WINDOWS-1252"
    assert "こんにちは" in docs["sjis.py"].text and docs["sjis.py"].metadata["src_encoding"] == "CP932"
    assert docs["app.min.js"].metadata["language"] == "JavaScript"
    for key in ("skipped_binary", "skipped_undecodable", "skipped_unknown_language", "skipped_empty"):
        assert stat(reader, key) == 1, key
    assert stat(reader, "skipped_too_large") == 1

    only_python = SourceTreeReader(str(repo), repo_name="me/repo", languages=["Python"])
    kept = list(only_python.run())
    assert {doc.metadata["repo_name"] for doc in kept} == {"me/repo"}
    assert stat(only_python, "skipped_language_not_selected") == 1  # app.min.js
    with pytest.raises(ValueError, match="Klingon"):
        SourceTreeReader(str(repo), languages=["Klingon"])


def _stack_rows(shared_data: Path, manifest: list[dict], with_content: bool) -> list[dict]:
    rows = []
    for row in manifest[::40]:
        data = (shared_data / "code" / row["path"]).read_bytes()
        record = {
            "blob_id": git_blob_sha1(data),
            "language": row["language"],
            "repo_name": row["source_repo"],
            "path": row["source_path"],
            "src_encoding": "UTF-8",
            "length_bytes": len(data),
            "detected_licenses": [row["license"]],
            "license_type": "permissive",
        }
        if with_content:
            record["content"] = data.decode("utf-8")
        else:  # the Stack-Edu Hub layout: ids and scores, no content
            record |= {"score": 3.1, "int_score": 3}
        rows.append(record)
    return rows


def test_stack_v2_reader_reads_parquet_built_from_real_files(shared_data, manifest, tmp_path):
    rows = _stack_rows(shared_data, manifest, with_content=True)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train-00000.parquet")
    reader = StackV2Reader(str(tmp_path))
    docs = list(reader.run())

    assert [doc.id for doc in docs] == [row["blob_id"] for row in rows]
    for doc, row in zip(docs, rows, strict=True):
        assert doc.text == row["content"]
        assert "content" not in doc.metadata
        for key in ("language", "repo_name", "path", "src_encoding", "length_bytes", "license_type"):
            assert doc.metadata[key] == row[key]
        assert doc.metadata["detected_licenses"] == row["detected_licenses"]
    assert stat(reader, "missing_content") == 0


def test_stack_v2_reader_jsonl_and_rows_without_content(shared_data, manifest, tmp_path):
    rows = _stack_rows(shared_data, manifest, with_content=False)
    lines = [json.dumps(row) for row in rows] + ["{not json", json.dumps({"language": "Go", "content": "package x"})]
    with gzip.open(tmp_path / "Python.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    reader = StackV2Reader(str(tmp_path))
    docs = list(reader.run())
    assert len(docs) == len(rows)
    assert all(doc.text == "" and doc.metadata["int_score"] == 3 for doc in docs)
    assert stat(reader, "missing_content") == len(rows)
    assert stat(reader, "skipped_invalid_json") == 1
    assert stat(reader, "skipped_no_blob_id") == 1


def test_software_heritage_fetcher_with_a_local_stand_in_store(shared_data, manifest, tmp_path, monkeypatch):
    """The bucket is replaced by a LOCAL STAND-IN: a folder of gzip blobs named by blob id, written here."""
    rows = _stack_rows(shared_data, manifest, with_content=False)
    store = tmp_path / "content"
    store.mkdir()
    originals = {}
    for row, source in zip(rows, manifest[::40], strict=True):
        data = (shared_data / "code" / source["path"]).read_bytes()
        originals[row["blob_id"]] = data.decode("utf-8")
        (store / row["blob_id"]).write_bytes(gzip.compress(data))
    missing, corrupt = rows[0]["blob_id"], rows[1]["blob_id"]
    (store / missing).unlink()
    (store / corrupt).write_bytes(b"not gzip at all")

    docs = [Document(text="", id=row["blob_id"], metadata=dict(row)) for row in rows]
    docs.append(Document(text="already here", id="x", metadata={"blob_id": "x"}))
    fetcher = SoftwareHeritageContentFetcher(base_url=str(store), backoff_seconds=0)
    out = list(fetcher.run(iter(docs)))

    assert len(out) == len(rows) - 2 + 1
    for doc in out[:-1]:
        assert doc.text == originals[doc.id]
    assert out[-1].text == "already here"
    assert stat(fetcher, "fetch_error") == 2
    assert stat(fetcher, "fetch_not_found") == 1 and stat(fetcher, "fetch_corrupt") == 1
    assert stat(fetcher, "fetched") == len(rows) - 2

    # transient errors are retried with exponential backoff, then counted, never raised
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)  # curate.retry waits with time.sleep
    flaky = SoftwareHeritageContentFetcher(base_url=str(store), max_retries=2, backoff_seconds=0.5)
    fs = flaky._filesystem()
    real_cat = fs.cat_file
    failures = iter([ConnectionError("reset"), None])

    def cat_failing_once(path, *args, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real_cat(path, *args, **kwargs)

    monkeypatch.setattr(fs, "cat_file", cat_failing_once)
    good = rows[2]
    assert [d.text for d in flaky.run(iter([Document(text="", id=good["blob_id"], metadata=dict(good))]))] == [
        originals[good["blob_id"]]
    ]
    assert waits == [0.5]

    def cat_always_failing(path, *args, **kwargs):
        raise TimeoutError("slow")

    monkeypatch.setattr(fs, "cat_file", cat_always_failing)
    waits.clear()
    assert list(flaky.run(iter([Document(text="", id=good["blob_id"], metadata=dict(good))]))) == []
    assert waits == [0.5, 1.0]
    assert stat(flaky, "fetch_failed") == 1


def test_fetcher_default_is_the_anonymous_software_heritage_bucket():
    fetcher = SoftwareHeritageContentFetcher()
    assert fetcher.base_url == "s3://softwareheritage/content/"
    assert fetcher.storage_options == {"anon": True}
