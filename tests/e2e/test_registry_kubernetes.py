"""ModelVerdict resources on a real kube-apiserver: the CRD, KubernetesRegistry, VerdictCache."""

from __future__ import annotations

import copy
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from modelward.engine.verdicts.freshness import format_time
from modelward.engine.verdicts.registry import RegistryUnavailable, open_registry
from modelward.engine.verdicts.registry.kubernetes import KubernetesRegistry, VerdictCache
from modelward.engine.verdicts.registry.kubernetes_cache import _Relist
from modelward.engine.verdicts.registry.modelverdict import (
    GROUP,
    PLURAL,
    VERSION,
    resource_name,
    to_resource,
)
from modelward.engine.verdicts.signed import VerdictKeys, generate_keypair
from tests.e2e.admission_cluster import apply_crd as apply_crd_and_wait
from tests.e2e.kube import Cluster, ToolMissing, cluster_fixture, start_cluster
from tests.engine.verdict_builders import REFERENCE, signed

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "charts" / "modelward" / "crds" / "modelverdicts.yaml"
OTHER = "s3://bucket/models/other"

kube_cluster = cluster_fixture("module")


def later() -> str:
    """A signed time after every verdict made so far (a replacement must be newer)."""
    return format_time(datetime.now(UTC) + timedelta(minutes=1))


def apply_crd(api: client.ApiClient) -> None:
    """Create the CRD from the chart file and wait until the API server serves it."""
    apply_crd_and_wait(api, yaml.safe_load(CRD_FILE.read_text()))


def wait_for(probe: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def new_namespace(api: client.ApiClient) -> str:
    name = f"verdicts-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )
    return name


@pytest.fixture(scope="module")
def api(kube_cluster: Cluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kube_cluster.kubeconfig_path))
    apply_crd(api_client)
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def namespace(api: client.ApiClient) -> str:
    return new_namespace(api)


@pytest.fixture
def registry(api: client.ApiClient, namespace: str) -> KubernetesRegistry:
    return KubernetesRegistry(namespace, api)


def test_crd_names_and_columns(api: client.ApiClient) -> None:
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition(f"{PLURAL}.{GROUP}")
    assert crd.spec.scope == "Namespaced"
    assert (crd.spec.names.kind, crd.spec.names.short_names) == ("ModelVerdict", ["mv"])
    (version,) = crd.spec.versions
    assert version.name == VERSION and version.served and version.storage
    columns = [c.name for c in version.additional_printer_columns if not c.priority]
    assert columns == ["Reference", "Outcome", "Age"]


def test_put_get_list_delete(registry: KubernetesRegistry, pair: tuple[bytes, bytes]) -> None:
    keys = VerdictKeys.from_pems([pair[1]])
    assert registry.get(REFERENCE) is None
    assert registry.list() == []
    first = signed(pair[0], outcome="deny")
    registry.put(first)
    assert registry.get(REFERENCE) == first
    second = signed(pair[0], outcome="allow", created_at=later())
    registry.put(second)  # replaces the resource
    stored = registry.get(REFERENCE)
    assert stored == second
    assert stored is not None and keys.check(stored, REFERENCE).trusted
    registry.put(signed(pair[0], reference=OTHER))
    assert [s.reference for s in registry.list()] == [REFERENCE, OTHER]
    assert registry.delete(REFERENCE) == 1
    assert registry.delete(REFERENCE) == 0
    assert registry.get(REFERENCE) is None
    assert [s.reference for s in registry.list()] == [OTHER]


def test_resources_look_as_documented(
    api: client.ApiClient, registry: KubernetesRegistry, namespace: str, pair: tuple[bytes, bytes]
) -> None:
    verdict = signed(pair[0])
    registry.put(verdict)
    name = resource_name(REFERENCE)
    assert name.startswith("mv-") and len(name) == 43
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    spec = obj["spec"]
    assert (spec["reference"], spec["outcome"], spec["keyId"]) == (
        REFERENCE, "allow", verdict.key_id,
    )  # fmt: skip
    assert spec["envelope"] == verdict.envelope


def test_open_registry_kubernetes_url(
    api: client.ApiClient, namespace: str, pair: tuple[bytes, bytes]
) -> None:
    registry = open_registry(f"kubernetes://{namespace}", api_client=api)
    registry.put(signed(pair[0]))
    assert isinstance(registry, KubernetesRegistry) and registry.get(REFERENCE) is not None


def _create(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("outcome",), "maybe", "spec.outcome"),
        (("keyId",), "sha256:short", "spec.keyId"),
        (("envelope", "signatures"), [], "spec.envelope.signatures"),
        (("envelope", "payload"), None, "spec.envelope.payload"),
        (("reference",), None, "spec.reference"),
    ],
)
def test_schema_rejects_malformed_resources(
    api: client.ApiClient,
    namespace: str,
    pair: tuple[bytes, bytes],
    path: tuple[str, ...],
    value: Any,
    message: str,
) -> None:
    body = copy.deepcopy(to_resource(signed(pair[0])))
    target = body["spec"]
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(ApiException) as caught:
        _create(api, namespace, body)
    assert caught.value.status == 422
    assert message in caught.value.body


def test_resource_under_a_foreign_name_is_ignored(
    api: client.ApiClient, registry: KubernetesRegistry, namespace: str, pair: tuple[bytes, bytes]
) -> None:
    body = to_resource(signed(pair[0]))
    body["metadata"]["name"] = "hand-made"
    _create(api, namespace, body)
    assert registry.list() == []
    assert registry.get(REFERENCE) is None


def test_missing_namespace_is_unavailable(api: client.ApiClient, pair: tuple[bytes, bytes]) -> None:
    registry = KubernetesRegistry("no-such-namespace", api)
    with pytest.raises(RegistryUnavailable, match="create failed: HTTP 404"):
        registry.put(signed(pair[0]))


def test_cache_follows_the_watch(
    api: client.ApiClient, registry: KubernetesRegistry, namespace: str, pair: tuple[bytes, bytes]
) -> None:
    existing = signed(pair[0], reference=OTHER)
    registry.put(existing)
    cache = VerdictCache(namespace, api, watch_timeout=60)
    assert not cache.synced
    with pytest.raises(RegistryUnavailable, match="verdict cache not synced"):
        cache.get(OTHER)
    cache.start()
    try:
        assert cache.wait_synced(10)
        assert cache.get(OTHER) == existing
        assert cache.get(REFERENCE) is None

        added = signed(pair[0], outcome="deny")
        registry.put(added)
        wait_for(lambda: cache.get(REFERENCE) == added, "the cache to see a new verdict", 5)
        replaced = signed(pair[0], outcome="allow", created_at=later())
        registry.put(replaced)
        wait_for(lambda: cache.get(REFERENCE) == replaced, "the cache to see a replacement", 5)
        registry.delete(REFERENCE)
        wait_for(lambda: cache.get(REFERENCE) is None, "the cache to see a delete", 5)
        assert [s.reference for s in cache.list()] == [OTHER]
    finally:
        started = time.monotonic()
        cache.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 2.0  # the 60 s watch was interrupted, not waited out


def test_cache_ignores_foreign_names_and_reconnects_after_watch_timeout(
    api: client.ApiClient, registry: KubernetesRegistry, namespace: str, pair: tuple[bytes, bytes]
) -> None:
    cache = VerdictCache(namespace, api, watch_timeout=1)
    cache.start()
    try:
        assert cache.wait_synced(10)
        body = to_resource(signed(pair[0]))
        body["metadata"]["name"] = "hand-made"
        _create(api, namespace, body)
        time.sleep(2.5)  # at least two watches ended by the server and were resumed
        later = signed(pair[0], reference=OTHER)
        registry.put(later)
        wait_for(lambda: cache.get(OTHER) == later, "the cache to see a put after re-watching", 5)
        assert cache.get(REFERENCE) is None
        assert cache.last_error is None
    finally:
        cache.stop()


def test_expired_resource_version_asks_for_a_relist(api: client.ApiClient, namespace: str) -> None:
    """A watch from a resourceVersion the server no longer has (410 Gone) ends in a re-list."""
    for _ in range(3):
        new_namespace(api)  # move the cluster's resourceVersion on
    cache = VerdictCache(namespace, api, watch_timeout=5)
    with pytest.raises(_Relist):
        cache._watch_from("1")


def kill_apiserver(cluster: Cluster) -> None:
    """End kube-apiserver abruptly (an outage, not a graceful shutdown)."""
    (pid,) = [
        p for p in cluster.pids if Path(f"/proc/{p}/comm").read_text().strip() == "kube-apiserver"
    ]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _gone(pid), "kube-apiserver to exit")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_cache_serves_after_the_api_server_is_gone(
    tmp_path: Path, pair: tuple[bytes, bytes]
) -> None:
    try:
        cluster = start_cluster(tmp_path)
    except ToolMissing as exc:
        pytest.fail(str(exc))
    cache = None
    try:
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig_path))
        namespace = new_namespace(api)
        registry = KubernetesRegistry(namespace, api)
        with pytest.raises(RegistryUnavailable, match="is the ModelVerdict CRD installed"):
            registry.get(REFERENCE)  # no CRD yet: an error, not "no verdict"
        apply_crd(api)
        verdict = signed(pair[0])
        registry.put(verdict)
        cache = VerdictCache(namespace, api, backoff=(0.1, 0.5))
        cache.start()
        assert cache.wait_synced(10)
        kill_apiserver(cluster)

        with pytest.raises(RegistryUnavailable, match="API server unreachable"):
            registry.get(REFERENCE)
        with pytest.raises(RegistryUnavailable, match="unreachable"):
            registry.put(signed(pair[0], reference=OTHER))
        wait_for(lambda: cache.last_error is not None, "the cache to notice the outage", 10)
        assert cache.synced
        assert cache.get(REFERENCE) == verdict
        assert VerdictKeys.from_pems([pair[1]]).check(cache.get(REFERENCE), REFERENCE).trusted  # type: ignore[arg-type]
    finally:
        if cache is not None:
            cache.stop()
        cluster.stop()
