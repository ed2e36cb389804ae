"""Push a curate recipe output folder to a Hub dataset repo: a thin layer over ``huggingface_hub``.

The folder layout is the one every recipe run writes: ``data/<config>/*.parquet``, ``stats/<stage>.json``,
``run.json``, plus the card files made by :func:`curate.publish.card.build_card` (``README.md`` and
``figures/*.png``). huggingface_hub does the work: ``create_commit`` uploads each batch (through Xet when
``hf_xet`` is installed, as it is with huggingface_hub) and drops files the repo already has unchanged. This
module adds what a dataset push needs on top: the files in order (data, stats and ``run.json`` first, the card in
the last commit, so the Hub shows configs once their data is there), the plan of a dry run, and the retries of
``curate.retry``. A retried commit whose first answer was lost is not committed twice: ``create_commit`` finds its
files already there and commits nothing.
"""

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx2
from datatrove.utils.logging import logger
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash, sha_fileobj

from curate.retry import HUB, RetryPolicy, call_with_retries, http_status, is_connection_error, transient_hub_error

T = TypeVar("T")
CARD_FILE = "README.md"
# what a recipe output holds that belongs on the Hub; anything else is listed as "not uploaded" in the plan
UPLOAD_PATTERNS = ("data/**/*.parquet", "stats/*.json", "run.json", "figures/*.png", CARD_FILE)


class HubAnswerError(RuntimeError):
    """The server answered, but not as the Hub does (not JSON, or fields missing): a wrong endpoint or a proxy."""


@dataclass(frozen=True)
class LocalFile:
    """One file of the output folder and where it goes in the repo."""

    path_in_repo: str
    local_path: Path
    size: int


@dataclass
class PushPlan:
    """What a push would do: the files to upload in commit batches, and what it leaves out and why."""

    repo_id: str
    revision: str
    private: bool
    batches: list[list[LocalFile]]
    already_there: list[LocalFile]
    not_uploaded: list[str]
    remote_known: bool

    @property
    def to_upload(self) -> list[LocalFile]:
        return [f for batch in self.batches for f in batch]

    def describe(self) -> str:
        """A human-readable summary (no secrets: the token is never part of a plan)."""
        size = sum(f.size for f in self.to_upload)
        lines = [
            f"repo: {self.repo_id} (dataset, {'private' if self.private else 'public'}), revision: {self.revision}",
            f"upload: {len(self.to_upload)} files, {size:,} bytes, in {len(self.batches)} commit(s)",
            f"already in the repo with the same content: {len(self.already_there)} files",
        ]
        if not self.remote_known:
            lines.append("remote state unknown (repo or revision missing or unreachable): every file is planned")
        for number, batch in enumerate(self.batches, 1):
            lines.append(f"  commit {number}: " + ", ".join(f.path_in_repo for f in batch))
        if self.not_uploaded:
            by_folder = Counter(path.split("/")[0] + ("/" if "/" in path else "") for path in self.not_uploaded)
            shown = ", ".join(f"{name} ({count} files)" for name, count in sorted(by_folder.items()))
            lines.append(f"not uploaded (not part of the published dataset): {shown}")
        return "\n".join(lines)


@dataclass
class PushReport:
    """What a push did."""

    uploaded: list[str]
    skipped: list[str]
    commits: list[str]
    retries: int


def collect_output_files(output_dir: Path) -> tuple[list[LocalFile], list[str]]:
    """The files of a recipe output that belong on the Hub (data first, card last) and the others."""
    output_dir = Path(output_dir)
    chosen: dict[str, LocalFile] = {}
    for pattern in UPLOAD_PATTERNS:
        for path in sorted(output_dir.glob(pattern)):
            if path.is_file():
                rel = path.relative_to(output_dir).as_posix()
                chosen.setdefault(rel, LocalFile(rel, path, path.stat().st_size))
    others = sorted(
        p.relative_to(output_dir).as_posix()
        for p in output_dir.rglob("*")
        if p.is_file() and p.relative_to(output_dir).as_posix() not in chosen
    )
    files = sorted(chosen.values(), key=lambda f: (f.path_in_repo == CARD_FILE, f.path_in_repo))
    return files, others


def same_content(local: LocalFile, remote: RepoFile) -> bool:
    """True when the remote file has the local file's size and hash (sha256 for LFS, git blob sha1 otherwise)."""
    if remote.size != local.size:
        return False
    with open(local.local_path, "rb") as handle:
        if remote.lfs is not None:
            return remote.lfs.sha256 == sha_fileobj(handle).hex()
        return remote.blob_id == git_hash(handle.read())


def describe_error(error: BaseException) -> str:
    """Error class and HTTP status only: the messages of some errors echo request details."""
    status = http_status(error)
    return type(error).__name__ + (f" {status}" if status else "")


class HubPusher:
    """Uploads a recipe output folder to a Hub dataset repo in batched commits, resuming where a push stopped.

    Files already in the repo with the same size and hash are skipped, so a push interrupted at any point
    (or run twice) never uploads or commits a file twice. Every Hub call is retried by ``curate.retry`` (rate
    limits, commit conflicts, server errors and lost connections, honouring ``Retry-After``), and each wait is
    logged with what failed. The token is handed to ``HfApi`` and never logged.
    """

    def __init__(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        endpoint: str | None = None,
        private: bool = False,
        revision: str | None = None,
        batch_files: int = 100,
        retry: RetryPolicy = HUB,
    ):
        """
        Args:
            repo_id: dataset repo, ``namespace/name``
            token: Hub token with write access (None: the locally saved login)
            endpoint: Hub base URL (None: ``HF_ENDPOINT`` or huggingface.co)
            private: create the repo private (an existing repo keeps its visibility)
            revision: branch to push to; created from main when missing (None: main)
            batch_files: files per commit
            retry: retry policy of every Hub call (default ``curate.retry.HUB``)
        """
        if batch_files < 1:
            raise ValueError(f"batch_files must be >= 1, got {batch_files}")
        self.repo_id = repo_id
        self.private = private
        self.revision = revision or "main"
        self.batch_files = batch_files
        self.retry = retry
        self.retries = 0
        self._api = HfApi(endpoint=endpoint, token=token)

    def __repr__(self) -> str:  # keep the token out of any repr
        return f"HubPusher(repo_id={self.repo_id!r}, revision={self.revision!r}, batch_files={self.batch_files})"

    def remote_files(self) -> dict[str, RepoFile] | None:
        """Files at the target revision, or None when the repo or the revision does not exist yet."""
        try:
            tree = self._api.list_repo_tree(self.repo_id, repo_type="dataset", revision=self.revision, recursive=True)
            return {item.path: item for item in tree if isinstance(item, RepoFile)}
        except (RepositoryNotFoundError, RevisionNotFoundError):
            return None

    def plan(self, output_dir: Path, remote: dict[str, RepoFile] | None = None, remote_known: bool = True) -> PushPlan:
        """Split the output files into commit batches, leaving out those the repo already has."""
        files, others = collect_output_files(output_dir)
        remote = remote or {}
        pending, present = [], []
        for local in files:
            existing = remote.get(local.path_in_repo)
            (present if existing is not None and same_content(local, existing) else pending).append(local)
        batches = [pending[i : i + self.batch_files] for i in range(0, len(pending), self.batch_files)]
        return PushPlan(self.repo_id, self.revision, self.private, batches, present, others, remote_known)

    def dry_run(self, output_dir: Path) -> PushPlan:
        """The plan, from one read-only listing; when the Hub cannot be read, every file is planned."""
        try:
            remote = self._read_answer("list files", self.remote_files)
        except (HfHubHTTPError, httpx2.TransportError) as error:
            logger.warning(f"dry run: could not read {self.repo_id} ({describe_error(error)}); planning every file")
            return self.plan(output_dir, None, remote_known=False)
        return self.plan(output_dir, remote, remote_known=remote is not None)

    def push(self, output_dir: Path) -> PushReport:
        """Create the repo/branch if needed, then commit the pending files batch by batch."""
        api, repo = self._api, self.repo_id
        self.retries = 0
        self._call(
            "create repo", lambda: api.create_repo(repo, repo_type="dataset", private=self.private, exist_ok=True)
        )
        if self.private and self._call("repo info", lambda: api.dataset_info(repo)).private is False:
            raise PermissionError(f"{repo} exists and is public: not pushing data asked to be private")
        if self.revision != "main":
            self._call(
                "create branch",
                lambda: api.create_branch(repo, repo_type="dataset", branch=self.revision, exist_ok=True),
            )
        plan = self.plan(output_dir, self._call("list files", self.remote_files))
        report = PushReport([], [f.path_in_repo for f in plan.already_there], [], 0)
        if plan.already_there:
            logger.info(f"{len(plan.already_there)} files already in {self.repo_id}@{self.revision}: skipped")
        for number, batch in enumerate(plan.batches, 1):
            what = f"commit {number}/{len(plan.batches)}"
            info = self._call(what, lambda batch=batch, what=what: self._commit(batch, what))
            report.commits.append(info.oid)
            report.uploaded += [f.path_in_repo for f in batch]
            logger.info(f"{what}: {len(batch)} files -> {self.repo_id}@{self.revision}")
        report.retries = self.retries
        return report

    def _commit(self, batch: list[LocalFile], what: str):
        # fresh operations at each try: after a lost answer, create_commit sees the files there and skips them
        operations = [CommitOperationAdd(f.path_in_repo, str(f.local_path)) for f in batch]
        message = f"Upload curate output ({what}, {len(batch)} files)"
        return self._api.create_commit(
            self.repo_id, operations, commit_message=message, repo_type="dataset", revision=self.revision
        )

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """``call()`` with the retry policy; each wait is logged, and an answer that is not the Hub's is one error."""

        def on_retry(error: BaseException, failures: int, wait_s: float) -> None:
            self.retries += 1
            cause = f"failed ({describe_error(error)})"
            if is_connection_error(error):
                cause = f"cannot reach the Hub at {self._api.endpoint} ({describe_error(error)}): no network?"
            logger.warning(f"{what}: {cause}; retry {failures} of {self.retry.attempts - 1} in {wait_s:.1f}s")

        def retried() -> T:
            return call_with_retries(call, retryable=self._transient, policy=self.retry, on_retry=on_retry)

        return self._read_answer(what, retried)

    def _transient(self, error: BaseException) -> bool:
        return transient_hub_error(error, self.retry)

    def _read_answer(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (json.JSONDecodeError, KeyError) as error:
            detail = "not JSON" if isinstance(error, json.JSONDecodeError) else f"no {error} field"
            raise HubAnswerError(
                f"{what}: {self._api.endpoint} answered, but not as the Hub does ({detail}); "
                "check --endpoint, or a proxy or login page in the way"
            ) from error


def push_output(
    output_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    revision: str | None = None,
    batch_files: int = 100,
    dry_run: bool = False,
    card: bool = True,
    retry: RetryPolicy = HUB,
) -> PushPlan | PushReport:
    """Write the dataset card into ``output_dir`` (unless ``card=False``) and push the folder to ``repo_id``.

    With ``dry_run`` nothing is written to the Hub: the returned plan says what would be uploaded.
    """
    from curate.publish.card import build_card

    output_dir = Path(output_dir)
    if not (output_dir / "data").is_dir():
        raise FileNotFoundError(f"{output_dir} has no data/ folder: not a curate recipe output")
    if card:
        build_card(output_dir)
    pusher = HubPusher(
        repo_id,
        token=token,
        endpoint=endpoint,
        private=private,
        revision=revision,
        batch_files=batch_files,
        retry=retry,
    )
    return pusher.dry_run(output_dir) if dry_run else pusher.push(output_dir)
