"""The controller process: elect a leader, watch, and reconcile on every change or resync."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from modelward.controller.cluster import ClusterApi
from modelward.controller.config import ControllerConfig
from modelward.controller.lease import Leadership
from modelward.controller.metrics import ControllerMetrics, serve_metrics
from modelward.controller.publisher import Publisher
from modelward.controller.reconcile import Reconciler
from modelward.controller.revet import Revetter
from modelward.engine.errors import Error
from modelward.engine.verdicts.auditlog.expiry import ExpirySweep
from modelward.engine.vetting.resource import GROUP, PLURAL, VERSION

log = logging.getLogger("modelward.controller")
WATCH_SECONDS = 60
#: How often the leader records verdicts that expired in the audit log.
EXPIRY_SWEEP_SECONDS = 60.0


@dataclass
class Controller:
    config: ControllerConfig
    api: ClusterApi
    publisher: Publisher
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    metrics: ControllerMetrics = field(default_factory=ControllerMetrics)
    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    last_pass: float = field(default_factory=time.monotonic)
    next_expiry_sweep: float = 0.0

    def run(self) -> None:
        """Until ``stop`` is set."""
        leadership = Leadership(
            self.api.api_client, self.config.leader_election, self.config.namespace, self.identity
        )
        reconciler = Reconciler(self.api, self.publisher, self.config, self.metrics)
        revetter = Revetter(self.api, self.publisher, self.config, self.metrics)
        registry = self.publisher.registry
        sweep = ExpirySweep(registry) if getattr(registry, "audit", None) else None
        if self.config.metrics_port:
            serve_metrics(
                self.metrics, self.config.metrics_address, self.config.metrics_port, self.healthy
            )
        leadership.start()
        self._watch()
        try:
            while not self.stop.is_set():
                self.metrics.leader.set(1 if leadership.leading.is_set() else 0)
                if leadership.leading.is_set():
                    self._pass(reconciler, revetter)
                    self._sweep(sweep)
                self.last_pass = time.monotonic()
                self.wake.wait(self.config.resync_seconds)
                self.wake.clear()
        finally:
            leadership.stop()

    def healthy(self) -> bool:
        return time.monotonic() - self.last_pass < 3 * self.config.resync_seconds + 60

    def _pass(self, reconciler: Reconciler, revetter: Revetter) -> None:
        try:
            vettings = reconciler.tick()
            revetter.tick(vettings)
        except Exception:  # the API server is away; the next pass tries again
            log.exception("reconcile pass failed")

    def _sweep(self, sweep: ExpirySweep | None) -> None:
        """Record the verdicts that expired since the last sweep (leader only, throttled)."""
        if sweep is None or time.monotonic() < self.next_expiry_sweep:
            return
        self.next_expiry_sweep = time.monotonic() + EXPIRY_SWEEP_SECONDS
        try:
            if recorded := sweep.run():
                log.info("recorded %d expired verdict(s) in the audit log", recorded)
        except Error as exc:  # nothing stored yet, or the API server is away: next time
            log.debug("expiry sweep skipped: %s", exc)

    def _watch(self) -> None:
        """Wake the loop on every ModelVetting or vetting Job change."""
        from kubernetes import client

        custom: Any = client.CustomObjectsApi(self.api.api_client)
        batch: Any = client.BatchV1Api(self.api.api_client)
        sources: tuple[tuple[Any, tuple[Any, ...], dict[str, Any]], ...] = (
            (custom.list_cluster_custom_object, (GROUP, VERSION, PLURAL), {}),
            (batch.list_namespaced_job, (self.config.namespace,), {}),
        )
        for call, args, kwargs in sources:
            threading.Thread(
                target=self._follow, args=(call, args, kwargs), daemon=True, name="watch"
            ).start()

    def _follow(self, call: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        from kubernetes import watch

        while not self.stop.is_set():
            try:
                watcher: Any = watch.Watch()  # type: ignore[no-untyped-call]
                for _ in watcher.stream(call, *args, timeout_seconds=WATCH_SECONDS, **kwargs):
                    self.wake.set()
                    if self.stop.is_set():
                        return
            except Exception as exc:  # reconnect after a pause; the resync covers the gap
                log.debug("watch ended: %s", exc)
                self.stop.wait(2)
