"""Collectors: one per fact family, each ``collect(source, ctx) -> section``.

A collector that cannot do its job raises ``modelward.engine.errors.Error`` (or any exception);
the pipeline records ``status: error`` with the reason and the policies fail closed on it. A
collector with nothing to do raises ``CollectorSkipped`` (status ``skipped``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modelward.engine.source import ModelSource


def _no_progress(_: int) -> None:
    return None


class CollectorSkipped(Exception):
    """Raised by a collector that does not apply to this model (the reason is recorded)."""


@dataclass(frozen=True)
class SignatureOptions:
    """How to verify a model signature (``modelward scan``/``verify`` options)."""

    signature: Path | None = None  # default: model.sig in the model root
    key: Path | None = None  # EC public key (PEM)
    certificate_chain: tuple[Path, ...] = ()  # trust anchors for certificate signatures
    identity: str | None = None  # expected sigstore identity
    issuer: str | None = None  # expected sigstore OIDC issuer
    trust_root: Path | None = None  # sigstore trusted_root.json or client trust config


@dataclass(frozen=True)
class BehaviourOptions:
    """The opt-in behaviour analysis (``--behaviour``): probe inputs, time budget, progress."""

    probe_inputs: Path | None = None
    budget_seconds: float = 60.0
    progress: Callable[[float | None, str], None] | None = None


@dataclass(frozen=True)
class CollectOptions:
    signature: SignatureOptions = field(default_factory=SignatureOptions)
    bom: Path | None = None  # an ML-BOM given on the command line
    trusted_publishers: tuple[str, ...] = ()  # from the policy config, for look-alike checks
    vuln_db: Path | None = None  # offline OSV database (a directory of JSON files or a zip)
    well_known_packages: tuple[str, ...] = ()  # policy config: more names to guard
    dependency_allowlist: tuple[str, ...] = ()  # policy config: never reported as confusable
    behaviour: BehaviourOptions | None = None  # None: the behaviour analysis is not run
    hash_threads: int | None = None  # threads hashing one model's files (None: one per CPU)


@dataclass
class CollectContext:
    """What a collector may read besides the source: options, earlier sections, progress."""

    options: CollectOptions = field(default_factory=CollectOptions)
    sections: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[int], None] = _no_progress


class Collector(Protocol):
    name: str

    def collect(self, source: ModelSource, ctx: CollectContext) -> Any: ...
