"""``AdmissionService``: the webhook's state (policies, caches, evaluators) and one request.

``start()`` loads everything in a background thread, so the HTTP server can answer health and
readiness probes meanwhile: the Kubernetes API client, the watch-fed ``ModelVerdict`` cache
(registry type ``kubernetes``), the watch-fed namespace labels, the vetting requester
(``auto_vetting``), then the admission environment (``build_env``) and, for the embedded engine,
the evaluation worker processes. Until then every
review is denied with the reason. ``decide`` runs on the event loop that called ``start``: the
core (``review_steps``) runs there and each policy evaluation is awaited, from a worker process
(embedded engine) or from a thread that calls OPA.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from modelward.admission.config import WebhookConfig
from modelward.admission.errors import ConfigError
from modelward.admission.review.core import (
    AdmissionEnv,
    ReviewResult,
    deny_review,
    parse_review,
    perform,
    review_steps,
)
from modelward.admission.review.parts import PartEvaluation
from modelward.admission.review.steps import Evaluation, drive
from modelward.admission.review.vetting import VettingRequest
from modelward.admission.server.evalpool import EvalPool, WorkerFailed
from modelward.admission.server.namespaces import NamespaceCache
from modelward.admission.server.vetting_requests import VettingRequester, kubernetes_requester
from modelward.engine.decision import Decision
from modelward.engine.errors import Error

log = logging.getLogger("modelward.admission.server.service")


class AdmissionService:
    """Everything a review needs, loaded once; ``decide`` answers one parsed review."""

    def __init__(self, config: WebhookConfig, *, eval_workers: int = 2, threads: int = 8) -> None:
        self.config = config
        self._eval_workers = eval_workers
        self._threads = threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._env: AdmissionEnv | None = None
        self._close_env: Callable[[], None] | None = None
        self._pool: EvalPool | None = None
        self._verdicts: Any = None  # VerdictCache when the registry is kubernetes
        self._namespaces: NamespaceCache | None = None
        self._vetting: VettingRequester | None = None
        self._error = ""
        self._loading = threading.Thread(target=self._load, name="webhook-load", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Begin loading in the background (call on the event loop); ``ready()`` says when it
        is done."""
        self._loop = asyncio.get_running_loop()
        self._loading.start()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        self._loading.join(timeout)
        return not self._loading.is_alive()

    def close(self) -> None:
        for part in (self._verdicts, self._namespaces, self._pool, self._vetting):
            if part is not None:
                _quietly(part.stop if hasattr(part, "stop") else part.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._close_env is not None:
            _quietly(self._close_env)

    def _load(self) -> None:
        try:
            self._build()
        except Error as exc:
            self._error = exc.diagnostics()
            log.error("the webhook cannot decide: %s", self._error)
        except Exception as exc:  # a bug: stay not ready and deny, with the reason
            self._error = f"internal error while loading: {type(exc).__name__}: {exc}"
            log.exception("the webhook cannot decide")
        else:
            gc.freeze()  # the loaded state lives on: keep it out of every later collection
            log.info("policies loaded (engine %s)", self.config.engine)

    def _build(self) -> None:
        from modelward.admission.env import build_env, sqlite_lookup, verdict_keys
        from modelward.engine.kubeclient import api_client
        from modelward.engine.verdicts.registry.newest import NewestVerdictLookup

        config = self.config
        client = api_client(config.kubernetes.access, config.kubernetes.kubeconfig)
        keys = verdict_keys(config, remember=True)  # high-water marks live as long as the webhook
        if config.registry.type == "sqlite":
            lookup: Callable[[str], Any] = sqlite_lookup(config, keys)
        else:
            if client is None:
                raise ConfigError(
                    "registry type kubernetes needs access to the API server, but "
                    f"kubernetes.access is {config.kubernetes.access!r} and found no credentials"
                )
            from modelward.engine.verdicts.registry.kubernetes_cache import VerdictCache

            self._verdicts = VerdictCache(
                config.registry.namespace, client, on_verdict=keys.observe
            )
            self._verdicts.start()
            lookup = NewestVerdictLookup(self._verdicts.candidates, keys)
        if config.auto_vetting.enabled:
            if client is None:
                raise ConfigError(
                    "auto_vetting needs access to the API server, but kubernetes.access is "
                    f"{config.kubernetes.access!r} and found no credentials"
                )
            self._vetting = VettingRequester(kubernetes_requester(client))
            self._vetting.start()
        labels: Callable[[str], Mapping[str, str] | None] = _no_labels
        if client is not None:
            self._namespaces = NamespaceCache(client)
            self._namespaces.start()
            labels = self._namespaces.labels
        env, self._close_env = build_env(config, lookup=lookup, keys=keys, namespace_labels=labels)
        if config.engine == "embedded":
            assert self._loop is not None, "start() runs on the event loop"
            self._pool = EvalPool(config, self._eval_workers, self._loop)
            try:
                self._pool.start()
            except WorkerFailed as exc:
                raise ConfigError(str(exc)) from None
            # Evaluations go to the pool (``_perform``); nothing may evaluate in this process.
            parts = env.parts and PartEvaluation(_in_process_refused)
            env = dataclasses.replace(env, evaluate=_in_process_refused, parts=parts)
        else:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="evaluate")
        self._env = env

    # --- state -------------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        """(True, "") once policies are loaded and every cache has synced; else the reason."""
        if self._error:
            return False, self._error
        if self._env is None:
            return False, "loading the policies"
        if self._verdicts is not None and not self._verdicts.synced:
            error = self._verdicts.last_error
            return False, "the ModelVerdict cache has not synced yet" + (
                f": {error}" if error else ""
            )
        if self._namespaces is not None and not self._namespaces.synced:
            error = self._namespaces.error
            return False, "the namespace cache has not synced yet" + (f": {error}" if error else "")
        problem = self._pool.problem() if self._pool is not None else None
        if problem is not None:
            return False, problem
        return True, ""

    def synced(self) -> dict[str, bool]:
        """Per cache (``verdicts``, ``namespaces``): has it synced? A cache not used counts."""
        return {
            "verdicts": self._verdicts is None or bool(self._verdicts.synced),
            "namespaces": self._namespaces is None or self._namespaces.synced,
        }

    # --- requests ----------------------------------------------------------------------------

    def parse(self, body: bytes) -> dict[str, Any]:
        return parse_review(body)

    async def decide(self, parsed: Mapping[str, Any]) -> ReviewResult:
        """Review ``parsed``; the caller bounds it with the deadline (cancelling it)."""
        env = self._env
        if env is None or self._error:
            return self.fail(parsed, f"the webhook is not ready: {self.ready()[1]}")
        return await drive(review_steps(parsed, env), lambda step: self._perform(step, env))

    def request_vetting(self, requests: Sequence[VettingRequest]) -> None:
        """Queue the ModelVettings a sent answer listed (never blocks, never raises)."""
        if self._vetting is None or not requests:
            return
        try:
            self._vetting.submit(requests)
        except Exception:  # a bug; the answer is sent already and stays as it was
            log.exception("queueing vetting requests failed")

    async def _perform(self, step: Evaluation, env: AdmissionEnv) -> Decision:
        if self._pool is not None:
            return await self._pool.evaluate(step)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, perform, step, env)

    def fail(self, parsed: Mapping[str, Any], reason: str) -> ReviewResult:
        return deny_review(parsed, reason)


def encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def error_body(message: str) -> bytes:
    return encode({"error": message})


def _in_process_refused(*_: object) -> Decision:
    raise RuntimeError("policy evaluation runs in the worker processes, not in the webhook")


def _no_labels(namespace: str) -> Mapping[str, str] | None:
    return None


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception as exc:  # closing must go on with the other parts
        log.warning("while closing: %s", exc)
