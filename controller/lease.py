"""Leader election through a coordination.k8s.io Lease (the kubernetes client's elector).

Only the leader reconciles; the others wait, ready to take over when the lease lapses. Every
write the leader makes is also conditional on what it read, so a leader that lost the lease
without noticing yet cannot undo another's work.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kubernetes import client
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from modelward.controller.config import LeaderElectionConfig

log = logging.getLogger("modelward.controller")


class Leadership:
    """``leading`` is set while this replica holds the lease."""

    def __init__(
        self,
        api_client: client.ApiClient,
        settings: LeaderElectionConfig,
        namespace: str,
        identity: str,
    ) -> None:
        self.leading = threading.Event()
        self.identity = identity
        self._settings = settings
        self._namespace = namespace
        self._api_client = api_client
        self._stop = threading.Event()

    def start(self) -> None:
        if not self._settings.enabled:
            self.leading.set()
            return
        threading.Thread(target=self._campaign, daemon=True, name="leader-election").start()

    def stop(self) -> None:
        self._stop.set()
        if self.leading.is_set() and self._settings.enabled:
            self._release()
        self.leading.clear()

    def _release(self) -> None:
        """Hand the lease over on a clean stop, so another replica need not wait for it to lapse."""
        api = client.CoordinationV1Api(self._api_client)
        name, namespace = self._settings.lease_name, self._namespace
        try:
            lease = api.read_namespaced_lease(name, namespace)
            spec = lease.spec
            if spec is None or spec.holder_identity != self.identity:
                return
            spec.holder_identity = ""  # the elector reads an empty holder as free
            spec.lease_duration_seconds = 1
            api.replace_namespaced_lease(name, namespace, lease)  # conditional on its version
            log.info("%s released the lease", self.identity)
        except Exception as exc:  # it lapses on its own
            log.warning("could not release the lease: %s", exc)

    def _campaign(self) -> None:
        settings = self._settings
        while not self._stop.is_set():
            lock: Any = LeaseLock(settings.lease_name, self._namespace, self.identity)  # type: ignore[no-untyped-call]
            lock.api_instance = client.CoordinationV1Api(self._api_client)
            config = electionconfig.Config(  # type: ignore[no-untyped-call]
                lock,
                settings.lease_seconds,
                settings.renew_seconds,
                settings.retry_seconds,
                onstarted_leading=self._started,
                onstopped_leading=self._stopped,
            )
            try:
                leaderelection.LeaderElection(config).run()  # type: ignore[no-untyped-call]
            except Exception:  # the API server went away mid-election: stand down, try again
                log.exception("leader election failed")
                self._stopped()
            self._stop.wait(settings.retry_seconds)

    def _started(self) -> None:
        log.info("%s leads", self.identity)
        self.leading.set()

    def _stopped(self) -> None:
        if self.leading.is_set():
            log.info("%s no longer leads", self.identity)
        self.leading.clear()
