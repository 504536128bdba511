"""The verdict lifecycle from the command line: ``vet --scope``, ``registry revoke``, and what
``registry list|show`` say about them (SQLite registry)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from modelward.engine.verdicts.keys import write_keypair
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import sign_verdict
from tests.cli.helpers import run
from tests.cli.test_verdicts_cli import REAL_MODEL
from tests.engine.verdict_builders import REFERENCE, make_verdict


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    private, public, _ = write_keypair(tmp_path / "keys")
    db = tmp_path / "v.db"
    SqliteRegistry(db).put(sign_verdict(make_verdict(), private.read_bytes()))
    return db, private, public


def test_revoke_signs_a_revocation_that_show_and_list_report(tmp_path: Path) -> None:
    db, private, public = _setup(tmp_path)
    common = ("--registry", str(db))
    revoked = run("registry", "revoke", REFERENCE, "--reason", "backdoor reported", "--by",
                  "secops", "--signing-key", str(private), *common)  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"revoked {REFERENCE} (by secops, signed at ")

    shown = run("registry", "show", REFERENCE, "--key", str(public), *common)
    assert shown.returncode == 1
    assert "revoked    by secops: backdoor reported" in shown.stdout
    assert "outcome    revoked" in shown.stdout
    assert "not admitted (revoked): revoked by secops: backdoor reported" in shown.stderr

    listed = run("registry", "list", "--key", str(public), "--format", "json", *common)
    [row] = json.loads(listed.stdout)
    assert row["status"] == "revoked" and row["outcome"] == "revoked"
    assert row["revocation"]["reason"] == "backdoor reported"
    assert row["revocation"]["revoked_by"] == "secops"


def test_revoke_appends_a_signed_revocation_entry_to_the_audit_log(tmp_path: Path) -> None:
    db, private, public = _setup(tmp_path)
    revoked = run("registry", "revoke", REFERENCE, "--reason", "backdoor reported",
                  "--signing-key", str(private), "--registry", str(db))  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    log = tmp_path / "log.jsonl"
    exported = run("registry", "export-log", "--registry", str(db), "-o", str(log))
    assert exported.returncode == 0, exported.stderr
    lines = log.read_text().splitlines()
    entries = [json.loads(base64.b64decode(json.loads(line)["entry"]["payload"])) for line in lines]
    [entry] = [e for e in entries if e["kind"] == "revocation"]
    assert entry["reference"] == REFERENCE and entry["outcome"] == "revoked"
    assert entry["reason"] == "registry revoke: backdoor reported"
    verified = run("registry", "verify-log", str(log), "--key", str(public))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_revoke_needs_a_reason_and_a_key(tmp_path: Path) -> None:
    db, private, _ = _setup(tmp_path)
    no_key = run("registry", "revoke", REFERENCE, "--reason", "x", "--registry", str(db),
                 prefix=("env", "-u", "MODELWARD_SIGNING_KEY"))  # fmt: skip
    assert no_key.returncode == 2 and "revoke needs a signing key" in no_key.stderr
    blank = run("registry", "revoke", REFERENCE, "--reason", " ", "--signing-key", str(private),
                "--registry", str(db))  # fmt: skip
    assert blank.returncode == 2 and "--reason must say why" in blank.stderr
    assert len(SqliteRegistry(db).candidates(REFERENCE)) == 1


def test_vet_signs_the_scope_and_show_prints_it(tmp_path: Path) -> None:
    private, public, _ = write_keypair(tmp_path / "keys")
    common = ("--signing-key", str(private), "--publish", "--registry", str(tmp_path / "v.db"))
    bad = run("vet", str(REAL_MODEL), "--scope", "team=a", *common)
    assert bad.returncode == 2 and "--scope 'team=a': use namespace=NAME" in bad.stderr
    assert not (tmp_path / "v.db").exists()
    scopes = ["--scope", "namespace=team-a", "--scope", "namespace-selector=team=a",
              "--scope", "env=prod", "--scope", "use=chat-support"]  # fmt: skip
    vet = run("vet", str(REAL_MODEL), *scopes, "--format", "json", *common)
    assert vet.returncode == 0, vet.stderr
    approved = "namespace=team-a, namespace-selector=team=a, env=prod, use=chat-support"
    assert f"approved only for: {approved} (--scope)" in vet.stderr
    shown = run("registry", "show", str(REAL_MODEL), "--key", str(public),
                "--registry", str(tmp_path / "v.db"))  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert f"scope      {approved}" in shown.stdout
