"""The boto3 client for a bucket reference: endpoint, credentials, timeouts.

Credentials, region, profile (``AWS_PROFILE``) and endpoint (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_S3``, ``endpoint_url`` in the config file) come from boto3's usual chain.
``gs://`` uses Google Cloud Storage's S3-compatible XML API with HMAC keys from the same chain;
its endpoint is ``MODELWARD_GS_ENDPOINT``, else ``AWS_ENDPOINT_URL``, else
``https://storage.googleapis.com``, and its signing region ``MODELWARD_GS_REGION`` (``auto``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import boto3
from botocore.config import Config

from modelward.engine.resolvers.fetch import FetchSettings

GS_ENDPOINT_ENV: Final = "MODELWARD_GS_ENDPOINT"
GS_ENDPOINT: Final = "https://storage.googleapis.com"
GS_REGION_ENV: Final = "MODELWARD_GS_REGION"
#: One retry: a flaky network is retried once, a dead endpoint fails in seconds.
ATTEMPTS: Final = 2


def make_client(scheme: str, settings: FetchSettings, env: Mapping[str, str] | None = None) -> Any:
    """An S3 client for ``scheme`` (``s3`` or ``gs``); creating it makes no network request."""
    env = os.environ if env is None else env
    options: dict[str, Any] = {
        "connect_timeout": settings.timeout,
        "read_timeout": settings.timeout,
        "retries": {"max_attempts": ATTEMPTS, "mode": "standard"},
    }
    endpoint = None
    region = None
    if scheme == "gs":
        endpoint = env.get(GS_ENDPOINT_ENV) or env.get("AWS_ENDPOINT_URL") or GS_ENDPOINT
        region = env.get(GS_REGION_ENV) or "auto"
        # GCS rejects the flexible-checksum headers newer botocore sends by default.
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
        options["s3"] = {"addressing_style": "path"}
    session = boto3.session.Session()
    return session.client(
        "s3", endpoint_url=endpoint, region_name=region or session.region_name or "us-east-1",
        config=Config(**options),
    )  # fmt: skip


def endpoint_of(client: Any) -> str:
    """The endpoint the client talks to (part of every cache key: buckets are per endpoint)."""
    return str(client.meta.endpoint_url).rstrip("/")
