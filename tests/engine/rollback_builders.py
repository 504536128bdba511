"""Verdict rollback, as someone who can write a registry but holds no signing key would try it.

Every scenario starts from an older signed *allow* and a newer signed *deny* for one reference.
The attacks change only what the signature does not cover (SQLite columns, ``ModelVerdict``
``spec`` fields, which rows or objects exist) or store genuine signed envelopes where they do
not belong (an old one again, another model's).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from modelward.engine.decision import Decision, PolicyFinding
from modelward.engine.verdicts.freshness import format_time
from modelward.engine.verdicts.registry.modelverdict import (
    GROUP,
    PLURAL,
    VERSION,
    resource_name,
    to_resource,
)
from modelward.engine.verdicts.signed import SignedVerdict, Verdict, sign_verdict

HOUR = timedelta(hours=1)
FAR_FUTURE = "2100-01-01T00:00:00Z"
ATTACKS = ("reorder", "delete-newest", "reapply-old", "replay")


def at(moment: datetime) -> str:
    return format_time(moment)


def now() -> datetime:
    return datetime.now(UTC)


def decision(outcome: str) -> Decision:
    deny = []
    if outcome == "deny":
        deny = [PolicyFinding(id="unsafe-serialization", msg="os.system in data.pkl")]
    return Decision(outcome=outcome, deny=deny, engine="embedded", bundle_revision="test")  # type: ignore[arg-type]


def make_signed(
    private_pem: bytes,
    reference: str,
    outcome: str,
    created: datetime,
    *,
    expires: datetime | None = None,
    facts: dict[str, Any] | None = None,
) -> SignedVerdict:
    facts = facts or {"schema": "modelward.dev/facts/v1", "subject": {"ref": reference}}
    verdict = Verdict(
        reference=reference,
        digest=facts["subject"].get("digest"),
        created_at=at(created),
        decision=decision(outcome),
        facts=facts,
        expires_at=None if expires is None else at(expires),
    )
    return sign_verdict(verdict, private_pem)


@dataclass(frozen=True)
class History:
    """An older allow and a newer deny for ``reference``."""

    reference: str
    allow: SignedVerdict
    deny: SignedVerdict


def history(
    private_pem: bytes,
    reference: str,
    *,
    allow_expires: datetime | None = None,
    facts: dict[str, Any] | None = None,
    base: datetime | None = None,
) -> History:
    base = base or now()
    allow = make_signed(
        private_pem, reference, "allow", base - 2 * HOUR, expires=allow_expires, facts=facts
    )
    deny = make_signed(private_pem, reference, "deny", base - HOUR, facts=facts)
    return History(reference, allow, deny)


# --- SQLite: the file, written directly --------------------------------------------------------


def _stored(signed: SignedVerdict) -> str:
    return json.dumps(signed.envelope, sort_keys=True)  # as SqliteRegistry.put writes it


def sql(path: Path, statement: str, *args: Any) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(statement, args).rowcount


def reorder_columns(path: Path, older: SignedVerdict, newer: SignedVerdict) -> None:
    """Make the index say the older verdict is newest, and relabel both as allow."""
    sql(path, "UPDATE verdicts SET created_ts = 4102444800, created_at = ?, outcome = 'allow' "
        "WHERE envelope = ?", FAR_FUTURE, _stored(older))  # fmt: skip
    sql(path, "UPDATE verdicts SET created_ts = 0, created_at = '1970-01-01T00:00:00Z', "
        "outcome = 'allow' WHERE envelope = ?", _stored(newer))  # fmt: skip


def delete_rows(path: Path, signed: SignedVerdict) -> None:
    assert sql(path, "DELETE FROM verdicts WHERE envelope = ?", _stored(signed)) >= 1


def insert_row(path: Path, reference: str, signed: SignedVerdict) -> None:
    """Store ``signed``'s envelope under ``reference``, with an index claiming it is newest."""
    sql(path, "INSERT INTO verdicts (reference, digest, created_at, created_ts, outcome, key_id, "
        "envelope) VALUES (?, NULL, ?, 4102444800, 'allow', ?, ?)", reference, FAR_FUTURE,
        signed.key_id, _stored(signed))  # fmt: skip


def sqlite_attack(path: Path, attack: str, story: History, other: SignedVerdict) -> None:
    """Apply one of ``ATTACKS`` to a registry holding ``story``; ``other``: another model's."""
    if attack == "reorder":
        reorder_columns(path, story.allow, story.deny)
    elif attack == "delete-newest":
        delete_rows(path, story.deny)
    elif attack == "reapply-old":
        insert_row(path, story.reference, story.allow)  # the old envelope, stored anew
    elif attack == "replay":
        insert_row(path, story.reference, other)
    else:
        raise ValueError(attack)


# --- Kubernetes: ModelVerdict objects, written with the API --------------------------------------


def _objects(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def read_object(api: client.ApiClient, namespace: str, reference: str) -> dict[str, Any]:
    found: dict[str, Any] = _objects(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, resource_name(reference)
    )
    return found


def replace_object(
    api: client.ApiClient, namespace: str, reference: str, body: dict[str, Any]
) -> None:
    body["metadata"]["resourceVersion"] = read_object(api, namespace, reference)["metadata"][
        "resourceVersion"
    ]
    _objects(api).replace_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, resource_name(reference), body
    )


def object_for(reference: str, signed: SignedVerdict) -> dict[str, Any]:
    """A ModelVerdict for ``reference`` holding ``signed``'s envelope (index fields: allow)."""
    body = to_resource(signed)
    body["metadata"]["name"] = resource_name(reference)
    body["spec"].update(reference=reference, outcome="allow", createdAt=FAR_FUTURE)
    return body


def kubernetes_attack(
    api: client.ApiClient, namespace: str, attack: str, story: History, other: SignedVerdict
) -> None:
    """``sqlite_attack`` for a reference's ModelVerdict (one object per reference)."""
    reference = story.reference
    if attack == "reorder":  # the deny's unsigned spec fields say allow, and newest
        body = read_object(api, namespace, reference)
        body["spec"].update(outcome="allow", createdAt=FAR_FUTURE)
        _objects(api).replace_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, resource_name(reference), body
        )
    elif attack == "delete-newest":  # delete the deny, create the old allow in its place
        _objects(api).delete_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, resource_name(reference)
        )
        _objects(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, object_for(reference, story.allow)
        )
    elif attack == "reapply-old":  # replace the object with the old signed envelope
        replace_object(api, namespace, reference, object_for(reference, story.allow))
    elif attack == "replay":  # another model's allow under this reference's name
        replace_object(api, namespace, reference, object_for(reference, other))
    else:
        raise ValueError(attack)
