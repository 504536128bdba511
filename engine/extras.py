"""Optional dependencies: which extra brings which library, and the error when one is missing.

The base install scans local models on the embedded engine. The Hub, Kubernetes, the webhook
server, the OPA client and signature verification are extras; code that needs one imports it
inside ``with requires(extra, feature):`` so a missing library becomes ``MissingExtra`` (exit
code 2, one line naming the extra) instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from modelward.engine.errors import Error

#: Top-level import name -> the extra that installs it (docs/dependencies.md says why).
EXTRA_OF_MODULE: Final[dict[str, str]] = {
    "huggingface_hub": "hub",
    "httpx2": "hub",
    "kubernetes": "kubernetes",
    "urllib3": "kubernetes",
    "uvicorn": "webhook",
    "httptools": "webhook",
    "uvloop": "webhook",
    "prometheus_client": "webhook",
    "opa_client": "opa",
    "requests": "opa",
    "aiohttp": "opa",
    "model_signing": "signing",
    "sigstore": "signing",
    "sigstore_models": "signing",
    "OpenSSL": "signing",
    "oras": "oci",
    "zstandard": "oci",
    "boto3": "s3",
    "botocore": "s3",
    "onnxruntime": "behaviour",
}


class MissingExtra(Error):
    """A feature whose optional dependencies are not installed."""

    def __init__(self, extra: str, feature: str, module: str) -> None:
        super().__init__(
            f"{feature}: the {extra!r} extra is not installed (no module {module!r}); "
            f"install it with: pip install 'modelward[{extra}]'"
        )
        self.extra = extra
        self.feature = feature
        self.module = module


@contextmanager
def requires(extra: str, feature: str) -> Iterator[None]:
    """Turn an import that fails inside the block into ``MissingExtra`` naming ``extra``."""
    try:
        yield
    except ImportError as exc:
        raise MissingExtra(extra, feature, _missing_name(exc)) from exc


def missing_extra(exc: BaseException) -> MissingExtra | None:
    """``MissingExtra`` for an optional library that failed to import anywhere, else None."""
    if not isinstance(exc, ModuleNotFoundError):
        return None
    module = _missing_name(exc)
    extra = EXTRA_OF_MODULE.get(module.partition(".")[0])
    if extra is None:
        return None
    return MissingExtra(extra, "this command", module)


def _missing_name(exc: ImportError) -> str:
    return exc.name or str(exc)
