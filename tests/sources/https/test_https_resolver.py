"""``https://`` references against a real local HTTPS server."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.errors import ResolveError
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve
from modelward.engine.resolvers.fetch import FetchSettings
from modelward.engine.resolvers.https import HttpsResolver, file_name
from modelward.engine.source import ModelSource
from tests.e2e.kube import CertAuthority
from tests.sources.webserver import WebServer

BODY = b"\x93NUMPY-not-really " * 1000
SHA = hashlib.sha256(BODY).hexdigest()


def get(ref: str, settings: FetchSettings, **kwargs: Any) -> ModelSource:
    return HttpsResolver(settings, **kwargs).resolve(ModelRef.parse(ref))


def failure(ref: str, settings: FetchSettings) -> ResolveError:
    with pytest.raises(ResolveError) as info:
        get(ref, settings)
    assert info.value.path == ref
    return info.value


def cached_files(settings: FetchSettings) -> list[Path]:
    root = settings.cache_dir / "https"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_pinned_download_is_verified_cached_and_reused_offline(
    web: WebServer, settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    web.files["/models/w.npy"] = BODY
    ref = web.url(f"/models/w.npy#sha256={SHA}")
    source = get(ref, settings)
    assert [(f.path, f.real.read_bytes()) for f in source.files] == [("w.npy", BODY)]
    assert source.metadata["resolved_revision"] == f"sha256:{SHA}"
    origin = source.metadata["origin"]
    assert origin["location"] == web.url("/models/w.npy")
    assert origin["digest"] == f"sha256:{SHA}" and origin["scheme"] == "https"
    assert cached_files(settings) == [settings.cache_dir / "https" / SHA / "w.npy"]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a cached pinned file was fetched again")

    monkeypatch.setattr(socket, "create_connection", refuse)
    again = get(ref, FetchSettings(settings.cache_dir, offline=True))
    assert again.files[0].real.read_bytes() == BODY


def test_wrong_digest_keeps_nothing(web: WebServer, settings: FetchSettings) -> None:
    web.files["/w.bin"] = BODY
    wrong = "0" * 64
    error = failure(web.url(f"/w.bin#sha256={wrong}"), settings)
    assert "does not match its digest" in error.reason
    assert f"sha256:{wrong}" in error.reason and f"sha256:{SHA}" in error.reason
    assert cached_files(settings) == []


def test_unpinned_is_downloaded_every_time_and_not_offline(
    web: WebServer, settings: FetchSettings
) -> None:
    web.files["/w.bin"] = BODY
    source = get(web.url("/w.bin"), settings)
    assert source.metadata["resolved_revision"] == f"sha256:{SHA}"
    assert not ModelRef.parse(web.url("/w.bin")).pinned
    web.files["/w.bin"] = b"replaced"
    assert get(web.url("/w.bin"), settings).files[0].real.read_bytes() == b"replaced"
    assert [path for path, _ in web.requests] == ["/w.bin", "/w.bin"]
    offline = FetchSettings(settings.cache_dir, offline=True)
    assert "not pinned by #sha256=" in failure(web.url("/w.bin"), offline).reason


def test_resume_with_a_range_request(web: WebServer, settings: FetchSettings) -> None:
    web.files["/big.bin"] = BODY
    partial = settings.cache_dir / "https" / SHA / "big.bin.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(BODY[:5000])
    received: list[int] = []
    source = get(
        web.url(f"/big.bin#sha256={SHA}"), settings, progress=lambda label, total: received.append
    )
    assert source.files[0].real.read_bytes() == BODY
    assert web.requests == [("/big.bin", "bytes=5000-")]
    assert sum(received) == len(BODY) - 5000


def test_redirect_to_http_is_refused(web: WebServer, settings: FetchSettings) -> None:
    web.files["/real.bin"] = BODY
    web.redirects["/moved.bin"] = web.url("/real.bin")
    assert get(web.url("/moved.bin"), settings).files[0].real.read_bytes() == BODY
    web.redirects["/down.bin"] = web.url("/real.bin").replace("https://", "http://")
    error = failure(web.url("/down.bin"), settings)
    assert "refused a redirect to http://127.0.0.1" in error.reason
    assert "not HTTPS" in error.reason


def test_not_found(web: WebServer, settings: FetchSettings) -> None:
    error = failure(web.url("/missing.bin"), settings)
    assert str(error) == f"{web.url('/missing.bin')}: HTTP 404 (not found)"


def test_untrusted_certificate(
    web: WebServer, settings: FetchSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(CertAuthority.create("someone-else").cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    web.files["/w.bin"] = BODY
    error = failure(web.url("/w.bin"), settings)
    assert "TLS verification failed" in error.reason
    assert "CERTIFICATE_VERIFY_FAILED" in error.reason


def test_connection_refused(settings: FetchSettings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = failure(f"https://127.0.0.1:{port}/w.bin", settings)
    assert "cannot connect" in error.reason


def test_too_large(web: WebServer, tmp_path: Path) -> None:
    web.files["/w.bin"] = BODY
    settings = FetchSettings(tmp_path / "cache", max_download=1000)
    assert "more than 1000 bytes" in failure(web.url("/w.bin"), settings).reason
    assert cached_files(settings) == []


def test_http_only_for_loopback(settings: FetchSettings) -> None:
    error = failure("http://models.example.com/w.bin", settings)
    assert "loopback hosts only" in error.reason


def test_resolve_routes_https(
    web: WebServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELWARD_CACHE_DIR", str(tmp_path / "c"))
    web.files["/x/model.safetensors"] = BODY
    source = resolve(ModelRef.parse(web.url(f"/x/model.safetensors#sha256={SHA}")))
    assert [f.path for f in source.files] == ["model.safetensors"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://h/a/model.safetensors", "model.safetensors"),
        ("https://h/a/we%20ird%2F..name.bin", "we_ird_..name.bin"),
        ("https://h/a/..", "download"),
        ("https://h/", "download"),
        ("https://h/a/%2e%2e", "download"),
    ],
)
def test_file_name(url: str, name: str) -> None:
    assert file_name(url) == name
