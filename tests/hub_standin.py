"""A stand-in for the Hugging Face Hub HTTP API, for tests only (no network is reachable here).

It serves, on 127.0.0.1 and a free port, the endpoints that ``huggingface_hub.HfApi`` calls for
``curate.publish``: repo creation, refs and branches, preupload, the legacy LFS batch/upload/verify
protocol, NDJSON commits, tree listing, paths-info, repo info, README YAML validation and ``resolve``
downloads. Files are kept under a temp folder, content-addressed by sha256. It is not the Hub: it only
mirrors the request/response shapes the client library needs.

Faults can be injected to test the client: a 429 with ``Retry-After``, a connection dropped while the
request body is being read (nothing applied), or a connection dropped after the request was applied
(the client never sees the answer).
"""

import base64
import hashlib
import json
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".parquet", ".png", ".bin", ".arrow", ".ds", ".gz")
_REPO = r"(?P<repo>[^/]+/[^/]+)"
_TYPE = r"(?P<type>models|datasets|spaces)"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class StoredFile:
    sha256: str
    size: int
    lfs: bool
    git_sha1: str


@dataclass
class Repo:
    repo_type: str
    private: bool
    branches: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    kind: str  # "status" | "drop_during" | "drop_after"
    method: str
    path_pattern: str
    status: int = 429
    retry_after: int = 1
    times: int = 1
    after: int = 0  # matching requests let through before the fault starts


class HubStandIn:
    """Stand-in Hub server; use as a context manager, ``endpoint`` is its base URL."""

    def __init__(self, root: Path, token: str | None = None):
        self.root = Path(root)
        self.blob_dir = self.root / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.commits: dict[str, dict[str, StoredFile]] = {}
        self.lfs_puts: Counter[str] = Counter()  # sha256 -> completed uploads
        self.committed_paths: Counter[str] = Counter()  # path -> commits that wrote it
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.unauthorized: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._commit_counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "HubStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(
        self,
        kind: str,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make requests matching ``method`` and the regex ``path_pattern`` fail as ``kind``.

        ``status``: answer ``status`` (default 429) with ``Retry-After: retry_after``; ``drop_during``: close the
        connection halfway through the request body (nothing applied); ``drop_after``: apply the request, then
        close the connection without answering. The fault hits ``times`` requests after letting ``after`` through.
        """
        assert kind in ("status", "drop_during", "drop_after")
        with self._lock:
            self.faults.append(Fault(kind, method, path_pattern, status, retry_after, times, after))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and re.search(fault.path_pattern, path):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- state helpers ---------------------------------------------------------------------------------
    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Content of every file of ``repo_id`` at ``revision`` (a branch or a commit id)."""
        tree = self.tree_at(repo_id, revision)
        assert tree is not None, f"no revision {revision} in {repo_id}"
        return {path: (self.blob_dir / entry.sha256).read_bytes() for path, entry in tree.items()}

    def tree_at(self, repo_id: str, revision: str) -> dict[str, StoredFile] | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return None
        commit = repo.branches.get(revision, revision)
        return self.commits.get(commit)

    def new_commit(self, tree: dict[str, StoredFile]) -> str:
        with self._lock:
            self._commit_counter += 1
            oid = hashlib.sha1(f"standin-commit-{self._commit_counter}".encode()).hexdigest()
            self.commits[oid] = tree
            return oid

    def store_blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (self.blob_dir / digest).write_bytes(data)
        return digest


def _make_handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        # --- plumbing -----------------------------------------------------------------------------------
        def _read_body(self, limit: int | None = None) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                    if limit is not None and sum(map(len, chunks)) >= limit:
                        break
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length if limit is None else min(limit, length))

        def _send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None) -> None:
            body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
            for key, value in (headers or {}).items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str | None, message: str) -> None:
            headers = {"X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            self._send(status, {"error": message}, headers)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _authorized(self) -> bool:
            if hub.token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {hub.token}"

        def _handle(self) -> None:
            url = urlsplit(self.path)
            path, query = url.path, parse_qs(url.query)
            with hub._lock:
                hub.requests.append((self.command, path))
            fault = hub.take_fault(self.command, path)
            if fault is not None and fault.kind == "status":
                self._read_body()
                self._send(fault.status, {"error": "injected by the stand-in"}, {"Retry-After": fault.retry_after})
                return
            if fault is not None and fault.kind == "drop_during":
                self._read_body(limit=max(1, int(self.headers.get("Content-Length") or 2) // 2))
                self._drop()
                return
            # LFS upload URLs stand for presigned storage URLs: they carry no Hub token
            is_write = self.command in ("POST", "PUT") and not path.startswith(("/api/validate-yaml", "/standin-lfs/"))
            if is_write and not self._authorized():
                hub.unauthorized.append((self.command, path))
                self._error(401, None, "Invalid credentials in Authorization header (stand-in)")
                return
            status, payload, headers, raw = self._route(path, query)
            if fault is not None and fault.kind == "drop_after":
                self._drop()
                return
            self._send(status, payload, headers, raw)

        do_GET = do_POST = do_PUT = do_HEAD = _handle

        # --- routing ------------------------------------------------------------------------------------
        def _route(self, path: str, query: dict) -> tuple[int, object, dict, bytes | None]:
            routes = [
                ("POST", r"^/api/repos/create$", self._create_repo),
                ("POST", r"^/api/validate-yaml$", self._validate_yaml),
                ("GET", rf"^/api/{_TYPE}/{_REPO}/refs$", self._refs),
                ("POST", rf"^/api/{_TYPE}/{_REPO}/branch/(?P<branch>[^/]+)$", self._create_branch),
                ("POST", rf"^/api/{_TYPE}/{_REPO}/preupload/(?P<rev>[^/]+)$", self._preupload),
                ("POST", rf"^/api/{_TYPE}/{_REPO}/commit/(?P<rev>[^/]+)$", self._commit),
                ("GET", rf"^/api/{_TYPE}/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?$", self._tree),
                ("POST", rf"^/api/{_TYPE}/{_REPO}/paths-info/(?P<rev>[^/]+)$", self._paths_info),
                ("GET", rf"^/api/{_TYPE}/{_REPO}(?:/revision/(?P<rev>[^/]+))?$", self._repo_info),
                ("POST", rf"^/(?:(?P<type>datasets|spaces)/)?{_REPO}\.git/info/lfs/objects/batch$", self._lfs_batch),
                ("PUT", r"^/standin-lfs/(?P<oid>[0-9a-f]{64})$", self._lfs_put),
                ("POST", r"^/standin-lfs/(?P<oid>[0-9a-f]{64})/verify$", self._lfs_verify),
                (
                    "GET",
                    rf"^/(?:(?P<type>datasets|spaces)/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<sub>.+)$",
                    self._resolve,
                ),
                (
                    "HEAD",
                    rf"^/(?:(?P<type>datasets|spaces)/)?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<sub>.+)$",
                    self._resolve,
                ),
            ]
            for method, pattern, handler in routes:
                match = re.match(pattern, path)
                if method == self.command and match:
                    return handler(match, query)
            self._read_body()
            return 404, {"error": f"stand-in has no route for {self.command} {path}"}, {}, None

        def _json(self) -> dict:
            body = self._read_body()
            return json.loads(body) if body else {}

        def _repo(self, match) -> Repo | None:
            repo = hub.repos.get(unquote(match["repo"]))
            if repo is None:
                return None
            if repo.private and not self._authorized():
                return None  # the Hub answers 404 for private repos without access
            return repo

        def _not_found(self, what: str, code: str) -> tuple[int, object, dict, None]:
            return 404, {"error": what}, {"X-Error-Code": code, "X-Error-Message": what}, None

        # --- endpoints ----------------------------------------------------------------------------------
        def _create_repo(self, match, query):
            body = self._json()
            repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else f"user/{body['name']}"
            url = f"{hub.endpoint}/{body.get('type') or 'model'}s/{repo_id}"
            with hub._lock:
                if repo_id in hub.repos:
                    return 409, {"error": "You already created this repo", "url": url}, {}, None
                repo = Repo(body.get("type") or "model", body.get("visibility") == "private")
                repo.branches["main"] = hub.new_commit({})
                hub.repos[repo_id] = repo
            return 200, {"url": url, "name": repo_id}, {}, None

        def _validate_yaml(self, match, query):
            self._json()
            return 200, {"errors": [], "warnings": []}, {}, None

        def _refs(self, match, query):
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            branches = [
                {"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid} for name, oid in repo.branches.items()
            ]
            return 200, {"branches": branches, "tags": [], "converts": []}, {}, None

        def _create_branch(self, match, query):
            body = self._json()
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            branch = unquote(match["branch"])
            with hub._lock:
                if branch in repo.branches:
                    return 409, {"error": "Reference already exists"}, {}, None
                start = body.get("startingPoint") or "main"
                repo.branches[branch] = repo.branches.get(start, start)
            return 200, {}, {}, None

        def _preupload(self, match, query):
            body = self._json()
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            tree = hub.tree_at(unquote(match["repo"]), unquote(match["rev"]))
            if tree is None:
                return self._not_found("Revision not found", "RevisionNotFound")
            files = []
            for item in body["files"]:
                existing = tree.get(item["path"])
                lfs = item["path"].endswith(LFS_SUFFIXES)
                oid = None if existing is None else (existing.sha256 if existing.lfs else existing.git_sha1)
                files.append(
                    {
                        "path": item["path"],
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False,
                        "oid": oid,
                    }
                )
            return 200, {"files": files}, {}, None

        def _lfs_batch(self, match, query):
            body = self._json()
            objects = []
            for obj in body["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"]}
                if not (hub.blob_dir / obj["oid"]).exists():
                    href = f"{hub.endpoint}/standin-lfs/{obj['oid']}"
                    entry["actions"] = {"upload": {"href": href}, "verify": {"href": f"{href}/verify"}}
                objects.append(entry)
            return 200, {"transfer": "basic", "objects": objects}, {}, None

        def _lfs_put(self, match, query):
            data = self._read_body()
            if hashlib.sha256(data).hexdigest() != match["oid"]:
                return 400, {"error": "sha256 mismatch"}, {}, None
            hub.store_blob(data)
            with hub._lock:
                hub.lfs_puts[match["oid"]] += 1
            return 200, None, {}, None

        def _lfs_verify(self, match, query):
            self._read_body()
            ok = (hub.blob_dir / match["oid"]).exists()
            return (200, {}, {}, None) if ok else (404, {"error": "object missing"}, {}, None)

        def _commit(self, match, query):
            lines = [json.loads(line) for line in self._read_body().splitlines() if line.strip()]
            repo_id, branch = unquote(match["repo"]), unquote(match["rev"])
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            with hub._lock:
                if branch not in repo.branches:
                    return self._not_found("Revision not found", "RevisionNotFound")
                head = repo.branches[branch]
                header = next(line["value"] for line in lines if line["key"] == "header")
                if header.get("parentCommit") and header["parentCommit"] != head:
                    return 412, {"error": "A commit has happened since. Please refresh and try again."}, {}, None
                tree = dict(hub.commits[head])
                for line in lines:
                    value = line["value"]
                    if line["key"] == "file":
                        data = base64.b64decode(value["content"])
                        digest = hub.store_blob(data)
                        tree[value["path"]] = StoredFile(digest, len(data), False, git_blob_sha1(data))
                    elif line["key"] == "lfsFile":
                        blob = hub.blob_dir / value["oid"]
                        if not blob.exists():
                            return 400, {"error": f"LFS object {value['oid']} was never uploaded"}, {}, None
                        data = blob.read_bytes()
                        tree[value["path"]] = StoredFile(value["oid"], len(data), True, git_blob_sha1(data))
                    elif line["key"] == "deletedFile":
                        tree.pop(value["path"], None)
                    else:
                        continue
                    if line["key"] in ("file", "lfsFile"):
                        hub.committed_paths[value["path"]] += 1
                oid = hub.new_commit(tree)
                repo.branches[branch] = oid
            url = f"{hub.endpoint}/{repo.repo_type}s/{repo_id}/commit/{oid}"
            return 200, {"commitUrl": url, "commitOid": oid, "success": True, "pullRequestUrl": None}, {}, None

        def _entry(self, path: str, stored: StoredFile) -> dict:
            entry = {"type": "file", "path": path, "size": stored.size, "oid": stored.git_sha1}
            if stored.lfs:
                entry["lfs"] = {"oid": stored.sha256, "size": stored.size, "pointerSize": 134}
            return entry

        def _tree(self, match, query):
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            tree = hub.tree_at(unquote(match["repo"]), unquote(match["rev"]))
            if tree is None:
                return self._not_found("Revision not found", "RevisionNotFound")
            prefix = (unquote(match["sub"]).strip("/") + "/") if match["sub"] else ""
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            entries, folders = [], set()
            for path, stored in sorted(tree.items()):
                if not path.startswith(prefix):
                    continue
                rest = path[len(prefix) :]
                if recursive or "/" not in rest:
                    entries.append(self._entry(path, stored))
                parts = rest.split("/")[:-1]
                for depth in range(1, len(parts) + 1 if recursive else min(1, len(parts)) + 1):
                    folders.add(prefix + "/".join(parts[:depth]))
            entries += [{"type": "directory", "path": f, "oid": "0" * 40} for f in sorted(folders)]
            return 200, entries, {}, None

        def _paths_info(self, match, query):
            form = parse_qs(self._read_body().decode())
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            tree = hub.tree_at(unquote(match["repo"]), unquote(match["rev"]))
            if tree is None:
                return self._not_found("Revision not found", "RevisionNotFound")
            wanted = form.get("paths", [])
            return 200, [self._entry(p, tree[p]) for p in wanted if p in tree], {}, None

        def _repo_info(self, match, query):
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            repo_id = unquote(match["repo"])
            revision = unquote(match["rev"]) if match["rev"] else "main"
            tree = hub.tree_at(repo_id, revision)
            if tree is None:
                return self._not_found("Revision not found", "RevisionNotFound")
            sha = repo.branches.get(revision, revision)
            siblings = [{"rfilename": path} for path in sorted(tree)]
            return 200, {"id": repo_id, "sha": sha, "private": repo.private, "siblings": siblings}, {}, None

        def _resolve(self, match, query):
            repo = self._repo(match)
            if repo is None:
                return self._not_found("Repository not found", "RepoNotFound")
            repo_id, revision = unquote(match["repo"]), unquote(match["rev"])
            tree = hub.tree_at(repo_id, revision)
            if tree is None:
                return self._not_found("Revision not found", "RevisionNotFound")
            stored = tree.get(unquote(match["sub"]))
            if stored is None:
                return self._not_found("Entry not found", "EntryNotFound")
            data = (hub.blob_dir / stored.sha256).read_bytes()
            etag = stored.sha256 if stored.lfs else stored.git_sha1
            headers = {"X-Repo-Commit": repo.branches.get(revision, revision), "ETag": f'"{etag}"'}
            return 200, None, headers, data

    return Handler
