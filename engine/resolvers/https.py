"""``HttpsResolver``: one model file from ``https://HOST/PATH[#sha256=HEX]``.

With ``#sha256=`` the reference is pinned: the download must have that digest (else nothing is
kept), it is cached under ``cache_dir/https/<sha256>/`` and reused, also offline. Without it the
file is downloaded every time (and offline mode refuses it). Redirects may not leave HTTPS;
``http://`` is accepted for loopback hosts only. The CA bundle is the system's, or
``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers.fetch import (
    CHUNK,
    OFFLINE_ENV,
    TIMEOUT_ENV,
    FetchSettings,
    ProgressFactory,
    no_progress,
    verified_download,
)
from modelward.engine.resolvers.hf.blobs import EXPECTED_SHA256
from modelward.engine.resolvers.local import LocalResolver
from modelward.engine.source import ModelSource

MAX_REDIRECTS: Final = 5
UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._+-]")
CA_BUNDLE_ENV: Final = "REQUESTS_CA_BUNDLE"


class HttpsResolver:
    def __init__(
        self, settings: FetchSettings | None = None, progress: ProgressFactory = no_progress
    ) -> None:
        self.settings = settings or FetchSettings.from_environ()
        self.progress = progress

    def resolve(self, ref: ModelRef) -> ModelSource:
        url = f"{ref.scheme}://{ref.location}"
        if ref.scheme == "http" and not is_loopback(urlsplit(url).hostname or ""):
            why = "http:// is accepted for loopback hosts only; use https://"
            raise ResolveError(ref.raw, why)
        expected = ref.revision.removeprefix("sha256:") if ref.revision else None
        try:
            path, digest = self._file(url, file_name(url), expected)
        except ResolveError as exc:
            where = "" if exc.path in (ref.raw, url, ref.canonical) else f"{exc.path}: "
            raise ResolveError(ref.raw, f"{where}{exc.reason}") from None
        except OSError as exc:
            raise ResolveError(ref.raw, f"{exc.filename or 'the cache'}: {exc.strerror}") from None
        source = LocalResolver().resolve(ModelRef(str(path), "local", str(path)))
        source.ref = ref
        source.metadata[EXPECTED_SHA256] = {path.name: digest}
        source.metadata["resolved_revision"] = f"sha256:{digest}"
        source.metadata["origin"] = {
            "scheme": ref.scheme,
            "location": url,
            "tag": None,
            "digest": f"sha256:{digest}",
            "objects": [
                {"key": path.name, "version_id": None, "etag": None, "size": path.stat().st_size}
            ],
        }
        return source

    def _file(self, url: str, name: str, expected: str | None) -> tuple[Path, str]:
        """The cached file (downloading it unless pinned and cached) and its sha256."""
        root = self.settings.cache_dir.expanduser().resolve() / "https"
        if expected is not None and (root / expected / name).is_file():
            return root / expected / name, expected
        if self.settings.offline:
            why = "not in the cache" if expected else "not pinned by #sha256=, so never cached"
            raise ResolveError(url, f"offline ({OFFLINE_ENV}) and {why}")
        if expected is not None:
            dest = root / expected / name
            self._download(url, dest, expected)
            return dest, expected
        # Unpinned: a private folder (no resume across runs, which could mix two contents),
        # then filed under the digest the bytes turned out to have.
        scratch = root / "downloads" / uuid.uuid4().hex
        try:
            got = self._download(url, scratch / name, None)
            dest = root / got / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            (scratch / name).replace(dest)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return dest, got

    def _download(self, url: str, dest: Path, sha256: str | None) -> str:
        return verified_download(
            _Client(self.settings.timeout).opener(url),
            dest,
            label=url,
            sha256=sha256,
            max_bytes=self.settings.max_download,
            progress=self.progress(url, None),
        )


class _Client:
    """GET with a range, following redirects that stay on HTTPS, errors as ``ResolveError``."""

    def __init__(self, timeout: float) -> None:
        self.pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=urllib3.Retry(total=1, redirect=False, raise_on_redirect=False),
            ca_certs=os.environ.get(CA_BUNDLE_ENV) or None,
        )

    def opener(self, url: str) -> Any:
        def open_at(offset: int) -> Iterator[bytes]:
            answer = self._get(url, offset)
            try:
                skip = offset if offset and answer.status == 200 else 0
                if answer.status == 416 and offset:  # the partial file is already whole
                    return
                for chunk in answer.stream(CHUNK):
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if chunk:
                        yield chunk
            except HTTPError as exc:
                raise ResolveError(url, _reason(exc)) from None
            finally:
                answer.release_conn()

        return open_at

    def _get(self, url: str, offset: int) -> Any:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                answer = self.pool.request(
                    "GET", current, headers=headers, preload_content=False, redirect=False
                )
            except HTTPError as exc:
                raise ResolveError(current, _reason(exc)) from None
            if answer.status not in (301, 302, 303, 307, 308):
                _check_status(current, answer, offset)
                return answer
            answer.release_conn()
            current = _redirect(current, answer.headers.get("Location"))
        raise ResolveError(url, f"more than {MAX_REDIRECTS} redirects")


def _redirect(current: str, location: str | None) -> str:
    if not location:
        raise ResolveError(current, "a redirect without a Location")
    target = urljoin(current, location)
    parts = urlsplit(target)
    loopback_http = parts.scheme == "http" and urlsplit(current).scheme == "http"
    if parts.scheme != "https" and not (loopback_http and is_loopback(parts.hostname or "")):
        raise ResolveError(current, f"refused a redirect to {target}: not HTTPS")
    return target


def _check_status(url: str, answer: Any, offset: int) -> None:
    status = answer.status
    if status == 206:
        content_range = str(answer.headers.get("Content-Range") or "")
        if not content_range.startswith(f"bytes {offset}-"):
            answer.release_conn()
            raise ResolveError(url, f"asked for bytes {offset}-, got {content_range!r}")
    elif status == 416 and offset:
        return
    elif status != 200:
        answer.release_conn()
        meaning = {401: "authentication required", 403: "access denied", 404: "not found"}
        raise ResolveError(url, f"HTTP {status} ({meaning.get(status, answer.reason)})")


def _reason(exc: BaseException) -> str:
    cause = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    if isinstance(cause, SSLError):
        return f"TLS verification failed: {cause}"
    if isinstance(cause, NewConnectionError):
        return "cannot connect (connection refused or host unreachable)"
    if isinstance(cause, Urllib3Timeout):
        return f"no answer in time (set {TIMEOUT_ENV} to wait longer)"
    return f"{type(cause).__name__}: {cause}"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def file_name(url: str) -> str:
    """The URL path's last segment, reduced to safe characters (``download`` when none)."""
    name = UNSAFE_NAME.sub("_", unquote(urlsplit(url).path.rpartition("/")[2]))[:200]
    return "download" if name in ("", ".", "..") else name
