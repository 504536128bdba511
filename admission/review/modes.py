"""Which mode a namespace runs in (enforce, warn, dry-run), and whether it is exempt."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import get_args

from modelward.admission.config import Mode, WebhookConfig

MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True)
class NamespacePolicy:
    """How requests in one namespace are handled."""

    mode: str
    exempt: bool
    labels: Mapping[str, str] | None  # None: not known
    note: str = ""  # why the default mode applies although a label is set


def namespace_policy(
    config: WebhookConfig,
    namespace: str,
    labels_of: Callable[[str], Mapping[str, str] | None],
) -> NamespacePolicy:
    """The mode from the namespace label ``config.mode_label``, else ``config.default_mode``.

    An unknown label value falls back to the default mode (and says so); a failing label lookup
    counts as "labels not known".
    """
    exempt = bool(namespace) and namespace in config.exempt_namespaces
    labels = _labels(labels_of, namespace) if namespace else None
    value = labels.get(config.mode_label) if labels is not None else None
    if value is None:
        return NamespacePolicy(config.default_mode, exempt, labels)
    if value in MODES:
        return NamespacePolicy(value, exempt, labels)
    note = (
        f"namespace label {config.mode_label}={value!r} is not one of {', '.join(MODES)}; "
        f"using {config.default_mode}"
    )
    return NamespacePolicy(config.default_mode, exempt, labels, note)


def _labels(
    labels_of: Callable[[str], Mapping[str, str] | None], namespace: str
) -> Mapping[str, str] | None:
    try:
        labels = labels_of(namespace)
    except Exception:  # a broken label source must not decide the request
        return None
    if labels is None or not isinstance(labels, Mapping):
        return None
    return {str(k): str(v) for k, v in labels.items()}
