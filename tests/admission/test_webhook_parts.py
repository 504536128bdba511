"""Parts of the webhook process: the audit log, the registry answer cache, namespace labels."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config

from modelward.admission.lookupcache import FileLookupCache
from modelward.admission.server.audit_log import AuditLog
from modelward.admission.server.namespaces import NamespaceCache
from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from tests.admission.core_helpers import REFERENCE, signed_verdict
from tests.e2e.kube import Cluster, cluster_fixture

kube_cluster = cluster_fixture("module")

WRITER = """
import sys, threading
from modelward.admission.server.audit_log import AuditLog
log = AuditLog(sys.argv[1])
def write(thread):
    for i in range(200):
        log.write({"process": sys.argv[2], "thread": thread, "i": i, "pad": "x" * 9000})
threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_audit_lines_from_threads_and_processes_never_interleave(tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(n)]) for n in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    lines = target.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # a torn line would not parse
    assert len(records) == 3 * 4 * 200
    assert len({(r["process"], r["thread"], r["i"]) for r in records}) == len(records)


def test_audit_log_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(Exception, match="cannot open the audit log"):
        AuditLog(str(tmp_path / "file" / "audit.jsonl"))


class Counting:
    def __init__(self, registry: SqliteRegistry) -> None:
        self.registry, self.calls = registry, 0

    def __call__(self, reference: str) -> object:
        self.calls += 1
        return self.registry.get(reference)


def test_registry_answers_are_reused_until_the_database_changes(tmp_path: Path) -> None:
    database = tmp_path / "verdicts.db"
    SqliteRegistry(database).put(signed_verdict())
    lookup = Counting(SqliteRegistry(database))
    cached = FileLookupCache(lookup, database, max_age=60)
    first = cached(REFERENCE)
    assert first is not None and cached(REFERENCE) is first and lookup.calls == 1
    assert cached("hf://other/model") is None and cached("hf://other/model") is None
    assert lookup.calls == 2

    SqliteRegistry(database).delete(REFERENCE)  # another process revokes the verdict
    assert cached(REFERENCE) is None
    assert lookup.calls == 3

    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    for _ in range(2):  # errors are never remembered
        with pytest.raises(RegistryUnavailable):
            cached(REFERENCE)


def test_registry_answers_expire_after_max_age(tmp_path: Path) -> None:
    database = tmp_path / "verdicts.db"
    SqliteRegistry(database).put(signed_verdict())
    lookup = Counting(SqliteRegistry(database))
    cached = FileLookupCache(lookup, database, max_age=0.2)
    cached(REFERENCE)
    time.sleep(0.3)
    cached(REFERENCE)
    assert lookup.calls == 2


def _wait(probe: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_namespace_labels_follow_the_watch(kube_cluster: Cluster) -> None:
    api = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    core = client.CoreV1Api(api)
    name = f"labels-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"modelward.dev/mode": "warn"}}})
    cache = NamespaceCache(api)
    assert cache.labels(name) is None  # not synced yet: not known
    cache.start()
    try:
        _wait(lambda: cache.synced, "the first list")
        assert (cache.labels(name) or {}).get("modelward.dev/mode") == "warn"
        assert cache.labels("no-such-namespace") is None
        core.patch_namespace(name, {"metadata": {"labels": {"modelward.dev/mode": "enforce"}}})
        _wait(lambda: (cache.labels(name) or {}).get("modelward.dev/mode") == "enforce", "MODIFIED")
        later = f"later-{uuid.uuid4().hex[:8]}"
        core.create_namespace({"metadata": {"name": later}})
        _wait(lambda: cache.labels(later) is not None, "ADDED")
    finally:
        stopper = threading.Thread(target=cache.stop)
        stopper.start()
        stopper.join(timeout=10)
        api.close()
    assert not stopper.is_alive(), "stop() must not hang on the open watch"
