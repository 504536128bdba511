"""What ``registry list`` and ``registry show`` print: only what the signature covers.

Every field is decoded from the verdict's payload, never taken from a registry's index (its
columns or ``spec`` fields are unsigned). Without keys the fields are marked unverified. With
keys, ``Standing`` says whether admission would admit on the verdict: the newest stored one by
signed time whose signature verifies, still fresh, with outcome ``allow``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelward.engine.verdicts.registry.newest import newest_claimed, newest_verified
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, VerdictCheck, VerdictKeys

UNVERIFIED_NOTE = (
    "unverified: these fields are what the payloads claim; no signature was checked "
    "(pass --key PUB to check them and see whether admission would admit)"
)


@dataclass(frozen=True)
class Standing:
    """One reference's verdict as shown, and (with keys) whether admission would admit on it."""

    reference: str  # as looked up (canonical)
    signed: SignedVerdict
    verdict: Verdict | None  # the decoded payload (verified only when ``verified``)
    verified: bool  # the signature verifies for ``reference`` with the given keys
    check: VerdictCheck | None  # None: no keys were given
    stored: int  # how many verdicts the registry holds for the reference

    @property
    def status(self) -> str:
        """unverified | admit | deny | revoked | expired | superseded | untrusted."""
        if self.check is None:
            return "unverified"
        if self.check.trusted and self.check.verdict is not None:
            outcome = self.check.verdict.outcome
            return "admit" if outcome == "allow" else "revoked" if outcome == "revoked" else "deny"
        word = self.check.reason.split(":", 1)[0]
        return word if self.verified and word in ("expired", "superseded") else "untrusted"

    @property
    def admit(self) -> bool:
        return self.status == "admit"

    @property
    def reason(self) -> str:
        if self.check is None:
            return UNVERIFIED_NOTE
        if not self.check.trusted:
            return self.check.reason
        verdict = self.check.verdict
        if verdict is not None and verdict.revocation is not None:
            revocation = verdict.revocation
            return f"revoked by {revocation.revoked_by}: {revocation.reason}"
        outcome = verdict.outcome if verdict else "unknown"
        return "" if outcome == "allow" else f"the signed verdict's outcome is {outcome}"


def standing(
    candidates: Sequence[SignedVerdict], reference: str, keys: VerdictKeys | None
) -> Standing | None:
    """The verdict that counts for ``reference`` (None when nothing is stored)."""
    if keys is None:
        chosen = newest_claimed(candidates)
        if chosen is None:
            return None
        return Standing(
            reference, chosen, chosen.unverified_verdict(), False, None, len(candidates)
        )
    chosen = newest_verified(candidates, reference, keys)
    if chosen is None:
        return None
    verified = keys.verify(chosen, reference).trusted
    check = keys.check(chosen, reference)
    payload = chosen.unverified_verdict()
    return Standing(reference, chosen, payload, verified, check, len(candidates))


def fields(view: Standing) -> dict[str, Any]:
    """The displayed fields, from the payload (``key_id``: the key that verified, if any)."""
    verdict = view.verdict
    claimed = [s.get("keyid") for s in view.signed.envelope.get("signatures") or []]
    key = view.check.key_id if view.check is not None and view.verified else None
    return {
        "reference": verdict.reference if verdict else None,
        "digest": verdict.digest if verdict else None,
        "created_at": verdict.created_at if verdict else None,
        "expires_at": verdict.expires_at if verdict else None,
        "outcome": verdict.outcome if verdict else None,
        "key_id": key or next((k for k in claimed if isinstance(k, str)), None),
        "scope": verdict.scope.model_dump() if verdict and verdict.scope else None,
        "revocation": (verdict.revocation.model_dump() if verdict and verdict.revocation else None),
    }


def to_json(view: Standing, *, full: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {**fields(view), "verified": view.verified, "status": view.status}
    doc["reason"] = view.reason
    if view.verdict is None or view.verdict.reference != view.reference:
        doc["stored_as"] = view.reference
    if full:
        doc["stored"] = view.stored
        doc["envelope"] = view.signed.envelope
        doc["verdict"] = (
            None if view.verdict is None else view.verdict.model_dump(mode="json", by_alias=True)
        )
        if view.check is not None:
            doc["check"] = {
                "trusted": view.check.trusted,
                "reason": view.check.reason,
                "key_id": view.check.key_id,
                "admit": view.admit,
            }
    return doc


def show_lines(view: Standing) -> list[str]:
    shown = fields(view)
    lines = [f"{name:<10} {value}\n" for name, value in _rows(view, shown)]
    if view.check is None:
        lines.append(
            "signature  NOT CHECKED: every field above is unverified, what the payload claims "
            "(pass --key PUB to check it and see whether admission would admit)\n"
        )
    elif not view.verified:
        lines.append(f"signature  UNTRUSTED: {view.check.reason}\n")
        lines.append("           (the fields above are what the payload claims)\n")
    else:
        lines.append(f"signature  verified (key {shown['key_id']})\n")
    if view.check is not None:
        verdict = "ADMIT" if view.admit else f"NOT ADMITTED ({view.status}): {view.reason}"
        lines.append(f"admission  {verdict}\n")
    if view.stored > 1:
        which = "the newest whose signature verifies" if view.check else "the newest claimed"
        lines.append(f"stored     {view.stored} verdicts for this reference; shown: {which}\n")
    if view.verdict is not None:
        for finding in view.verdict.decision.deny:
            lines.append(f"  deny [{finding.id}] {finding.msg}\n")
        for finding in view.verdict.decision.warn:
            lines.append(f"  warn [{finding.id}] {finding.msg}\n")
    return lines


def deployment_lines(running: list[dict[str, Any]] | None) -> list[str]:
    """Where the model runs, as the last ``modelward inventory --record`` saw it."""
    if running is None:
        return []
    if not running:
        return ["running    nowhere (modelward inventory --record found no workload)\n"]
    lines = [f"running    as of {running[0]['recorded_at']} (modelward inventory --record):\n"]
    for row in running:
        where = f"{row['namespace']}/{row['kind']}/{row['name']}"
        lines.append(f"  {where} container {row['container']} since {row['since'] or '-'}"
                     f" digest {row['digest'] or '-'}\n")  # fmt: skip
    return lines


def _rows(view: Standing, shown: dict[str, Any]) -> list[tuple[str, Any]]:
    if view.verdict is None:
        return [("reference", view.reference), ("payload", "unreadable: not a verdict")]
    expires = shown["expires_at"] or "- (none signed: admission applies its default maximum age)"
    rows = [
        ("reference", shown["reference"]),
        ("outcome", shown["outcome"]),
        ("digest", shown["digest"] or "-"),
        ("created", shown["created_at"]),
        ("expires", expires),
        ("key", shown["key_id"] or "-"),
    ]
    if view.verdict.scope is not None:
        rows.append(("scope", view.verdict.scope.describe()))
    if view.verdict.revocation is not None:
        revocation = view.verdict.revocation
        rows.insert(2, ("revoked", f"by {revocation.revoked_by}: {revocation.reason}"))
    if shown["reference"] != view.reference:
        rows.insert(1, ("stored as", view.reference))
    return rows


def table(views: Sequence[Standing]) -> list[str]:
    """``registry list`` as aligned columns; the STATUS column says what was checked."""
    rows = [("REFERENCE", "OUTCOME", "CREATED", "EXPIRES", "KEY", "STATUS")]
    for view in views:
        shown = fields(view)
        rows.append((
            str(shown["reference"] or view.reference),
            str(shown["outcome"] or "-"),
            str(shown["created_at"] or "-"),
            str(shown["expires_at"] or "-"),
            str(shown["key_id"] or "-")[:19],
            view.status,
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=False)) + f"  {r[5]}\n"
            for r in rows]  # fmt: skip
