"""An unreachable Hub: the CLI says what it waits for and gives up within $MODELWARD_HUB_TIMEOUT.

Both Hubs here are loopback ports: one accepts connections and never answers, one is closed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.conftest import SMALL, SMALL_COMMIT, modelward, scan


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts every connection and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def hub_env(tmp_path: Path, endpoint: str, timeout: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MODELWARD_"))}
    env.update(RUST_BACKTRACE="0", HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(tmp_path / "cache"),
               HF_HOME=str(tmp_path / "home"), MODELWARD_HUB_TIMEOUT=timeout)  # fmt: skip
    return env


@pytest.mark.parametrize("revision", ["", f"@{SMALL_COMMIT}"])
def test_silent_hub_gives_up_within_the_configured_time(
    silent_port: int, tmp_path: Path, revision: str
) -> None:
    endpoint = f"http://127.0.0.1:{silent_port}"
    started = time.monotonic()
    proc = modelward("scan", f"hf://{SMALL}{revision}",
                     env=hub_env(tmp_path, endpoint, "4"), timeout=60)  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert elapsed < 4 + 10, elapsed  # the wait, one retry pause, and the start-up
    assert f"waiting for {endpoint} ({SMALL}@" in proc.stderr  # said while it waited
    assert f"{endpoint} answered nothing for 4 s ($MODELWARD_HUB_TIMEOUT)" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_closed_port_fails_at_once(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    proc = modelward("scan", f"hf://{SMALL}", env=hub_env(tmp_path, endpoint, "30"), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert time.monotonic() - started < 30
    assert f"cannot reach {endpoint}" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_timeout_setting_is_an_error(tmp_path: Path) -> None:
    proc = modelward("scan", f"hf://{SMALL}", env=hub_env(tmp_path, "http://127.0.0.1:9", "soon"))
    assert proc.returncode == 2
    assert "$MODELWARD_HUB_TIMEOUT='soon': expected seconds" in proc.stderr


def test_a_hub_that_answers_is_unaffected(hf_env: dict[str, str]) -> None:
    code, report = scan(f"hf://{SMALL}@{SMALL_COMMIT}", {**hf_env, "MODELWARD_HUB_TIMEOUT": "5"})
    assert code in (0, 1)
    assert report["facts"]["subject"]["ref"].startswith(f"hf://{SMALL}")
    assert report["facts"]["publisher"]["hub_scan"]["status"] != "unavailable"
