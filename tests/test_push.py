"""Pushing a recipe output to the Hub, against tests/hub_standin.py: a STAND-IN for the Hub (no network here).

Large files take huggingface_hub's Xet path, as real pushes do with hf_xet installed: the real Xet client
chunks and stores them in the stand-in's local Xet store, and the stand-in reads them back through hf_xet.
"""

import hashlib
import json
import logging
import re
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import huggingface_hub.errors
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hub_standin import HubStandIn
from loguru import logger

from curate import push as push_cli
from curate.publish import HubPusher, push_output
from curate.publish.hub import collect_output_files
from curate.retry import RetryPolicy

TOKEN = "hf_standinSECRETtoken0123456789"
REPO = "curate-test/fineweb-edu-mini"


def write_recipe_output(root: Path, files_per_dump: int = 2, rows_per_file: int = 5) -> Path:
    """A small recipe-shaped output: data/<dump>/*.parquet with the FineWeb-Edu columns, stats, run.json.

    The scorer's stats count the 20 documents written plus 5 that the threshold then removed (int_score 0 and 1).
    """
    doc = 0
    scored = Counter({0: 3, 1: 2})
    for dump in ("CC-MAIN-2024-10", "CC-MAIN-2024-18"):
        folder = root / "data" / dump
        folder.mkdir(parents=True)
        for part in range(files_per_dump):
            rows = []
            for _ in range(rows_per_file):
                doc += 1
                score = (doc * 0.37) % 5
                rows.append(
                    {
                        "text": f"document {doc} about photosynthesis " * (doc % 4 + 1),
                        "id": f"<urn:uuid:{doc:08d}>",
                        "dump": dump,
                        "url": f"https://example.org/{doc}",
                        "date": "2024-03-01T00:00:00Z",
                        "file_path": f"s3://commoncrawl/{dump}/part{part}.warc.gz",
                        "language": "en",
                        "language_score": 0.9,
                        "token_count": 10 + doc,
                        "score": score,
                        "int_score": int(round(min(max(score, 0), 5))),
                    }
                )
                scored[rows[-1]["int_score"]] += 1
            pq.write_table(pa.Table.from_pylist(rows), folder / f"{part:05d}.parquet")
    stats = [
        {"name": "🐏 WarcReader", "time_stats": {"total": 1.0}, "stats": {"documents": 40}},
        {
            "name": "🔻 - 🌍 Language ID",
            "time_stats": {"total": 1.0},
            "stats": {"total": 40, "forwarded": 25, "dropped": 15, "dropped_en": 15},
        },
        {
            "name": "📊 - SCORER: 🎓 Edu classifier scorer",
            "time_stats": {"total": 1.0},
            "stats": {"scored": 25, "models_loaded": 1, **{f"int_score_{k}": n for k, n in sorted(scored.items())}},
        },
        {
            "name": "🔻 - FILTER: 🎯 Score threshold",
            "time_stats": {"total": 1.0},
            "stats": {"total": 25, "forwarded": 20, "dropped": 5, "dropped_below_threshold": 5},
        },
        {
            "name": "💽 Parquet",
            "time_stats": {"total": 1.0},
            "stats": {"total": 20, "doc_len_tokens": {"total": 410, "n": 20, "mean": 20.5}},
        },
    ]
    (root / "stats").mkdir()
    (root / "stats" / "main.json").write_text(json.dumps(stats))
    run = {
        "recipe": "fineweb_edu",
        "params": {"language": {"threshold": 0.65}, "edu": {"threshold": 3}},
        "versions": {"curate": "0.1.0", "datatrove": "0.10.1"},
        "stages": ["main"],
    }
    (root / "run.json").write_text(json.dumps(run))
    (root / "logs").mkdir()
    (root / "logs" / "task_00000.log").write_text("not for the Hub\n")
    return root


def no_wait_policy(waits: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, first_wait_s=0.01, sleep=waits.append)


def local_published_files(output: Path) -> dict[str, bytes]:
    files, _ = collect_output_files(output)
    return {f.path_in_repo: f.local_path.read_bytes() for f in files}


def test_push_uploads_every_file_with_identical_content(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        report = push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint, private=True, batch_files=3)
        remote = hub.files(REPO)
        tree = hub.tree_at(REPO, "main")
        assert hub.repos[REPO].private
    local = local_published_files(output)
    assert remote == local
    assert {"README.md", "run.json", "stats/main.json", "figures/int_score_histogram.png"} <= set(remote)
    assert "logs/task_00000.log" not in remote
    assert len(report.commits) == -(-len(local) // 3)
    assert hub.unauthorized == []
    # the large files went through Xet (the real client, into the stand-in's store), the small ones in the commit
    xet_paths = {path for path, entry in tree.items() if entry.xet_hash is not None}
    assert xet_paths == {path for path in local if path.endswith((".parquet", ".png"))}
    assert hub.xet_token_requests and all(request.startswith("write ") for request in hub.xet_token_requests)
    assert all(tree[path].sha256 == hashlib.sha256(local[path]).hexdigest() for path in xet_paths)


def test_card_is_committed_last(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        report = push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=4)
        before_last = hub.tree_at(REPO, report.commits[-2])
        last = hub.tree_at(REPO, report.commits[-1])
    assert "README.md" not in before_last and "README.md" in last


def test_revision_branch_is_created_and_main_untouched(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint, revision="v1-test")
        assert set(hub.repos[REPO].branches) == {"main", "v1-test"}
        assert hub.files(REPO, "main") == {}
        assert hub.files(REPO, "v1-test") == local_published_files(output)


def test_interrupted_push_resumes_without_duplicates(tmp_path):
    output = write_recipe_output(tmp_path / "out", files_per_dump=3)
    local = local_published_files(output)
    sha256 = {path: hashlib.sha256(data).hexdigest() for path, data in local.items()}
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        # the 2nd commit's connection drops halfway through its body and no retry is allowed: the push stops
        hub.inject("drop_during", "POST", r"/commit/", after=1)
        interrupted = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=2, retry=RetryPolicy(1))
        with pytest.raises(Exception):  # noqa: B017 - the transport error type belongs to the HTTP client
            interrupted.push(output)
        first_batch = set(hub.files(REPO))
        assert len(first_batch) == 2
        dropped_batch = set(list(local)[2:4])
        # batches 1 and 2 (4 Parquet files) reached the Xet store before the drop
        assert {sha256[path] for path in first_batch | dropped_batch} <= set(hub.xet_files())
        xorbs_after_interruption = hub.xorbs()

        report = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=2).push(output)
        remote = hub.files(REPO)
        stored = hub.xet_files()
        new_xorbs = hub.xorbs() - xorbs_after_interruption
    assert remote == local
    assert set(report.skipped) == first_batch
    assert set(report.uploaded) == set(local) - first_batch
    # every path committed once; the content sent before the drop was not stored again (Xet deduplicated it)
    assert set(hub.committed_paths.values()) == {1}
    for path in first_batch | dropped_batch:
        assert stored[sha256[path]].xorbs <= xorbs_after_interruption, path
    assert new_xorbs  # the later batches did upload
    later = [path for path in local if path.endswith((".parquet", ".png")) and path not in first_batch | dropped_batch]
    assert new_xorbs <= set().union(*(stored[sha256[path]].xorbs for path in later))


def test_commit_whose_answer_is_lost_is_not_committed_again(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    waits: list[float] = []
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        hub.inject("drop_after", "POST", r"/commit/")  # applied on the server, the client sees a dropped connection
        report = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=3, retry=no_wait_policy(waits)).push(
            output
        )
        remote = hub.files(REPO)
    assert remote == local_published_files(output)
    assert set(hub.committed_paths.values()) == {1}
    assert report.retries == 1 and len(waits) == 1


@pytest.mark.parametrize("status", [429, 409])
def test_rate_limit_and_conflict_are_retried_honouring_retry_after(tmp_path, status):
    output = write_recipe_output(tmp_path / "out")
    waits: list[float] = []
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        hub.inject("status", "POST", r"/commit/", status=status, retry_after=7, times=2)
        report = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, retry=no_wait_policy(waits)).push(output)
        remote = hub.files(REPO)
        commit_posts = [path for method, path in hub.requests if method == "POST" and "/commit/" in path]
    assert waits == [7.0, 7.0]
    assert report.retries == 2
    assert len(commit_posts) == 3
    assert remote == local_published_files(output)


def test_client_errors_are_not_retried(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    waits: list[float] = []
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        hub.inject("status", "POST", r"/commit/", status=400)
        with pytest.raises(huggingface_hub.errors.HfHubHTTPError):
            HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, retry=no_wait_policy(waits)).push(output)
    assert waits == []


def test_dry_run_uploads_nothing_and_prints_the_plan(tmp_path, capsys, monkeypatch):
    output = write_recipe_output(tmp_path / "out")
    monkeypatch.setenv("CURATE_TEST_TOKEN", TOKEN)
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        code = push_cli.main(
            [str(output), REPO, "--dry-run", "--endpoint", hub.endpoint, "--token-env", "CURATE_TEST_TOKEN"]
        )
        writes = [(m, p) for m, p in hub.requests if m in ("POST", "PUT")]
    out = capsys.readouterr().out
    assert code == 0
    assert writes == []
    assert REPO not in hub.repos
    n_files = len(local_published_files(output))
    assert f"upload: {n_files} files" in out
    assert "logs/ (1 files)" in out


def test_dry_run_after_push_plans_nothing(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint)
        plan = push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint, dry_run=True)
    assert plan.to_upload == []
    assert len(plan.already_there) == len(local_published_files(output))


def test_token_never_appears_in_output_or_logs(tmp_path, capfd, caplog, monkeypatch):
    output = write_recipe_output(tmp_path / "out")
    monkeypatch.setenv("CURATE_TEST_TOKEN", TOKEN)
    loguru_lines: list[str] = []
    sink = logger.add(lambda message: loguru_lines.append(str(message)), level="DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
            hub.inject("status", "POST", r"/commit/", retry_after=0)
            hub.inject("status", "POST", r"/preupload/", status=400, after=3)
            args = [str(output), REPO, "--endpoint", hub.endpoint, "--token-env", "CURATE_TEST_TOKEN"]
            first = push_cli.main([*args, "--batch-files", "2"])  # a retry, then a refused request mid-push
            dry = push_cli.main([*args, "--dry-run"])
            second = push_cli.main(args)
            print(repr(HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint)), file=sys.stderr)
            assert hub.unauthorized == []  # the token was sent, to the Hub only
    finally:
        logger.remove(sink)
    captured = capfd.readouterr()
    assert (first, dry, second) == (1, 0, 0)
    assert any("retry" in line for line in loguru_lines)
    everything = captured.out + captured.err + caplog.text + "".join(loguru_lines)
    assert "refused the push" in everything
    assert TOKEN not in everything
    assert TOKEN[3:15] not in everything


def test_connection_dropped_before_the_upload_is_recovered(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        # huggingface_hub retries its preupload call itself (one backoff wait of about 1 s)
        hub.inject("drop_during", "POST", r"/preupload/")
        report = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=4).push(output)
        remote = hub.files(REPO)
        preuploads = [path for method, path in hub.requests if method == "POST" and "/preupload/" in path]
    assert remote == local_published_files(output)
    assert len(preuploads) == len(report.commits) + 1  # one dropped attempt, then one per commit
    assert report.retries == 0  # recovered inside huggingface_hub, below curate's retries
    assert set(hub.committed_paths.values()) == {1}


def test_private_push_refuses_an_existing_public_repo(tmp_path, capsys, monkeypatch):
    output = write_recipe_output(tmp_path / "out")
    monkeypatch.setenv("CURATE_TEST_TOKEN", TOKEN)
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint)._api.create_repo(REPO, repo_type="dataset")
        args = [str(output), REPO, "--private", "--endpoint", hub.endpoint, "--token-env", "CURATE_TEST_TOKEN"]
        assert push_cli.main(args) == 2
        assert hub.files(REPO) == {}
    assert "is public" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("method", "path", "step"),
    [
        ("POST", r"/api/repos/create$", "create repo"),
        ("GET", r"/tree/", "list files"),
        ("POST", r"/commit/", "commit 1/1"),
    ],
)
def test_an_answer_that_is_not_the_hubs_gives_one_clear_line(tmp_path, capfd, monkeypatch, method, path, step):
    output = write_recipe_output(tmp_path / "out")
    monkeypatch.setenv("CURATE_TEST_TOKEN", TOKEN)
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        hub.inject("garbage", method, path)  # a 200 with an HTML page, as a captive portal or proxy sends
        code = push_cli.main([str(output), REPO, "--endpoint", hub.endpoint, "--token-env", "CURATE_TEST_TOKEN"])
        commits = [p for m, p in hub.requests if m == "POST" and "/commit/" in p]
    err = capfd.readouterr().err
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {step}: {hub.endpoint} answered, but not as the Hub does (not JSON); "
        "check --endpoint, or a proxy or login page in the way"
    ]
    assert "Traceback" not in err and "Expecting value" not in err
    assert len(commits) <= 1  # an unreadable answer is not retried


def test_push_without_network_says_so_at_once_then_retries_printing_each_wait(tmp_path, capfd, monkeypatch):
    output = write_recipe_output(tmp_path / "out")
    with socket.socket() as probe:  # a port nothing listens on: every connection is refused, as with no network
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    start = time.monotonic()
    events: list[tuple[str, object, float]] = []  # (what, line or wait, seconds since the start)
    # datatrove's logger prints to stderr; the sink records what it prints, and when
    sink = logger.add(lambda message: events.append(("line", str(message), time.monotonic() - start)), level="WARNING")
    monkeypatch.setattr("time.sleep", lambda seconds: events.append(("sleep", seconds, time.monotonic() - start)))
    try:
        code = push_cli.main([str(output), REPO, "--endpoint", endpoint, "--no-card"])
    finally:
        logger.remove(sink)
    lines = [(text, at) for kind, text, at in events if kind == "line"]
    sleeps = [seconds for kind, seconds, _ in events if kind == "sleep"]
    err = capfd.readouterr().err
    assert code == 1
    first_line, said_after = lines[0]
    assert f"create repo: cannot reach the Hub at {endpoint} (ConnectError): no network" in first_line
    assert said_after < 5  # said at the first failed connection, before any wait
    # the curate.retry.HUB schedule, 2 s doubling over 8 tries; each wait printed just before it is taken
    assert sleeps == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]
    assert [kind for kind, _, _ in events] == ["line", "sleep"] * len(sleeps)
    announced = [float(re.search(r"retry \d+ of 7 in ([0-9.]+)s", text).group(1)) for text, _ in lines]
    assert announced == sleeps
    assert err.rstrip().endswith("error: could not reach the Hub (ConnectError); rerun to resume")
