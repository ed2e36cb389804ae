"""A STAND-IN for the Hugging Face Hub, for tests only: no network is reachable here.

It serves, on 127.0.0.1 and a free port, the Hub endpoints huggingface_hub calls to push a dataset and read it
back: repo creation, repo info, branches, preupload, NDJSON commits, tree listing (always recursive), README YAML
validation, ``resolve``, and the Xet write/read tokens. Large files take the path real pushes take: the real Xet
client (``hf_xet``) chunks, deduplicates and stores them, in a local content-addressed store (``hf_xet``'s
``local://`` CAS) that the token answers name as the Xet endpoint. The stand-in reads the shards the client wrote
to learn which sha256 is which Xet file (and which xorbs hold it), and reads contents back through ``hf_xet``.
It is not the Hub: it only mirrors the request and answer shapes the client needs.

Faults can be injected: an HTTP status (with ``Retry-After``), a connection dropped halfway through the request
body (nothing applied), a connection dropped after the request was applied (the client never sees the answer),
and a 200 answer whose body is an HTML page instead of JSON.
"""

import base64
import hashlib
import json
import re
import socket
import struct
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import hf_xet

LFS_SUFFIXES = (".parquet", ".png")
_API = r"^/api/datasets/(?P<repo>[^/]+/[^/]+)"
_RESOLVE = r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<sub>.+)$"
_WITH_VERIFICATION, _WITH_METADATA_EXT = 1 << 31, 1 << 30  # flags of a shard's file record


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _xet_hex(raw: bytes) -> str:
    """Xet writes a 32-byte hash as four little-endian u64 and prints each as 16 hex digits."""
    return "".join(f"{word:016x}" for word in struct.unpack("<4Q", raw))


@dataclass(frozen=True)
class XetFile:
    xet_hash: str
    size: int
    xorbs: frozenset[str]


def read_shard(data: bytes) -> dict[str, XetFile]:
    """sha256 -> Xet file, from the file section of an MDB shard: 48-byte records after a 48-byte header.

    A file is a header record (hash, flags, number of segments), one record per segment (xorb hash, bytes),
    as many verification records when flagged, and a metadata record holding its sha256 when flagged.
    """
    files, offset = {}, 48
    while data[offset : offset + 32] != b"\xff" * 32:
        file_hash, flags, count = data[offset : offset + 32], *struct.unpack_from("<II", data, offset + 32)
        segments = [struct.unpack_from("<32sII", data, offset + 48 * (1 + i)) for i in range(count)]
        offset += 48 * (1 + count * (2 if flags & _WITH_VERIFICATION else 1))
        if flags & _WITH_METADATA_EXT:
            xorbs = frozenset(_xet_hex(xorb) for xorb, _, _ in segments)
            size = sum(length for _, _, length in segments)
            files[_xet_hex(data[offset : offset + 32])] = XetFile(_xet_hex(file_hash), size, xorbs)
            offset += 48
    return files


@dataclass(frozen=True)
class Entry:
    size: int
    git_sha1: str
    sha256: str | None = None  # LFS (Xet) files only
    xet_hash: str | None = None


@dataclass
class Fault:
    kind: str  # "status" | "drop_during" | "drop_after" | "garbage"
    method: str
    path_pattern: str
    status: int = 429
    retry_after: int = 1
    times: int = 1
    after: int = 0  # matching requests let through before the fault starts


@dataclass
class Repo:
    private: bool
    branches: dict[str, str] = field(default_factory=dict)


class HubStandIn:
    """Stand-in Hub server; use as a context manager, ``endpoint`` is its base URL, ``cas`` its Xet store."""

    def __init__(self, root: Path, token: str | None = None):
        self.cas = Path(root) / "xet-cas"
        self.cas.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.commits: dict[str, dict[str, Entry]] = {}
        self.blobs: dict[str, bytes] = {}  # git sha1 -> content of regular (non-LFS) files
        self.committed_paths: Counter[str] = Counter()  # path -> commits that wrote it
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.unauthorized: list[tuple[str, str]] = []
        self.xet_token_requests: list[str] = []  # "write main", "read <commit>": token calls carrying the Hub token
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"hub": self}))
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

    def inject(self, kind: str, method: str, path_pattern: str, **options) -> None:
        """Make requests matching ``method`` and the regex ``path_pattern`` fail as ``kind`` (see :class:`Fault`)."""
        assert kind in ("status", "drop_during", "drop_after", "garbage")
        with self.lock:
            self.faults.append(Fault(kind, method, path_pattern, **options))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
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

    def tree_at(self, repo_id: str, revision: str) -> dict[str, Entry] | None:
        repo = self.repos.get(repo_id)
        return None if repo is None else self.commits.get(repo.branches.get(revision, revision))

    def xet_files(self) -> dict[str, XetFile]:
        """Every file the Xet client stored, by sha256, with every xorb any shard says holds it."""
        files: dict[str, XetFile] = {}
        for shard in self.cas.rglob("shards/*.mdb"):
            for sha256, file in read_shard(shard.read_bytes()).items():
                known = files.get(sha256, file)
                files[sha256] = XetFile(file.xet_hash, file.size, known.xorbs | file.xorbs)
        return files

    def xorbs(self) -> set[str]:
        """Hashes of the xorbs (chunk containers) in the Xet store."""
        return {p.name.split(".")[1] for p in self.cas.rglob("default.*") if not p.name.endswith(".tagset")}

    def xet_connection(self) -> dict:
        expiry = int(time.time()) + 3600
        return {"endpoint": f"local://{self.cas}", "token": "xet-stand-in", "token_expiry_unix_secs": expiry}

    def read(self, entry: Entry) -> bytes:
        """A file's content: the stored bytes of a regular file, else reconstructed from the Xet store by hf_xet."""
        if entry.xet_hash is None:
            return self.blobs[entry.git_sha1]
        group = hf_xet.XetSession().new_file_download_group(**self.xet_connection())
        with tempfile.TemporaryDirectory() as tmp:
            group.start_download_file(hf_xet.XetFileInfo(entry.xet_hash, entry.size), f"{tmp}/file")
            group.wait_to_finish()
            return Path(f"{tmp}/file").read_bytes()

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Content of every file of ``repo_id`` at ``revision`` (a branch or a commit id)."""
        tree = self.tree_at(repo_id, revision)
        assert tree is not None, f"no revision {revision} in {repo_id}"
        return {path: self.read(entry) for path, entry in tree.items()}

    def new_commit(self, tree: dict[str, Entry]) -> str:
        with self.lock:
            oid = hashlib.sha1(f"stand-in commit {len(self.commits)}".encode()).hexdigest()
            self.commits[oid] = tree
            return oid


class _Answer(Exception):
    """An answer decided inside an endpoint (not found, bad request)."""

    def __init__(self, status: int, payload: dict, headers: dict | None = None):
        super().__init__(status)
        self.answer = (status, payload, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubStandIn  # set on the subclass each stand-in makes

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _read(self, limit: int | None = None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))

    def _send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _authorized(self) -> bool:
        return self.hub.token is None or self.headers.get("Authorization") == f"Bearer {self.hub.token}"

    def _handle(self) -> None:
        path = urlsplit(self.path).path
        with self.hub.lock:
            self.hub.requests.append((self.command, path))
        fault = self.hub.take_fault(self.command, path)
        if fault is not None and fault.kind == "drop_during":
            self._read(limit=max(1, int(self.headers.get("Content-Length") or 2) // 2))
            return self._drop()
        self.body = self._read()
        if fault is not None and fault.kind == "status":
            return self._send(fault.status, {"error": "injected"}, {"Retry-After": fault.retry_after})
        if fault is not None and fault.kind == "garbage":  # what a captive portal or a proxy's login page sends
            return self._send(200, None, {"Content-Type": "text/html"}, b"<html>Sign in to the network</html>")
        if self.command == "POST" and path != "/api/validate-yaml" and not self._authorized():
            self.hub.unauthorized.append((self.command, path))
            return self._send(401, {"error": "Invalid credentials (stand-in)"})
        try:
            answer = self._route(path)
        except _Answer as early:
            answer = early.answer
        if fault is not None and fault.kind == "drop_after":
            return self._drop()
        self._send(*answer)

    do_GET = do_POST = do_HEAD = _handle

    def _route(self, path: str) -> tuple:
        routes = [
            ("POST", r"^/api/repos/create$", self._create_repo),
            ("POST", r"^/api/validate-yaml$", lambda match: (200, {"errors": [], "warnings": []})),
            ("POST", _API + r"/branch/(?P<branch>[^/]+)$", self._create_branch),
            ("POST", _API + r"/preupload/(?P<rev>[^/]+)$", self._preupload),
            ("POST", _API + r"/commit/(?P<rev>[^/]+)$", self._commit),
            ("GET", _API + r"/xet-(?P<kind>read|write)-token/(?P<rev>[^/]+)$", self._xet_token),
            ("GET", _API + r"/tree/(?P<rev>[^/]+)$", self._list_tree),
            ("GET", _API + r"(?:/revision/(?P<rev>[^/]+))?$", self._repo_info),
            ("GET", _RESOLVE, self._resolve),
            ("HEAD", _RESOLVE, self._resolve),
        ]
        for method, pattern, endpoint in routes:
            match = re.match(pattern, path)
            if method == self.command and match:
                return endpoint({key: unquote(value) for key, value in match.groupdict().items() if value})
        return 404, {"error": f"stand-in has no route for {self.command} {path}"}

    def _json(self) -> dict:
        return json.loads(self.body or b"{}")

    def _tree_at(self, match: dict) -> dict[str, Entry]:
        repo = self.hub.repos.get(match["repo"])
        if repo is None or (repo.private and not self._authorized()):  # the Hub hides private repos: 404
            raise _Answer(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        tree = self.hub.tree_at(match["repo"], match.get("rev", "main"))
        if tree is None:
            raise _Answer(404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
        return tree

    def _list_tree(self, match: dict) -> tuple:
        entries = []
        for path, entry in sorted(self._tree_at(match).items()):
            item = {"type": "file", "path": path, "size": entry.size, "oid": entry.git_sha1}
            if entry.sha256 is not None:
                item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": 134}
                item["xetHash"] = entry.xet_hash
            entries.append(item)
        return 200, entries

    def _create_repo(self, match: dict) -> tuple:
        body = self._json()
        repo_id = f"{body['organization'] or 'user'}/{body['name']}"
        url = f"{self.hub.endpoint}/datasets/{repo_id}"
        with self.hub.lock:
            if repo_id in self.hub.repos:
                return 409, {"error": "You already created this repo", "url": url}
            self.hub.repos[repo_id] = Repo(body.get("visibility") == "private", {"main": self.hub.new_commit({})})
        return 200, {"url": url, "name": repo_id}

    def _create_branch(self, match: dict) -> tuple:
        self._tree_at(match)
        branches = self.hub.repos[match["repo"]].branches
        with self.hub.lock:
            if match["branch"] in branches:
                return 409, {"error": "Reference already exists"}
            branches[match["branch"]] = branches["main"]
        return 200, {}

    def _preupload(self, match: dict) -> tuple:
        tree = self._tree_at(match)
        files = []
        for item in self._json()["files"]:
            existing = tree.get(item["path"])
            oid = existing and (existing.sha256 or existing.git_sha1)
            mode = "lfs" if item["path"].endswith(LFS_SUFFIXES) else "regular"
            files.append({"path": item["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return 200, {"files": files}

    def _xet_token(self, match: dict) -> tuple:
        """The Xet store as the endpoint: JSON for hf_xet's token refresh, headers for huggingface_hub's."""
        if self._authorized():
            self.hub.xet_token_requests.append(f"{match['kind']} {match['rev']}")
        connection = self.hub.xet_connection()
        body = {"accessToken": connection["token"], "exp": connection["token_expiry_unix_secs"]}
        headers = {
            "X-Xet-Cas-Url": connection["endpoint"],
            "X-Xet-Access-Token": connection["token"],
            "X-Xet-Token-Expiration": connection["token_expiry_unix_secs"],
        }
        return 200, body | {"casUrl": connection["endpoint"]}, headers

    def _commit(self, match: dict) -> tuple:
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        tree = dict(self._tree_at(match))
        stored = self.hub.xet_files()
        for line in lines:
            value = line["value"]
            if line["key"] == "file":
                data = base64.b64decode(value["content"])
                self.hub.blobs[git_blob_sha1(data)] = data
                tree[value["path"]] = Entry(len(data), git_blob_sha1(data))
            elif line["key"] == "lfsFile":
                xet = stored.get(value["oid"])
                if xet is None:
                    return 400, {"error": f"{value['path']}: sha256 {value['oid']} was never uploaded to Xet"}
                pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{value['oid']}\nsize {xet.size}\n"
                tree[value["path"]] = Entry(xet.size, git_blob_sha1(pointer.encode()), value["oid"], xet.xet_hash)
        with self.hub.lock:
            self.hub.committed_paths.update(line["value"]["path"] for line in lines if line["key"] != "header")
            oid = self.hub.new_commit(tree)
            self.hub.repos[match["repo"]].branches[match["rev"]] = oid
        url = f"{self.hub.endpoint}/datasets/{match['repo']}/commit/{oid}"
        return 200, {"commitUrl": url, "commitOid": oid, "pullRequestUrl": None}

    def _repo_info(self, match: dict) -> tuple:
        tree = self._tree_at(match)
        repo = self.hub.repos[match["repo"]]
        sha = repo.branches.get(match.get("rev", "main"), match.get("rev"))
        siblings = [{"rfilename": path} for path in sorted(tree)]
        return 200, {"id": match["repo"], "sha": sha, "private": repo.private, "siblings": siblings}

    def _resolve(self, match: dict) -> tuple:
        entry = self._tree_at(match).get(match["sub"])
        if entry is None:
            return 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"}
        commit = self.hub.repos[match["repo"]].branches.get(match["rev"], match["rev"])
        headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.sha256 or entry.git_sha1}"'}
        if entry.xet_hash is not None:
            refresh = f"{self.hub.endpoint}/api/datasets/{match['repo']}/xet-read-token/{commit}"
            headers |= {"X-Xet-Hash": entry.xet_hash, "X-Xet-Refresh-Route": refresh, "X-Linked-Size": entry.size}
        body = self.hub.read(entry) if self.command == "GET" else b"\0" * entry.size  # HEAD: the length only
        return 200, None, headers | {"Content-Type": "application/octet-stream"}, body
