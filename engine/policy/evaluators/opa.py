"""``OpaEvaluator``: a real OPA server over its REST Data API (opa-python-client)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import ConnectionsError, RegoParseError

from modelward.engine.decision import Decision
from modelward.engine.errors import EvaluationError, PolicyError
from modelward.engine.policy.bundle import PolicyBundle, RegoModule
from modelward.engine.policy.evaluators import DECISION, Entry

QUERY_PATH = "modelward/main"
START_TIMEOUT = 15.0


class OpaEvaluator:
    """Evaluates on the OPA at ``url``, or on a local ``opa run --server`` it starts on loopback."""

    name = "opa"

    def __init__(
        self, url: str | None = None, binary: str | None = None, timeout: float = 5.0
    ) -> None:
        self._server = None if url else ManagedOpa(binary or "opa")
        base = url or self._server.start()  # type: ignore[union-attr]
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EvaluationError(f"--opa-url must be http(s)://host:port, got {base!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._client = OpaClient(host=parts.hostname, port=port, ssl=parts.scheme == "https",
                                 timeout=timeout, retries=0)  # fmt: skip
        self._client.root_url = f"{parts.scheme}://{parts.hostname}:{port}/v1"
        self._loaded: str | None = None
        self._policy_ids: list[str] = []

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> OpaEvaluator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def evaluate(
        self, bundle: PolicyBundle, policy_input: dict[str, Any], entry: Entry = DECISION
    ) -> Decision:
        """One query of the whole entry package; ``entry`` picks the rules that decide."""
        meta = {"engine": self.name, "bundle_revision": bundle.revision}
        started = time.perf_counter()
        try:
            self.load(bundle)
            answer = self._client.query_rule(policy_input, QUERY_PATH)
        except PolicyError:
            raise
        except (requests.RequestException, ConnectionsError, ValueError, OSError) as exc:
            return Decision.failed(f"OPA request failed: {exc}", **meta)
        seconds = time.perf_counter() - started
        if "result" not in answer:  # undefined is never an allow
            return Decision.failed(
                f"OPA returned no result for data.{QUERY_PATH}", seconds=seconds, **meta
            )
        result = answer["result"]
        if not isinstance(result, dict) or entry.deny not in result:
            return Decision.failed(f"the policy bundle defines no {entry.deny_rule} rule",
                                   seconds=seconds, **meta)  # fmt: skip
        return Decision.from_results(
            result[entry.deny], result.get(entry.warn, []), seconds=seconds, **meta
        )

    def evaluate_json(
        self, bundle: PolicyBundle, input_json: str, entry: Entry = DECISION
    ) -> Decision:
        """``evaluate`` for an input that is already JSON text."""
        return self.evaluate(bundle, json.loads(input_json), entry)

    def load(self, bundle: PolicyBundle) -> None:
        """Replace whatever bundle the server holds with ``bundle`` (once per revision)."""
        if self._loaded == bundle.revision:
            return
        for policy_id in self._policy_ids:
            self._client.delete_policy(policy_id)
        self._policy_ids = []
        data = bundle.data()["modelward"]
        self._client.update_or_create_data(data["config"], "modelward/config")
        self._client.update_or_create_data(data["rules"], "modelward/rules")
        # OPA compiles each module as it arrives, so a module whose imports are not loaded yet
        # is retried after the others; a pass without progress is a real error.
        pending = list(bundle.policies)
        while pending:
            failed: list[tuple[RegoModule, RegoParseError]] = []
            for module in pending:
                policy_id = f"{bundle.name}/{module.path}".lstrip("/")
                try:
                    self._client.update_policy_from_string(
                        module.source, policy_id, rego_compat=False
                    )
                except RegoParseError as exc:
                    failed.append((module, exc))
                    continue
                self._policy_ids.append(policy_id)
            if len(failed) == len(pending):
                first, error = failed[0]
                raise PolicyError(f"{bundle.name}/{first.path}: OPA rejected the module: {error}")
            pending = [module for module, _ in failed]
        self._loaded = bundle.revision


class ManagedOpa:
    """An ``opa run --server`` on 127.0.0.1 that lives as long as its evaluator."""

    def __init__(self, binary: str) -> None:
        path = shutil.which(binary)
        if path is None:
            raise EvaluationError(
                f"--engine opa needs the '{binary}' binary on PATH (or pass --opa-url); "
                "scripts/tools.sh builds one into tools-cache/bin"
            )
        self._binary = path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        port = _free_port()
        self._process = subprocess.Popen(
            [self._binary, "run", "--server", "--addr", f"127.0.0.1:{port}",
             "--log-level", "error", "--disable-telemetry"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise EvaluationError(f"opa exited while starting: {err.strip()}")
            try:
                if requests.get(f"{url}/health", timeout=0.5).status_code == 200:
                    return url
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise EvaluationError(f"opa did not become healthy on {url} within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
