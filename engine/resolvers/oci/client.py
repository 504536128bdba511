"""``RegistryClient``: one repository of one registry over the distribution API.

Requests go through a ``requests`` session with the resolver's timeout; a 401 is answered by
oras-py's auth backend (HTTP basic, or the bearer-token exchange with the registry's token
service), chosen by the challenge of ``GET /v2/``. oras-py's own request loop is not used: it
retries every failure with sleeps of minutes and sets no timeout. Every failure becomes a
``ResolveError`` naming the registry, the repository and what was being fetched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import oras.auth
import requests
from requests.adapters import HTTPAdapter

from modelward.engine.errors import ResolveError
from modelward.engine.resolvers.fetch import CHUNK, Opener
from modelward.engine.resolvers.oci.auth import auth_config, auth_file, base_url

MAX_MANIFEST: Final = 4 << 20  # what distribution itself accepts
MANIFEST_TYPES: Final = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.cncf.model.manifest.v1+json",
)
_STATUS: Final = {
    401: "authentication failed (HTTP 401); check the credentials for this registry",
    403: "access denied (HTTP 403)",
    404: "not found (HTTP 404)",
    429: "rate limited by the registry (HTTP 429); try again later",
}


@dataclass(frozen=True)
class Fetched:
    """A manifest as served: its bytes, media type and the digest the registry claimed."""

    body: bytes
    media_type: str
    claimed_digest: str | None


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self._timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


class RegistryClient:
    """Requests to ``registry``/``repository``; ``label`` is the reference errors are about."""

    def __init__(
        self, registry: str, repository: str, *, timeout: float, label: str,
        env: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.registry = registry
        self.repository = repository
        self.label = label
        self._env = env
        self.base = base_url(registry, env)
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or netrc surprises; credentials come from auth
        adapter = _TimeoutAdapter(timeout)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._timeout = timeout
        self._backend: Any = None
        self._has_credentials = False
        self._pinged = False
        self._lock = threading.Lock()  # blobs are fetched from several threads

    # -- requests ---------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, what: str, headers: Mapping[str, str] | None = None,
        stream: bool = False, data: bytes | None = None, ok: tuple[int, ...] = (),
    ) -> requests.Response:  # fmt: skip
        """``method`` on ``path`` (under the registry), authenticated; errors raise."""
        self._ping()
        url = path if path.startswith(("http://", "https://")) else self.base + path
        base = dict(headers or {})
        response = self._send(method, url, {**self._auth_header(), **base}, stream, data, what)
        if response.status_code == 401 and self._backend is not None:
            response.close()
            retry, changed = self._authenticate(response, base, what)
            if changed:
                response = self._send(method, url, retry, stream, data, what)
        if response.status_code >= 400 and response.status_code not in ok:
            raise self._http_error(response, what)
        return response

    def _send(
        self, method: str, url: str, headers: dict[str, str], stream: bool,
        data: bytes | None, what: str,
    ) -> requests.Response:  # fmt: skip
        try:
            return self._session.request(
                method, url, headers=headers, stream=stream, data=data, allow_redirects=True
            )
        except requests.RequestException as exc:
            raise self.failure(what, network_reason(exc, self._timeout)) from None

    def failure(self, what: str, reason: str) -> ResolveError:
        return ResolveError(self.label, f"{self.registry}/{self.repository}: {what}: {reason}")

    def _http_error(self, response: requests.Response, what: str) -> ResolveError:
        status = response.status_code
        reason = _STATUS.get(status) or (
            f"registry error (HTTP {status})" if status >= 500 else f"HTTP {status}"
        )
        detail = _registry_errors(response)
        response.close()
        return self.failure(what, f"{reason}{': ' + detail if detail else ''}")

    # -- authentication --------------------------------------------------------------------

    def _ping(self) -> None:
        """``GET /v2/`` once: is the registry there, and which authentication does it want."""
        with self._lock:
            if not self._pinged:
                self._ping_once()

    def _ping_once(self) -> None:
        response = self._send("GET", f"{self.base}/v2/", {}, False, None, "registry API check")
        self._pinged = True
        if response.status_code == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            self._choose_backend(challenge.partition(" ")[0].lower())
        elif response.status_code >= 500:
            raise self._http_error(response, "registry API check")
        response.close()

    def _choose_backend(self, scheme: str) -> None:
        name = {"basic": "basic", "bearer": "token"}.get(scheme)
        if name is None:
            raise self.failure("authentication", f"unsupported challenge {scheme!r}")
        insecure = self.base.startswith("http://")
        backend = oras.auth.get_auth_backend(name, self._session, insecure, tls_verify=True)
        backend._auth_config = auth_config(self.registry, self._env)
        self._has_credentials = bool(backend._load_auth(self.registry))
        if name == "basic" and not self._has_credentials:
            where = auth_file(self._env)
            raise self.failure(
                "authentication",
                "the registry requires credentials and none are configured "
                f"({'no entry in ' + str(where) if where else 'no Docker or Podman auth file'})",
            )
        self._backend = backend

    def _auth_header(self) -> dict[str, str]:
        if self._backend is None:
            return {}
        if getattr(self._backend, "token", None) or self._has_credentials:
            return dict(self._backend.get_auth_header())
        return {}

    def _authenticate(
        self, response: requests.Response, headers: dict[str, str], what: str
    ) -> tuple[dict[str, str], bool]:
        try:
            with self._lock:  # one token exchange at a time
                retry, changed = self._backend.authenticate_request(response, headers, refresh=True)
        except requests.RequestException as exc:
            reason = network_reason(exc, self._timeout)
            raise self.failure(f"{what} (token service)", reason) from None
        return dict(retry), bool(changed)

    # -- manifests and blobs ----------------------------------------------------------------

    def manifest(self, reference: str) -> Fetched:
        """The manifest or index ``reference`` (a tag or digest) names, at most 4 MiB."""
        what = f"manifest {reference}"
        response = self.request(
            "GET", f"/v2/{self.repository}/manifests/{reference}", what=what, stream=True,
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )  # fmt: skip
        with response:
            body = b"".join(self._limited(response, MAX_MANIFEST, what))
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Fetched(body, media_type, response.headers.get("Docker-Content-Digest"))

    def _limited(self, response: requests.Response, limit: int, what: str) -> Iterator[bytes]:
        total = 0
        try:
            for chunk in response.iter_content(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise self.failure(what, f"larger than {limit} bytes; refused")
                yield chunk
        except requests.RequestException as exc:
            raise self.failure(what, network_reason(exc, self._timeout)) from None

    def blob_opener(self, digest: str) -> Opener:
        """An opener for ``verified_download``: resumes with ``Range``, skips if ignored."""
        what = f"blob {digest}"

        def open_at(offset: int) -> Iterator[bytes]:
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            response = self.request(
                "GET", f"/v2/{self.repository}/blobs/{digest}", what=what, headers=headers,
                stream=True, ok=(416,),
            )  # fmt: skip
            with response:
                if response.status_code == 416:  # the partial file already holds it all
                    return
                skip = offset if response.status_code != 206 else 0
                for chunk in self._limited(response, 1 << 62, what):
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if chunk:
                        yield chunk

        return open_at


def network_reason(exc: requests.RequestException, timeout: float) -> str:
    """What a network failure was, in words."""
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_root_cause(exc)}"
    if isinstance(exc, requests.Timeout):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect: {_root_cause(exc)}"
    return f"request failed: {_root_cause(exc)}"


def _root_cause(exc: BaseException) -> str:
    seen: BaseException = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen)
    if "Connection refused" in text or isinstance(seen, ConnectionRefusedError):
        return "connection refused"
    return text[:300] or type(seen).__name__


def _registry_errors(response: requests.Response) -> str:
    """The registry's ``{"errors": [{"code", "message"}]}`` body, shortened."""
    try:
        body = next(response.iter_content(65536), b"")
        errors = json.loads(body).get("errors") or []
    except Exception:  # the body is only a hint
        return ""
    parts = [
        f"{e.get('code', '')} {e.get('message', '')}".strip()
        for e in errors[:3]
        if isinstance(e, dict)
    ]
    return "; ".join(p for p in parts if p)[:300]
