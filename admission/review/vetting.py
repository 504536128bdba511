"""Which denied references the webhook asks the cluster to vet, and how the answer says so.

Opt-in (``auto_vetting``): in a namespace labelled ``<namespace_label>=true``, a reference that is
denied only for want of a verdict (``model-unvetted``: no verdict stored, a pinned reference that
parses) becomes a ``VettingRequest``. The core only lists them; the server creates the
``ModelVetting`` resources after answering. A dry-run request lists none (``sideEffects:
NoneOnDryRun``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modelward.admission.config import AutoVettingConfig
from modelward.admission.review.context import NO_VERDICT
from modelward.admission.review.judge import ModelResult
from modelward.admission.review.request import AdmissionRequest
from modelward.admission.review.responses import MAX_WARNING_CHARS
from modelward.engine.vetting.resource import vetting_name

MODEL_UNVETTED = "model-unvetted"


@dataclass(frozen=True)
class VettingRequest:
    """Vet ``reference`` (canonical) in ``namespace``; ``reason`` says who needed it."""

    namespace: str
    reference: str
    reason: str = ""

    @property
    def name(self) -> str:
        """The ModelVetting's name (one per reference and namespace)."""
        return vetting_name(self.reference)

    def watch_command(self) -> str:
        return f"kubectl get modelvetting -n {self.namespace} {self.name} -w"


def vetting_requests(
    settings: AutoVettingConfig,
    request: AdmissionRequest,
    labels: Mapping[str, str] | None,
    models: Sequence[ModelResult],
) -> tuple[VettingRequest, ...]:
    """The references of ``models`` to request vetting for: none unless enabled, the request's
    namespace has ``labels`` with the label set to "true", and it is not a dry run."""
    if not settings.enabled or request.dry_run or not request.namespace or labels is None:
        return ()
    if labels.get(settings.namespace_label) != "true":
        return ()
    references = dict.fromkeys(r.ref.reference for r in models if needs_vetting(r))
    if not references:
        return ()
    user = f" ({request.username})" if request.username else ""
    reason = f"needed by {request.workload}{user} at admission"
    return tuple(VettingRequest(request.namespace, ref, reason) for ref in references if ref)


def needs_vetting(result: ModelResult) -> bool:
    """Denied because no verdict is stored for a pinned reference that parses; vetting it may
    admit it. Not: a verdict that denies or does not verify, an unresolvable or unpinned
    reference, a registry that did not answer."""
    ref, verdict = result.ref, result.verdict
    if ref.reference is None or not ref.pinned or verdict.present:
        return False
    return verdict.reason == NO_VERDICT and any(f.id == MODEL_UNVETTED for f in result.deny)


def vetting_message(requests: Sequence[VettingRequest]) -> str:
    """The deny message's part about the requests ("" for none)."""
    if not requests:
        return ""
    commands = "; ".join(r.watch_command() for r in requests)
    them = "it has" if len(requests) == 1 else "they have"
    return f"vetting requested: {commands}; apply again once {them} succeeded"


def vetting_warnings(requests: Sequence[VettingRequest]) -> list[str]:
    """One warning per request, each within the API server's limit per warning."""
    lines = []
    for request in requests:
        line = f"vetting requested: {request.watch_command()}"
        if len(line) > MAX_WARNING_CHARS:  # a long namespace: name the resource, not the command
            line = f"vetting requested: modelvetting {request.name} in the workload's namespace"
        lines.append(line)
    return lines
