"""Push a curate recipe output folder to a Hub dataset repo: batched commits, resume, retries.

The folder layout is the one every recipe run writes: ``data/<config>/*.parquet``, ``stats/<stage>.json``,
``run.json``, plus the card files made by :func:`curate.publish.card.build_card` (``README.md`` and
``figures/*.png``). The card goes in the last commit, so the Hub only shows configs once their data is there.
"""

import email.utils
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from datatrove.utils.logging import logger
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash

CARD_FILE = "README.md"
# what a recipe output holds that belongs on the Hub; anything else is listed as "not uploaded" in the plan
UPLOAD_PATTERNS = ("data/**/*.parquet", "stats/*.json", "run.json", "figures/*.png", CARD_FILE)
RETRY_STATUS = (408, 409, 412, 429, 500, 502, 503, 504)


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
class RetryPolicy:
    """How failed Hub calls are retried: exponential backoff, or the server's ``Retry-After`` when it sends one."""

    max_attempts: int = 8
    """attempts per commit batch before giving up"""
    base_wait_s: float = 2.0
    """first backoff wait; doubled after each failure"""
    max_wait_s: float = 300.0
    """longest wait between two attempts"""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    """how to wait (tests pass a recorder)"""


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_content(local: LocalFile, remote: RepoFile) -> bool:
    """True when the remote file has the local file's size and hash (sha256 for LFS, git blob sha1 otherwise)."""
    if remote.size != local.size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == _sha256(local.local_path)
    return remote.blob_id == git_hash(local.local_path.read_bytes())


def _retry_wait(error: BaseException, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying after ``error``, or None when it is not worth retrying."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, HfHubHTTPError) and current.response is not None:
            status = current.response.status_code
            if status not in RETRY_STATUS:
                return None
            retry_after = current.response.headers.get("Retry-After")
            if retry_after:
                return _parse_retry_after(retry_after, policy)
            break
        if isinstance(current, httpx2.TransportError):
            break
        current = current.__cause__
    else:
        return None
    return min(policy.max_wait_s, policy.base_wait_s * 2 ** (attempt - 1))


def _parse_retry_after(value: str, policy: RetryPolicy) -> float:
    try:
        seconds = float(value)
    except ValueError:
        moment = email.utils.parsedate_to_datetime(value)
        seconds = moment.timestamp() - time.time()
    return min(policy.max_wait_s, max(0.0, seconds))


class HubPusher:
    """Uploads a recipe output folder to a Hub dataset repo in batched commits, resuming where a push stopped.

    Files already in the repo with the same size and hash are skipped, so a push interrupted at any point
    (or run twice) never uploads or commits a file twice. Rate limits (429) and commit conflicts (409/412)
    are retried with backoff that honours ``Retry-After``. The token is handed to ``HfApi`` and never logged.
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
        retry: RetryPolicy | None = None,
    ):
        """
        Args:
            repo_id: dataset repo, ``namespace/name``
            token: Hub token with write access (None: the locally saved login)
            endpoint: Hub base URL (None: ``HF_ENDPOINT`` or huggingface.co)
            private: create the repo private (an existing repo keeps its visibility)
            revision: branch to push to; created from main when missing (None: main)
            batch_files: files per commit
            retry: retry policy for failed calls
        """
        if batch_files < 1:
            raise ValueError(f"batch_files must be >= 1, got {batch_files}")
        self.repo_id = repo_id
        self.private = private
        self.revision = revision or "main"
        self.batch_files = batch_files
        self.retry = retry or RetryPolicy()
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
        """The plan, from read-only calls; when the Hub cannot be read, every file is planned."""
        try:
            remote = self.remote_files()
            return self.plan(output_dir, remote, remote_known=remote is not None)
        except (HfHubHTTPError, httpx2.TransportError) as error:
            logger.warning(f"dry run: could not read {self.repo_id} ({type(error).__name__}); planning every file")
            return self.plan(output_dir, None, remote_known=False)

    def push(self, output_dir: Path) -> PushReport:
        """Create the repo/branch if needed, then commit the pending files batch by batch."""
        self._with_retries(
            "create repo",
            lambda: self._api.create_repo(self.repo_id, repo_type="dataset", private=self.private, exist_ok=True),
        )
        if self.private:
            info = self._with_retries("repo info", lambda: self._api.dataset_info(self.repo_id))
            if info.private is False:
                raise PermissionError(f"{self.repo_id} exists and is public: not pushing data asked to be private")
        if self.revision != "main":
            self._with_retries(
                "create branch",
                lambda: self._api.create_branch(
                    self.repo_id, repo_type="dataset", branch=self.revision, exist_ok=True
                ),
            )
        plan = self.plan(output_dir, self._with_retries("list files", self.remote_files))
        report = PushReport([], [f.path_in_repo for f in plan.already_there], [], 0)
        if plan.already_there:
            logger.info(f"{len(plan.already_there)} files already in {self.repo_id}@{self.revision}: skipped")
        for number, batch in enumerate(plan.batches, 1):
            self._commit_batch(batch, number, len(plan.batches), report)
        return report

    def _commit_batch(self, batch: list[LocalFile], number: int, total: int, report: PushReport) -> None:
        attempt = 0
        while True:
            attempt += 1
            pending = batch if attempt == 1 else self._still_missing(batch, report)
            if not pending:
                return
            operations = [CommitOperationAdd(f.path_in_repo, str(f.local_path)) for f in pending]
            try:
                info = self._api.create_commit(
                    self.repo_id,
                    operations,
                    commit_message=f"Upload curate output ({number}/{total}, {len(pending)} files)",
                    repo_type="dataset",
                    revision=self.revision,
                )
            except Exception as error:  # the decision to retry is made on the error's type and status below
                wait = _retry_wait(error, attempt, self.retry)
                if wait is None or attempt >= self.retry.max_attempts:
                    raise
                report.retries += 1
                logger.warning(f"commit {number}/{total} failed ({_describe(error)}); retry {attempt} in {wait:.1f}s")
                self.retry.sleep(wait)
                continue
            report.commits.append(info.oid)
            report.uploaded += [f.path_in_repo for f in pending]
            logger.info(f"commit {number}/{total}: {len(pending)} files -> {self.repo_id}@{self.revision}")
            return

    def _still_missing(self, batch: list[LocalFile], report: PushReport) -> list[LocalFile]:
        """After a failed attempt the commit may have landed anyway (lost answer): ask the repo what it has."""
        infos = self._with_retries(
            "paths info",
            lambda: self._api.get_paths_info(
                self.repo_id, [f.path_in_repo for f in batch], repo_type="dataset", revision=self.revision
            ),
        )
        remote = {item.path: item for item in infos if isinstance(item, RepoFile)}
        missing = [f for f in batch if f.path_in_repo not in remote or not same_content(f, remote[f.path_in_repo])]
        landed = [f.path_in_repo for f in batch if f not in missing]
        if landed:
            logger.info(f"{len(landed)} files of the failed commit are in the repo after all: not re-sent")
            report.uploaded += landed
        return missing

    def _with_retries(self, what: str, call: Callable):
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as error:  # retried only for rate limits, conflicts, 5xx and transport errors
                wait = _retry_wait(error, attempt, self.retry)
                if wait is None or attempt >= self.retry.max_attempts:
                    raise
                logger.warning(f"{what} failed ({_describe(error)}); retry {attempt} in {wait:.1f}s")
                self.retry.sleep(wait)


def _describe(error: BaseException) -> str:
    """Error class and HTTP status only: messages of some errors echo request details."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return type(error).__name__ + (f" {status}" if status else "")


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
    retry: RetryPolicy | None = None,
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
