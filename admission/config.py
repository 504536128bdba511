"""The webhook configuration file (YAML), as the Helm chart mounts it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelward.admission.errors import ConfigError

Mode = Literal["enforce", "warn", "dry-run"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    """Where signed verdicts are looked up."""

    type: Literal["sqlite", "kubernetes"] = "sqlite"
    path: Path = Path("verdicts.db")  # sqlite
    namespace: str = "modelward"  # kubernetes: where ModelVerdict resources live


class KubernetesConfig(_Strict):
    """How the webhook reaches the API server (namespace labels, ModelVerdict watch)."""

    access: Literal["auto", "in-cluster", "kubeconfig", "off"] = "auto"
    kubeconfig: Path | None = None


class WebhookConfig(_Strict):
    policies: Path | None = None  # policy bundle directory; None: the built-in library
    data: Path | None = None  # YAML/JSON whose top-level keys replace the bundle's config
    engine: Literal["embedded", "opa"] = "embedded"
    opa_url: str | None = None
    registry: RegistryConfig = RegistryConfig()
    verdict_keys: list[Path] = []  # PEM public keys; a verdict signed by any other is untrusted
    default_mode: Mode = "enforce"
    mode_label: str = "modelward.dev/mode"
    exempt_namespaces: list[str] = []
    reference_annotation: str = "modelward.dev/models"
    deadline_seconds: float = Field(default=3.0, gt=0, le=29)
    audit_log: str | None = None  # a file path, "-" for stdout, None for no audit log
    kubernetes: KubernetesConfig = KubernetesConfig()


def load_webhook_config(path: Path | None) -> WebhookConfig:
    """Read and validate the configuration; ``None`` gives the defaults."""
    if path is None:
        return WebhookConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the webhook configuration: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the webhook configuration must be a mapping")
    try:
        config = WebhookConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{path}: invalid webhook configuration: {problems}") from exc
    return _relative_to(config, path.parent)


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
    if not config.registry.path.is_absolute():
        registry_path = base / config.registry.path
        update["registry"] = config.registry.model_copy(update={"path": registry_path})
    if config.audit_log not in (None, "-") and not Path(config.audit_log).is_absolute():
        update["audit_log"] = str(base / config.audit_log)
    kc = config.kubernetes.kubeconfig
    if kc is not None and not kc.is_absolute():
        update["kubernetes"] = config.kubernetes.model_copy(update={"kubeconfig": base / kc})
    return config.model_copy(update=update)
