"""The real servers every source test shares: a registry (plain and with credentials), an S3
store and an HTTPS server, each started once per session on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.objectstore import S3Server, running_s3
from tests.sources.registry import RegistryServer, start_registry
from tests.sources.webserver import WebServer, running_https


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with start_registry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with start_registry(tmp_path_factory.mktemp("auth-registry"), user="alice") as server:
        yield server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with running_https(tmp_path_factory.mktemp("https")) as server:
        yield server
