"""The webhook configuration file (YAML), as the Helm chart mounts it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelward.admission.errors import ConfigError
from modelward.engine.errors import PolicyError, validation_problems, yaml_problem
from modelward.engine.verdicts.freshness import MAX_MARKS, parse_max_age
from modelward.engine.verdicts.registry import default_registry_url

Mode = Literal["enforce", "warn", "dry-run"]
MAX_REFERENCES = 32
MAX_EVALUATIONS = 2 * MAX_REFERENCES  # every reference of a full object, in two parts
MAX_REVIEWS_PER_USER = 4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    """Where signed verdicts are looked up."""

    type: Literal["sqlite", "kubernetes"] = "sqlite"
    # sqlite; None: the default registry of every command ($MODELWARD_REGISTRY, else
    # $XDG_DATA_HOME/modelward/verdicts.db)
    path: Path | None = None
    namespace: str = "modelward"  # kubernetes: where ModelVerdict resources live


class VerdictFreshnessConfig(_Strict):
    """How fresh a verdict must be (docs/verdicts.md, "Freshness")."""

    # Verdicts without a signed expires_at are trusted this long after their signed created_at.
    default_max_age: str = "30d"
    # References whose newest signed created_at the webhook remembers (least recently used go).
    remembered_references: int = Field(default=MAX_MARKS, ge=1, le=10_000_000)

    @field_validator("default_max_age", mode="before")
    @classmethod
    def _max_age(cls, value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = f"{int(value)}s"
        if not isinstance(value, str):
            raise ValueError("expected a maximum age such as 30d, 12h, 90m or 3600s")
        parse_max_age(value)
        return value

    @property
    def max_age(self) -> timedelta:
        return parse_max_age(self.default_max_age)


class KubernetesConfig(_Strict):
    """How the webhook reaches the API server (namespace labels, ModelVerdict watch)."""

    access: Literal["auto", "in-cluster", "kubeconfig", "off"] = "auto"
    kubeconfig: Path | None = None


class AutoVettingConfig(_Strict):
    """Whether the webhook asks the cluster to vet references it denies for lack of a verdict
    (docs/admission.md, "Requesting vetting automatically")."""

    enabled: bool = False
    # Only in namespaces that carry this label with the value "true".
    namespace_label: str = Field(default="modelward.dev/auto-vet", min_length=1)


class WebhookConfig(_Strict):
    policies: Path | None = None  # policy bundle directory; None: the built-in library
    data: Path | None = None  # YAML/JSON whose top-level keys replace the bundle's config
    engine: Literal["embedded", "opa"] = "embedded"
    opa_url: str | None = None
    registry: RegistryConfig = RegistryConfig()
    verdict_keys: list[Path] = []  # PEM public keys; a verdict signed by any other is untrusted
    verdict_freshness: VerdictFreshnessConfig = VerdictFreshnessConfig()
    default_mode: Mode = "enforce"
    mode_label: str = "modelward.dev/mode"
    # The namespace label whose value is the namespace's environment (verdict scopes: env=).
    environment_label: str = Field(default="modelward.dev/environment", min_length=1)
    # Admission warns when a trusted verdict expires within this many days (0: never).
    verdict_expiry_warning_days: float = Field(default=14, ge=0, le=3660)
    exempt_namespaces: list[str] = []
    reference_annotation: str = "modelward.dev/models"
    deadline_seconds: float = Field(default=3.0, gt=0, le=29)
    # Work one review may cause: distinct (container, model) references in the object, and
    # policy evaluations (a remembered model part is free). More is denied, not evaluated.
    max_references: int = Field(default=MAX_REFERENCES, ge=1, le=10_000)
    max_evaluations: int = Field(default=MAX_EVALUATIONS, ge=1, le=100_000)
    # Reviews of one requester (userInfo.username) decided at once; the others wait their turn.
    # 0: no per-requester limit.
    max_reviews_per_user: int = Field(default=MAX_REVIEWS_PER_USER, ge=0, le=10_000)
    audit_log: str | None = None  # a file path, "-" for stdout, None for no audit log
    kubernetes: KubernetesConfig = KubernetesConfig()
    auto_vetting: AutoVettingConfig = AutoVettingConfig()


def load_webhook_config(path: Path | None) -> WebhookConfig:
    """Read and validate the configuration; ``None`` gives the defaults."""
    if path is None:
        return WebhookConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the webhook configuration: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(str(path), exc)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the webhook configuration must be a mapping")
    try:
        config = WebhookConfig.model_validate(raw)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise ConfigError(f"{path}: invalid webhook configuration: {problems}") from exc
    config = _relative_to(config, path.parent)
    if config.data is not None:
        _check_policy_data(config.policies, config.data, path)
    return config


def _check_policy_data(policies: Path | None, data: Path, path: Path) -> None:
    """The ``data:`` file is schema-checked when the configuration loads, as for the CLI.

    A bundle that cannot load is reported when the policies load (it may not be mounted yet).
    """
    from modelward.engine.policy.bundle import PolicyBundle, apply_data

    try:
        bundle = PolicyBundle.load(policies)
    except PolicyError:
        return
    try:
        apply_data(bundle, data)
    except PolicyError as exc:
        raise ConfigError(f"{path}: data: {exc.diagnostics()}") from None


def registry_url(config: WebhookConfig) -> str:
    """The configured registry as a URL: ``kubernetes://NAMESPACE``, the SQLite path, or (no
    path) the default registry every command uses."""
    settings = config.registry
    if settings.type == "kubernetes":
        return f"kubernetes://{settings.namespace}"
    return str(settings.path) if settings.path is not None else default_registry_url()


def _relative_to(config: WebhookConfig, base: Path) -> WebhookConfig:
    """Resolve relative paths against the configuration file's folder."""

    def fix(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else base / p

    update: dict[str, object] = {}
    for name in ("policies", "data"):
        value = getattr(config, name)
        if value is not None and not value.is_absolute():
            update[name] = fix(value)
    update["verdict_keys"] = [p if p.is_absolute() else base / p for p in config.verdict_keys]
    if config.registry.path is not None and not config.registry.path.is_absolute():
        registry_path = base / config.registry.path
        update["registry"] = config.registry.model_copy(update={"path": registry_path})
    if config.audit_log not in (None, "-") and not Path(config.audit_log).is_absolute():
        update["audit_log"] = str(base / config.audit_log)
    kc = config.kubernetes.kubeconfig
    if kc is not None and not kc.is_absolute():
        update["kubernetes"] = config.kubernetes.model_copy(update={"kubeconfig": base / kc})
    return config.model_copy(update=update)
