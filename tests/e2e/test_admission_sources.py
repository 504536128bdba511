"""Models from OCI registries and buckets at admission, on a real kube-apiserver.

A Pod with an image volume, a KServe InferenceService with an ``oci://`` modelcar and one with
an ``s3://`` storageUri are each denied while the model is unvetted, admitted once ``modelward
vet --publish`` vetted it from the real registry or object store, and denied again when the
reference points at another digest or object version.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import MODELWARD
from tests.e2e.admission_cluster import (
    RELEASE_NAMESPACE,
    ApiResult,
    Webhook,
    create,
    installed,
    make_namespace,
)
from tests.e2e.kube import REPO, Cluster, cluster_fixture
from tests.sources.objectstore import S3Server, running_s3
from tests.sources.oci.artifacts import MODELPACK_ARTIFACT, MODELPACK_CONFIG, MODELPACK_RAW
from tests.sources.registry import Pusher, RegistryServer, start_registry

pytestmark = pytest.mark.slow

kube_cluster = cluster_fixture("module")

MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"
WEIGHTS = "model.safetensors"
BUCKET = "models"


@dataclass
class Vetted:
    """What was published, and look-alikes that were not."""

    image: str  # REGISTRY/REPO@sha256:D, vetted
    other_image: str  # same repository, another digest, never vetted
    s3: str  # s3://BUCKET/KEY?versionId=V, vetted
    other_s3: str  # the same key's next version, never vetted


@dataclass
class Setup:
    cluster: Cluster
    webhook: Webhook
    namespace: str
    vetted: Vetted


@pytest.fixture(scope="module")
def setup(kube_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("sources")
    with (
        start_registry(root / "registry") as registry,
        running_s3(root / "s3") as s3,
        installed(kube_cluster, root) as release,
    ):
        vetted = _artifacts(registry, s3)
        namespace = make_namespace(release.api, "ml-sources")
        setup = Setup(kube_cluster, release.webhook, namespace, vetted)
        _assert_unvetted_denied(setup)
        env = _env(kube_cluster, s3, root / "cache")
        for ref in (f"oci://{vetted.image}", vetted.s3):
            _vet(ref, release.private_key, env)
        _wait_for_verdicts(setup)
        yield setup


def _artifacts(registry: RegistryServer, s3: S3Server) -> Vetted:
    files = {p.name: p.read_bytes() for p in (MODEL / WEIGHTS, MODEL / "config.json")}
    push = Pusher(registry, "models/minilm")
    image = f"{registry.host}/models/minilm@{_modelpack(push, 'v1', files)}"
    other = f"{registry.host}/models/minilm@{_modelpack(push, 'v2', {WEIGHTS: files[WEIGHTS]})}"
    bucket = s3.client()
    bucket.create_bucket(Bucket=BUCKET)
    bucket.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = f"minilm/{WEIGHTS}"
    first = bucket.put_object(Bucket=BUCKET, Key=key, Body=files[WEIGHTS])["VersionId"]
    second = bucket.put_object(Bucket=BUCKET, Key=key, Body=files[WEIGHTS][:-8] + bytes(8))
    return Vetted(
        image=image,
        other_image=other,
        s3=f"s3://{BUCKET}/{key}?versionId={first}",
        other_s3=f"s3://{BUCKET}/{key}?versionId={second['VersionId']}",
    )


def _modelpack(push: Pusher, tag: str, files: dict[str, bytes]) -> str:
    layers = [
        push.blob(data, MODELPACK_RAW, {"org.cncf.model.filepath": name})
        for name, data in files.items()
    ]
    config = (json.dumps({"descriptor": {"name": tag}}).encode(), MODELPACK_CONFIG)
    return push.artifact(tag, config, layers, artifact_type=MODELPACK_ARTIFACT)


def _env(cluster: Cluster, s3: S3Server, cache: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ("AWS_CA_BUNDLE",)}
    env = {**inherited, **s3.env(), "KUBECONFIG": str(cluster.kubeconfig_path)}
    env["MODELWARD_CACHE_DIR"] = str(cache)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return env


def _vet(ref: str, private: Path, env: dict[str, str]) -> None:
    vet = subprocess.run(
        [str(MODELWARD), "vet", ref, "--signing-key", str(private),
         "--publish", "--registry", f"kubernetes://{RELEASE_NAMESPACE}"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert vet.returncode == 0, vet.stdout + vet.stderr


def _assert_unvetted_denied(setup: Setup) -> None:
    v = setup.vetted
    for kind, obj in (
        ("Pod", _image_pod("before", v.image)),
        ("InferenceService", _isvc("before-oci", f"oci://{v.image}")),
        ("InferenceService", _isvc("before-s3", v.s3)),
    ):
        _assert_denied(_create(setup, obj, dry_run=True), kind, "model-unvetted")


def _wait_for_verdicts(setup: Setup) -> None:
    """The webhook's watch-fed cache holds both verdicts (dry-run creates are admitted)."""
    probes = [_image_pod("probe", setup.vetted.image), _isvc("probe", setup.vetted.s3)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        results = [_create(setup, obj, dry_run=True) for obj in probes]
        if all(r.status == 201 for r in results):
            return
        time.sleep(0.5)
    raise AssertionError(f"vetted models still refused: {[r.message for r in results]}")


def _create(setup: Setup, obj: dict[str, Any], dry_run: bool = False) -> ApiResult:
    kind = obj["kind"]
    path = (
        f"/api/v1/namespaces/{setup.namespace}/pods"
        if kind == "Pod"
        else f"/apis/serving.kserve.io/v1beta1/namespaces/{setup.namespace}/inferenceservices"
    )
    return create(setup.cluster, path + ("?dryRun=All" if dry_run else ""), obj)


def _image_pod(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{
                "name": "server",
                "image": "registry.invalid/model-server:v1",
                "volumeMounts": [{"name": "model", "mountPath": "/models", "readOnly": True}],
            }],
            "volumes": [{"name": "model", "image": {"reference": image}}],
        },
    }  # fmt: skip


def _isvc(name: str, storage_uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"},
                                         "storageUri": storage_uri}}},
    }  # fmt: skip


def _assert_denied(result: ApiResult, *needles: str) -> None:
    assert result.status == 403, (result.status, result.body)
    for needle in needles:
        assert needle in result.message, (needle, result.message)


def test_image_volume_is_admitted_once_vetted_and_denied_for_another_digest(setup: Setup) -> None:
    admitted = _create(setup, _image_pod("vetted", setup.vetted.image))
    assert admitted.status == 201, admitted.message
    other = _create(setup, _image_pod("other", setup.vetted.other_image))
    _assert_denied(other, "model-unvetted", setup.vetted.other_image.rsplit("@", 1)[1])


def test_kserve_oci_modelcar_is_admitted_once_vetted_and_denied_for_another_digest(
    setup: Setup,
) -> None:
    admitted = _create(setup, _isvc("oci-vetted", f"oci://{setup.vetted.image}"))
    assert admitted.status == 201, admitted.message
    other = _create(setup, _isvc("oci-other", f"oci://{setup.vetted.other_image}"))
    _assert_denied(other, "InferenceService", "model-unvetted")


def test_kserve_s3_model_is_admitted_once_vetted_and_denied_for_another_version(
    setup: Setup,
) -> None:
    admitted = _create(setup, _isvc("s3-vetted", setup.vetted.s3))
    assert admitted.status == 201, admitted.message
    other = _create(setup, _isvc("s3-other", setup.vetted.other_s3))
    _assert_denied(other, "InferenceService", "model-unvetted")


def test_tag_only_image_volume_is_denied_even_when_its_digest_was_vetted(setup: Setup) -> None:
    tagged = setup.vetted.image.split("@", 1)[0] + ":v1"
    _assert_denied(_create(setup, _image_pod("tagged", tagged), dry_run=True), "Pod")
