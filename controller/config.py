"""The controller configuration file (YAML), as the Helm chart mounts it (``controller.yaml``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from modelward.engine.errors import Error, validation_problems, yaml_problem
from modelward.engine.verdicts.freshness import parse_max_age


class ControllerConfigError(Error):
    """The controller configuration cannot be read or is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = f"{int(value)}s"
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30d, 12h, 90m or 3600s")
    parse_max_age(value)
    return value


class JobConfig(_Strict):
    """The Job each vetting runs in (one pod, hardened; docs/vetting.md)."""

    image: str = "modelward:0.1.0"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    image_pull_secrets: list[str] = []
    active_deadline_seconds: int = Field(default=900, ge=10, le=86_400)
    backoff_limit: int = Field(default=1, ge=0, le=10)
    ttl_seconds_after_finished: int = Field(default=3600, ge=0, le=604_800)
    resources: dict[str, dict[str, str]] = {
        "requests": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "50Gi"},
    }
    # Size of the emptyDir the model is downloaded to (a Kubernetes quantity).
    work_dir_size: str = "50Gi"
    # Extra environment for the worker (registry credentials helpers, proxies), name -> value.
    env: dict[str, str] = {}
    # Labels and annotations for the Job's pod (the NetworkPolicy selects the pod by labels).
    pod_labels: dict[str, str] = {}
    pod_annotations: dict[str, str] = {}
    node_selector: dict[str, str] = {}
    tolerations: list[dict[str, Any]] = []
    priority_class_name: str | None = None


class QueueConfig(_Strict):
    """How many vettings run at once, and how retries back off."""

    max_running: int = Field(default=4, ge=1, le=10_000)
    # Per namespace that asked; 0: only max_running applies. Namespaces take turns either way.
    max_running_per_namespace: int = Field(default=2, ge=0, le=10_000)
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    retry_max_seconds: float = Field(default=900.0, gt=0, le=86_400)


class RevetConfig(_Strict):
    """When verdicts are vetted again: a new scanner, a new policy bundle, or age."""

    enabled: bool = True
    # A verdict older than this is vetted again (its model may have new findings).
    max_age: str = "7d"
    # How often the verdicts are compared with the scanner and bundle in use.
    interval_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # Re-queued models per minute, at most (new detections reach admitted models gradually).
    per_minute: int = Field(default=10, ge=1, le=100_000)

    _check_age = field_validator("max_age", mode="before")(lambda cls, v: _duration(v))

    @property
    def max_age_delta(self) -> timedelta:
        return parse_max_age(self.max_age)


class LeaderElectionConfig(_Strict):
    """Replicas elect one leader through a coordination.k8s.io Lease."""

    enabled: bool = True
    lease_name: str = "modelward-controller"
    lease_seconds: int = Field(default=15, ge=2, le=600)
    renew_seconds: int = Field(default=10, ge=1, le=600)
    retry_seconds: int = Field(default=2, ge=1, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> LeaderElectionConfig:
        # The elector's own rule: lease > renew deadline > 1.2 x retry period.
        if not self.lease_seconds > self.renew_seconds > 1.2 * self.retry_seconds:
            raise ValueError("need lease_seconds > renew_seconds > 1.2 x retry_seconds")
        return self


class KubernetesAccess(_Strict):
    access: Literal["auto", "in-cluster", "kubeconfig"] = "auto"
    kubeconfig: Path | None = None


class ControllerConfig(_Strict):
    # Where the Jobs run and the Lease lives (the release namespace).
    namespace: str = "modelward"
    # Where verdicts are published: kubernetes://NAMESPACE (ModelVerdict) or a SQLite path.
    registry: str = "kubernetes://modelward"
    # The verdict signing key (PEM); $MODELWARD_KEY_PASSWORD unlocks an encrypted one.
    signing_key: Path
    # Policy bundle directory (None: the built-in library) and its configuration override.
    policies: Path | None = None
    data: Path | None = None
    # How long admission trusts a verdict the controller signs.
    verdict_max_age: str = "30d"
    # How often every ModelVetting is looked at (a watch wakes the controller sooner).
    resync_seconds: float = Field(default=10.0, gt=0, le=3600)
    job: JobConfig = JobConfig()
    queue: QueueConfig = QueueConfig()
    revet: RevetConfig = RevetConfig()
    leader_election: LeaderElectionConfig = LeaderElectionConfig()
    kubernetes: KubernetesAccess = KubernetesAccess()
    # Prometheus metrics and /healthz on this address and port (port 0: none).
    metrics_address: str = "0.0.0.0"  # noqa: S104  # the kubelet probes the pod's IP
    metrics_port: int = Field(default=9090, ge=0, le=65_535)

    _check_age = field_validator("verdict_max_age", mode="before")(lambda cls, v: _duration(v))

    @property
    def max_age(self) -> timedelta:
        return parse_max_age(self.verdict_max_age)


def load_controller_config(path: Path) -> ControllerConfig:
    """Read and validate ``path``; relative paths are taken from its folder."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ControllerConfigError(f"{path}: cannot read it: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ControllerConfigError(yaml_problem(str(path), exc)) from None
    if not isinstance(raw, dict):
        raise ControllerConfigError(f"{path}: the controller configuration must be a mapping")
    try:
        config = ControllerConfig.model_validate(raw)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise ControllerConfigError(f"{path}: invalid configuration: {problems}") from None
    update = {
        name: path.parent / value
        for name in ("signing_key", "policies", "data")
        if (value := getattr(config, name)) is not None and not value.is_absolute()
    }
    return config.model_copy(update=update)
