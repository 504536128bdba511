"""``modelward inventory``: which model (reference and digest) runs where, since when.

Computed from the cluster itself by the audit pass (``audit.audit_pass``): every workload's
model references, as admission extracts them, with the digest of the verdict admission trusts
for each (``-`` when none is trusted) and the workload's ``creationTimestamp``. Nothing is
stored: the live workloads are the inventory, so it cannot drift from what runs. The webhook's
audit records carry the same digest per admitted model, for a history of admissions.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.admission.audit import Audited, KubeconfigOpt, NamespaceOpt, audit_pass
from modelward.admission.commands import ConfigOpt, RegistryOpt
from modelward.admission.review.core import ReviewResult

COLUMNS = ("NAMESPACE", "WORKLOAD", "CONTAINER", "MODEL", "DIGEST", "SINCE", "DECISION")


class InventoryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Deployment:
    """One model in one container of one workload."""

    namespace: str
    kind: str
    name: str
    container: str
    reference: str
    digest: str | None  # of the verdict admission trusts; None when none is trusted
    since: str | None  # the workload's creationTimestamp
    decision: str  # allow | warn | deny

    def cells(self) -> tuple[str, ...]:
        return (self.namespace, f"{self.kind}/{self.name}", self.container, self.reference,
                self.digest or "-", self.since or "-", self.decision)  # fmt: skip


def inventory_command(
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    registry: RegistryOpt = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Only the workloads running this model.")
    ] = None,
    output: Annotated[
        InventoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = InventoryFormat.table,
    out_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="Also store it with the registry's verdicts (`registry show`)."
        ),
    ] = False,
) -> None:
    """Which model (reference, verdict digest) runs in which namespace/workload/container."""
    audited = audit_pass(config, kubeconfig, namespace, registry)
    found = deployments(audited.objects, audited.results)
    if record:
        where = record_snapshot(audited, registry, found)
        typer.echo(f"inventory recorded in {where}", err=True)
    if reference is not None:
        found = [d for d in found if reference in (d.reference, d.digest)]
    text = RENDER[output](found)
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        out_file.write_text(text, encoding="utf-8")


def deployments(
    objects: Sequence[dict[str, Any]], results: Sequence[ReviewResult]
) -> list[Deployment]:
    """The models of ``objects`` (judged as ``results``, same order), by namespace and name."""
    found: list[Deployment] = []
    for obj, result in zip(objects, results, strict=True):
        metadata = obj.get("metadata") or {}
        for model in result.audit.get("models") or []:
            verdict = model.get("verdict") or {}
            decision = "deny" if model.get("deny") else "warn" if model.get("warn") else "allow"
            found.append(Deployment(
                namespace=str(metadata.get("namespace") or ""),
                kind=str(obj.get("kind")),
                name=str(metadata.get("name")),
                container=str(model.get("container") or model.get("origin") or "-"),
                reference=str(model.get("reference") or model.get("raw") or "-"),
                digest=verdict.get("digest") if verdict.get("trusted") else None,
                since=metadata.get("creationTimestamp"),
                decision=decision,
            ))  # fmt: skip
    return sorted(found, key=lambda d: (d.namespace, d.kind, d.name, d.container, d.reference))


def record_snapshot(audited: Audited, registry: str | None, found: list[Deployment]) -> str:
    """Store ``found`` with the registry's verdicts (replacing the last snapshot)."""
    from modelward.admission.config import registry_url
    from modelward.engine.verdicts.registry import RegistryUnavailable, open_registry
    from modelward.engine.verdicts.registry.deployments import FIELDS, Snapshot
    from modelward.engine.verdicts.signed import utc_now

    url = registry or registry_url(audited.settings)
    client = audited.client if url.startswith("kubernetes://") else None
    store = open_registry(url, api_client=client)
    keep = getattr(store, "record_deployments", None)
    if keep is None:
        raise RegistryUnavailable(f"{url}: this registry keeps no inventory")
    keep(Snapshot(utc_now(), [{f: getattr(d, f) for f in FIELDS} for d in found]))
    return url


def render_table(found: Sequence[Deployment]) -> str:
    lines = [COLUMNS, *(d.cells() for d in found)]
    widths = [max(len(cells[i]) for cells in lines) for i in range(len(COLUMNS) - 1)]
    text = ["  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]])
            for cells in lines]  # fmt: skip
    return "\n".join([*text, f"{len(found)} model deployment(s)"]) + "\n"


def render_json(found: Sequence[Deployment]) -> str:
    return json.dumps({"deployments": [asdict(d) for d in found]}, indent=2) + "\n"


def render_csv(found: Sequence[Deployment]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = list(Deployment.__dataclass_fields__)
    writer.writerow(fields)
    writer.writerows([[getattr(d, f) or "" for f in fields] for d in found])
    return buffer.getvalue()


RENDER = {
    InventoryFormat.table: render_table,
    InventoryFormat.json: render_json,
    InventoryFormat.csv: render_csv,
}
