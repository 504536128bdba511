"""Build a controller from its configuration: API access, key, policies, registry."""

from __future__ import annotations

import socket

from modelward.controller.cluster import ClusterApi
from modelward.controller.config import ControllerConfig, ControllerConfigError
from modelward.controller.loop import Controller
from modelward.controller.publisher import Publisher
from modelward.engine.kubeclient import api_client
from modelward.engine.policy.bundle import load_bundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.verdicts.auditlog.entry import EntrySigner
from modelward.engine.verdicts.keys import read_private_key
from modelward.engine.verdicts.registry import check_registry_url, open_registry


def build_controller(config: ControllerConfig, identity: str | None = None) -> Controller:
    access = config.kubernetes
    client = api_client(access.access, access.kubeconfig)
    if client is None:
        raise ControllerConfigError("no Kubernetes credentials (not in a cluster, no kubeconfig)")
    check_registry_url(config.registry, writing=True)
    key = read_private_key(config.signing_key)
    actor = f"controller:{identity or socket.gethostname()}"
    audit = EntrySigner(key, actor, "controller publication")
    registry = open_registry(config.registry, api_client=client, audit=audit)
    publisher = Publisher(
        load_bundle(config.policies, config.data),
        EmbeddedEvaluator(),
        key,
        registry,
        config.max_age,
    )
    controller = Controller(
        config=config, api=ClusterApi(client, config.namespace), publisher=publisher
    )
    if identity:
        controller.identity = identity
    return controller
