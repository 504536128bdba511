"""``Decision``: the outcome of evaluating policy on one input. A deny is a value."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class PolicyFinding(BaseModel):
    """One deny or warn result, as built by the ``modelward.lib.finding`` helper."""

    model_config = ConfigDict(extra="allow")

    id: str
    msg: str
    severity: str = "high"
    remediation: str = ""
    title: str = ""
    policy: str = ""


class Decision(BaseModel):
    outcome: Literal["allow", "deny", "error"]
    deny: list[PolicyFinding] = []
    warn: list[PolicyFinding] = []
    error: str | None = None
    engine: str
    bundle_revision: str
    seconds: float = 0.0

    @classmethod
    def from_results(
        cls, deny: list[dict[str, Any]], warn: list[dict[str, Any]], **meta: Any
    ) -> Decision:
        findings = [PolicyFinding.model_validate(f) for f in _sorted(deny)]
        return cls(
            outcome="deny" if findings else "allow",
            deny=findings,
            warn=[PolicyFinding.model_validate(f) for f in _sorted(warn)],
            **meta,
        )

    @classmethod
    def failed(cls, reason: str, **meta: Any) -> Decision:
        return cls(outcome="error", error=reason, **meta)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _sorted(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (str(f.get("id")), str(f.get("msg"))))
