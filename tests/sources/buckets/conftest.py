"""Fixtures for the object-store tests: one real S3 server per session, fresh buckets per test."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.resolvers.fetch import FetchSettings
from tests.sources.objectstore import S3Server

#: Variables of the user's AWS setup that must not leak into a test.
AWS_LEFTOVERS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION",
    "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "MODELWARD_GS_ENDPOINT", "MODELWARD_GS_REGION", "MODELWARD_CACHE_DIR", "MODELWARD_OFFLINE",
)  # fmt: skip


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The process environment pointed at the test server (and at nothing else)."""
    for name in AWS_LEFTOVERS:
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def s3(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new bucket with versioning enabled."""
    name = f"models-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def plain_bucket(s3: Any) -> str:
    """A new bucket without versioning: objects have no version id."""
    name = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def settings(tmp_path: Path) -> FetchSettings:
    return FetchSettings(cache_dir=tmp_path / "cache", timeout=10.0)
