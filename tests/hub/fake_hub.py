"""A local stand-in for the Hugging Face Hub that ``huggingface_hub`` talks to unmodified.

It serves the endpoints ``model_info``, ``snapshot_download`` and ``paths-info`` use, on
127.0.0.1, from repositories the tests define (file contents as bytes or paths on disk). The
ModelInfo JSON starts from a recorded Hub response (``template``), so its shape is the Hub's.
``rate_limited`` makes every request answer HTTP 429 with the recorded 429 body (and
``Retry-After: 0`` so the client's retries do not slow the tests); ``broken`` names API endpoints
("revision", "tree", "paths-info") that answer HTTP 500.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx", ".ot", ".gguf")
CHUNK = 1024 * 1024


def sha256_of(data: bytes | Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(data):
        digest.update(chunk)
    return digest.hexdigest()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _chunks(data: bytes | Path, start: int = 0) -> Any:
    if isinstance(data, bytes):
        yield data[start:]
        return
    with data.open("rb") as f:
        f.seek(start)
        while chunk := f.read(CHUNK):
            yield chunk


def _size(data: bytes | Path) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size


@dataclass
class RepoFile:
    """One file: what is served, and what the Hub advertises (by default, the same bytes)."""

    content: bytes | Path
    lfs: bool
    advertised_sha256: str | None = None
    security: str = "safe"

    @property
    def size(self) -> int:
        return _size(self.content)

    @property
    def sha256(self) -> str:
        if self.advertised_sha256 is None:
            self.advertised_sha256 = sha256_of(self.content)
        return self.advertised_sha256

    def pointer(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
            f"size {self.size}\n"
        ).encode()

    @property
    def blob_id(self) -> str:
        if self.lfs:
            return git_blob_id(self.pointer())
        assert isinstance(self.content, bytes)
        return git_blob_id(self.content)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id

    def tree_entry(self, path: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": self.blob_id, "size": self.size}
        entry["path"] = path
        if self.lfs:
            entry["lfs"] = {
                "oid": self.sha256,
                "size": self.size,
                "pointerSize": len(self.pointer()),
            }
        return entry


@dataclass
class Repo:
    repo_id: str
    commit: str
    files: dict[str, RepoFile]
    info: dict[str, Any] = field(default_factory=dict)  # fields over the template
    files_with_issues: list[dict[str, str]] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision == self.commit:
            return self.commit
        return {"main": self.commit, **self.branches}.get(revision)


def make_files(contents: dict[str, bytes | Path]) -> dict[str, RepoFile]:
    """Files stored in LFS the way a model repository's .gitattributes puts them there."""
    return {
        path: RepoFile(content, lfs=path.endswith(LFS_SUFFIXES))
        for path, content in contents.items()
    }


class FakeHub:
    def __init__(self, template: dict[str, Any], rate_limit_body: bytes) -> None:
        self.template = template
        self.rate_limit_body = rate_limit_body
        self.repos: dict[str, Repo] = {}
        self.rate_limited = False
        self.broken: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, repo: Repo) -> Repo:
        self.repos[repo.repo_id] = repo
        return repo

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ responses

    def model_info(self, repo: Repo, commit: str, query: dict[str, list[str]]) -> dict[str, Any]:
        info = copy.deepcopy(self.template)
        org = repo.repo_id.split("/")[0]
        info.update(
            _id=hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            id=repo.repo_id,
            modelId=repo.repo_id,
            author=org,
            sha=commit,
            spaces=[],
            downloads=1234,
            likes=7,
        )
        info.update(copy.deepcopy(repo.info))
        blobs = _flag(query, "blobs")
        info["siblings"] = [_sibling(p, f, blobs) for p, f in sorted(repo.files.items())]
        if _flag(query, "securityStatus"):
            info["securityRepoStatus"] = {
                "scansDone": True,
                "filesWithIssues": copy.deepcopy(repo.files_with_issues),
            }
        return info

    def tree(self, repo: Repo, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = prefix.strip("/")
        out: list[dict[str, Any]] = []
        folders: set[str] = set()
        for path, f in sorted(repo.files.items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :] if prefix else path
            if "/" in rest and not recursive:
                folders.add((prefix + "/" if prefix else "") + rest.split("/")[0])
                continue
            if recursive:
                parts = path.split("/")[:-1]
                folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            out.append(f.tree_entry(path))
        dirs = [
            {"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in sorted(folders)
        ]
        return dirs + out

    def paths_info(self, repo: Repo, paths: list[str], expand: bool) -> list[dict[str, Any]]:
        out = []
        for path in paths:
            f = repo.files.get(path)
            if f is None:
                continue
            entry = f.tree_entry(path)
            if expand:
                entry["securityFileStatus"] = {
                    "status": f.security,
                    "avScan": {"virusFound": False, "virusNames": None},
                    "pickleImportScan": None,
                }
            out.append(entry)
        return out


def _sibling(path: str, f: RepoFile, blobs: bool) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": path}
    if blobs:
        sibling.update(size=f.size, blobId=f.blob_id)
        if f.lfs:
            sibling["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer())}
    return sibling


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return any(v.lower() in ("1", "true") for v in query.get(name, []))


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.fake.requests.append((method, path))
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.fake.rate_limited:
            headers = {"Content-Type": "application/json", "Retry-After": "0"}
            self._send(429, self.fake.rate_limit_body, headers, method)
            return
        query = parse_qs(url.query)
        if path.startswith("/api/models/"):
            self._api(method, path[len("/api/models/") :], query, body)
        elif "/resolve/" in path:
            self._resolve(method, path.lstrip("/"))
        else:
            self._error(404, "EntryNotFound", "not found", method)

    def _api(self, method: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = rest.split("/")
        repo = self.fake.repos.get("/".join(parts[:2]))
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found", method)
            return
        tail = parts[2:]
        kind = tail[0] if tail else "revision"
        revision = tail[1] if len(tail) > 1 else "main"
        commit = repo.resolve(revision)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", method)
            return
        if kind in self.fake.broken:
            self._error(500, "InternalError", "Internal Error", method)
        elif kind == "revision" and method == "GET":
            self._json(self.fake.model_info(repo, commit, query), method)
        elif kind == "tree" and method == "GET":
            recursive = _flag(query, "recursive")
            self._json(self.fake.tree(repo, "/".join(tail[2:]), recursive), method)
        elif kind == "paths-info" and method == "POST":
            form = parse_qs(body.decode())
            expand = _flag(form, "expand")
            self._json(self.fake.paths_info(repo, form.get("paths", []), expand), method)
        else:
            self._error(404, "EntryNotFound", "unknown endpoint", method)

    def _resolve(self, method: str, rest: str) -> None:
        head, _, tail = rest.partition("/resolve/")
        repo = self.fake.repos.get(head)
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found", method)
            return
        revision, _, filename = tail.partition("/")
        commit = repo.resolve(revision)
        f = repo.files.get(filename)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", method)
            return
        if f is None:
            self._error(404, "EntryNotFound", "Entry not found", method, {"X-Repo-Commit": commit})
            return
        headers = {
            "X-Repo-Commit": commit,
            "ETag": f'"{f.etag}"',
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        start = _range_start(self.headers.get("Range"))
        size = f.size
        if method == "HEAD":
            self._send(200, b"", {**headers, "Content-Length": str(size)}, method, length=size)
            return
        status = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(size - start)}.items():
            self.send_header(k, v)
        self.end_headers()
        for chunk in _chunks(f.content, start):
            self.wfile.write(chunk)

    # ------------------------------------------------------------------ helpers

    def _json(self, value: Any, method: str) -> None:
        self._send(200, json.dumps(value).encode(), {"Content-Type": "application/json"}, method)

    def _error(
        self, status: int, code: str, message: str, method: str, extra: dict[str, str] | None = None
    ) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Error-Code": code,
            "X-Error-Message": message,
        }
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {**headers, **(extra or {})}, method)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        method: str,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)


def _range_start(header: str | None) -> int:
    if not header or not header.startswith("bytes="):
        return 0
    first = header[len("bytes=") :].split("-", 1)[0]
    return int(first) if first.isdigit() else 0
