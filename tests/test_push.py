"""Pushing a recipe output to the Hub, against tests/hub_standin.py: a stand-in for the Hub API (no network).

The stand-in speaks the legacy LFS upload protocol, so these tests switch off huggingface_hub's Xet path
(the real Hub uses Xet for LFS files; the commit, preupload and listing calls are the same).
"""

import json
import logging
import sys
from pathlib import Path

import huggingface_hub.constants
import huggingface_hub.errors
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hub_standin import HubStandIn
from loguru import logger

from curate import push as push_cli
from curate.publish import HubPusher, RetryPolicy, push_output
from curate.publish.hub import collect_output_files

TOKEN = "hf_standinSECRETtoken0123456789"
REPO = "curate-test/fineweb-edu-mini"


@pytest.fixture(autouse=True)
def no_xet(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)


def write_recipe_output(root: Path, files_per_dump: int = 2, rows_per_file: int = 5) -> Path:
    """A small recipe-shaped output: data/<dump>/*.parquet with the FineWeb-Edu columns, stats, run.json."""
    doc = 0
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
            pq.write_table(pa.Table.from_pylist(rows), folder / f"{part:05d}.parquet")
    stats = [
        {"name": "🐏 WarcReader", "time_stats": {"total": 1.0}, "stats": {"documents": 40}},
        {
            "name": "🔻 - 🌍 Language ID",
            "time_stats": {"total": 1.0},
            "stats": {"total": 40, "forwarded": 25, "dropped": 15, "dropped_en": 15},
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
    return RetryPolicy(max_attempts=4, base_wait_s=0.01, sleep=waits.append)


def local_published_files(output: Path) -> dict[str, bytes]:
    files, _ = collect_output_files(output)
    return {f.path_in_repo: f.local_path.read_bytes() for f in files}


def test_push_uploads_every_file_with_identical_content(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        report = push_output(output, REPO, token=TOKEN, endpoint=hub.endpoint, private=True, batch_files=3)
        remote = hub.files(REPO)
        assert hub.repos[REPO].private
    local = local_published_files(output)
    assert remote == local
    assert {"README.md", "run.json", "stats/main.json", "figures/int_score_histogram.png"} <= set(remote)
    assert "logs/task_00000.log" not in remote
    assert len(report.commits) == -(-len(local) // 3)
    assert hub.unauthorized == []


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
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        # the 2nd commit's connection drops halfway through its body and no retry is allowed: the push stops
        hub.inject("drop_during", "POST", r"/commit/", after=1)
        interrupted = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=2, retry=RetryPolicy(1))
        with pytest.raises(Exception):  # noqa: B017 - the transport error type belongs to the HTTP client
            interrupted.push(output)
        first_batch = set(hub.files(REPO))
        assert len(first_batch) == 2
        puts_after_interruption = sum(hub.lfs_puts.values())

        report = HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint, batch_files=2).push(output)
        remote = hub.files(REPO)
    assert remote == local
    assert set(report.skipped) == first_batch
    assert set(report.uploaded) == set(local) - first_batch
    # every path committed once, every LFS object uploaded once (the dropped batch's blobs were not re-sent)
    assert set(hub.committed_paths.values()) == {1}
    assert set(hub.lfs_puts.values()) == {1}
    lfs_files = [p for p in local if p.endswith((".parquet", ".png"))]
    assert sum(hub.lfs_puts.values()) == len(lfs_files)
    assert puts_after_interruption == 4  # batches 1 and 2 (4 Parquet files) were uploaded before the drop


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


def test_connection_dropped_mid_upload_is_recovered(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        # huggingface_hub retries the storage PUT itself (one backoff wait of about 1 s)
        hub.inject("drop_during", "PUT", r"^/standin-lfs/")
        HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint).push(output)
        remote = hub.files(REPO)
        puts = [path for method, path in hub.requests if method == "PUT"]
    assert remote == local_published_files(output)
    assert len(puts) == sum(hub.lfs_puts.values()) + 1  # one dropped attempt, then each blob exactly once
    assert set(hub.lfs_puts.values()) == {1}


def test_private_push_refuses_an_existing_public_repo(tmp_path, capsys, monkeypatch):
    output = write_recipe_output(tmp_path / "out")
    monkeypatch.setenv("CURATE_TEST_TOKEN", TOKEN)
    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        HubPusher(REPO, token=TOKEN, endpoint=hub.endpoint)._api.create_repo(REPO, repo_type="dataset")
        args = [str(output), REPO, "--private", "--endpoint", hub.endpoint, "--token-env", "CURATE_TEST_TOKEN"]
        assert push_cli.main(args) == 2
        assert hub.files(REPO) == {}
    assert "is public" in capsys.readouterr().err
