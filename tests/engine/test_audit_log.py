"""The hash-chained audit log of the SQLite registry: appends, tampering found, no forks."""

from __future__ import annotations

import base64
import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from modelward.engine.verdicts.auditlog.entry import GENESIS, EntrySigner, digest_of, entry_kind
from modelward.engine.verdicts.auditlog.verify import LogKeys, verify_log
from modelward.engine.verdicts.keys import generate_keypair, load_private_key
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import SignedVerdict
from tests.cli.helpers import run
from tests.engine.verdict_builders import REFERENCE, signed, with_envelope

PRIVATE, PUBLIC = generate_keypair()


def signer(actor: str = "cli:test@host") -> EntrySigner:
    return EntrySigner(load_private_key(PRIVATE), actor, "test")


def logged_registry(path: Path) -> SqliteRegistry:
    return SqliteRegistry(path, audit=signer())


def revocation(original: SignedVerdict) -> SignedVerdict:
    payload = json.loads(base64.b64decode(original.envelope["payload"]))
    payload["revoked"] = True
    envelope = {**original.envelope, "payload": base64.b64encode(json.dumps(payload).encode())}
    return with_envelope(original, {**envelope, "payload": envelope["payload"].decode()})


def fill(registry: SqliteRegistry, count: int) -> None:
    """``count`` entries: publications in batches, every tenth one a revocation."""
    verdict = signed(PRIVATE)
    for start in range(0, count, 10):
        registry.put_many([signed(PRIVATE, reference=f"{REFERENCE}-{start + i}") for i in range(9)])
        registry.put(revocation(verdict))


def keys() -> LogKeys:
    return LogKeys([(PUBLIC, "test key")])


def test_every_put_appends_a_chained_signed_entry(tmp_path: Path) -> None:
    registry = logged_registry(tmp_path / "v.db")
    first, second = signed(PRIVATE), signed(PRIVATE, outcome="deny")
    registry.put(first)
    registry.put_many([second])
    stored = registry.log_entries()
    assert [seq for seq, _ in stored] == [0, 1]
    report = verify_log(stored, keys())
    assert report.intact and report.last_seq == 1 and report.head == digest_of(stored[1][1])
    entries = [json.loads(base64.b64decode(e["payload"])) for _, e in stored]
    assert entries[0]["prev"] == GENESIS and entries[1]["prev"] == digest_of(stored[0][1])
    assert [e["outcome"] for e in entries] == ["allow", "deny"]
    assert entries[0]["verdict_digest"] == digest_of(first.envelope)
    assert entries[0]["kind"] == "publication" and entries[0]["actor"] == "cli:test@host"


def test_a_registry_without_a_signer_logs_nothing(tmp_path: Path) -> None:
    registry = SqliteRegistry(tmp_path / "v.db")
    registry.put(signed(PRIVATE))
    assert registry.log_entries() == []


def test_revocations_and_expiries_are_their_own_kinds(tmp_path: Path) -> None:
    registry = logged_registry(tmp_path / "v.db")
    verdict = signed(PRIVATE)
    assert entry_kind(verdict) == "publication"
    assert entry_kind(revocation(verdict)) == "revocation"
    payload = json.loads(base64.b64decode(verdict.envelope["payload"]))
    payload["revocation"] = {"reason": "backdoor found", "revoked_by": "security@example.org"}
    revoking = {
        **verdict.envelope,
        "payload": base64.b64encode(json.dumps(payload).encode()).decode(),
    }
    assert entry_kind(with_envelope(verdict, revoking)) == "revocation"
    registry.put(revocation(verdict))
    registry.record([(verdict, "expiry")])
    kinds = [json.loads(base64.b64decode(e["payload"]))["kind"] for _, e in registry.log_entries()]
    assert kinds == ["revocation", "expiry"]


def test_an_entry_signed_with_another_key_is_altered(tmp_path: Path) -> None:
    registry = logged_registry(tmp_path / "v.db")
    registry.put(signed(PRIVATE))
    report = verify_log(registry.log_entries(), LogKeys([(generate_keypair()[1], "other")]))
    assert [str(p) for p in report.problems] == ["seq 0: altered: signed by no trusted key"]


def _writer(path: str, name: str, count: int, private: bytes) -> None:
    """One writer process (its module copy has other keys: the test's key is passed in)."""
    registry = SqliteRegistry(Path(path), audit=EntrySigner(load_private_key(private), name, "t"))
    for i in range(count):
        registry.put(signed(private, reference=f"{REFERENCE}-{name}-{i}"))


def test_two_writers_never_fork_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    logged_registry(path).put(signed(PRIVATE))  # create the file before the race
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_writer, args=(str(path), f"w{i}", 40, PRIVATE)) for i in range(2)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    stored = SqliteRegistry(path).log_entries()
    assert [seq for seq, _ in stored] == list(range(81))
    assert verify_log(stored, keys()).intact
    actors = {json.loads(base64.b64decode(e["payload"]))["actor"] for _, e in stored[1:]}
    assert actors == {"w0", "w1"}


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose log holds 1,000 publications and revocations."""
    path = tmp_path_factory.mktemp("log") / "v.db"
    fill(logged_registry(path), 1000)
    return path


def export_and_verify(registry: Path, folder: Path, *extra: str) -> tuple[int, str, str]:
    log, key = folder / "log.jsonl", folder / "verdict.pub"
    key.write_bytes(PUBLIC)
    exported = run("registry", "export-log", "--registry", str(registry), "-o", str(log))
    assert exported.returncode == 0, exported.stderr
    proc = run("registry", "verify-log", str(log), "--key", str(key), *extra)
    return proc.returncode, proc.stdout, proc.stderr


def test_an_untouched_log_of_1000_entries_verifies(thousand: Path, tmp_path: Path) -> None:
    code, out, err = export_and_verify(thousand, tmp_path)
    assert code == 0, out + err
    assert out.startswith("intact: 1000 entries, last seq 999, head sha256:")


def test_altered_deleted_and_reordered_entries_are_each_named(
    thousand: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered.db"
    copy.write_bytes(thousand.read_bytes())
    with sqlite3.connect(copy) as conn:
        (text,) = conn.execute("SELECT envelope FROM audit_log WHERE seq = 100").fetchone()
        envelope = json.loads(text)
        payload = json.loads(base64.b64decode(envelope["payload"]))
        payload["outcome"] = "allow" if payload["outcome"] == "deny" else "deny"
        envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
        conn.execute("UPDATE audit_log SET envelope = ? WHERE seq = 100", (json.dumps(envelope),))
        conn.execute("DELETE FROM audit_log WHERE seq = 500")
        rows = dict(conn.execute("SELECT seq, envelope FROM audit_log WHERE seq IN (700, 701)"))
        conn.execute("UPDATE audit_log SET envelope = ? WHERE seq = 700", (rows[701],))
        conn.execute("UPDATE audit_log SET envelope = ? WHERE seq = 701", (rows[700],))
    code, out, err = export_and_verify(copy, tmp_path)
    assert code == 1, out + err
    assert out.splitlines()[:-1] == [
        "seq 100: altered: the signature does not verify",
        "seq 500: missing: no entry holds it (deleted)",
        "seq 700: out of order: stored after seq 701",
        "seq 701: out of order: stored before seq 700",
    ]
    assert out.splitlines()[-1].startswith("TAMPERED: 4 problem(s); 999 entries")


def test_a_truncated_tail_is_found_against_a_recorded_head(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    fill(logged_registry(path), 20)
    head = digest_of(SqliteRegistry(path).log_entries()[-1][1])
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 19")
    assert export_and_verify(path, tmp_path)[0] == 0  # alone, a shorter log looks complete
    code, out, _ = export_and_verify(path, tmp_path, "--head", head)
    assert code == 1 and out.startswith(f"seq 19: missing: head {head} not reached")


def test_an_unreadable_log_or_key_exits_2(tmp_path: Path) -> None:
    key = tmp_path / "verdict.pub"
    key.write_bytes(PUBLIC)
    missing = run("registry", "verify-log", str(tmp_path / "none.jsonl"), "--key", str(key))
    assert missing.returncode == 2 and "cannot read the audit log" in missing.stderr
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n")
    proc = run("registry", "verify-log", str(garbage), "--key", str(key))
    assert proc.returncode == 2 and "line 1 is not JSON" in proc.stderr
    proc = run("registry", "verify-log", str(garbage), "--key", str(garbage))
    assert proc.returncode == 2


def test_an_expired_verdict_is_recorded_once(tmp_path: Path) -> None:
    from modelward.engine.verdicts.auditlog.expiry import ExpirySweep

    registry = logged_registry(tmp_path / "v.db")
    past = "2026-01-01T00:00:00Z"
    old = signed(PRIVATE, created_at="2025-12-01T00:00:00Z", expires_at=past)
    registry.put_many([old, signed(PRIVATE, reference=f"{REFERENCE}-fresh")])
    assert ExpirySweep(registry).run() == 1
    assert ExpirySweep(registry).run() == 0  # read back from the log: not recorded twice
    key = tmp_path / "verdict.key"
    key.write_bytes(PRIVATE)
    proc = run("registry", "record-expiries", "--signing-key", str(key),
               "--registry", str(tmp_path / "v.db"))  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == "recorded 0 expired verdict(s)\n", proc.stderr
    stored = registry.log_entries()
    last = json.loads(base64.b64decode(stored[-1][1]["payload"]))
    assert (last["kind"], last["verdict_digest"]) == ("expiry", digest_of(old.envelope))
    assert len(stored) == 3 and verify_log(stored, keys()).intact


def test_registry_show_lists_the_recorded_deployments(tmp_path: Path) -> None:
    from modelward.engine.verdicts.registry.deployments import Snapshot

    registry = logged_registry(tmp_path / "v.db")
    registry.put(signed(PRIVATE))
    shown = run("registry", "show", REFERENCE, "--registry", str(tmp_path / "v.db"))
    assert shown.returncode == 0 and "running" not in shown.stdout  # nothing recorded yet
    row = {
        "namespace": "ml",
        "kind": "Deployment",
        "name": "chat",
        "container": "server",
        "reference": REFERENCE,
        "digest": "sha256:" + "ab" * 32,
        "since": "2026-12-01T00:00:00Z",
    }
    other = {**row, "reference": "hf://other/model", "name": "other"}
    registry.record_deployments(Snapshot("2026-12-06T00:00:00Z", [row, other]))
    shown = run("registry", "show", REFERENCE, "--registry", str(tmp_path / "v.db"))
    assert shown.stdout.splitlines()[-2:] == [
        "running    as of 2026-12-06T00:00:00Z (modelward inventory --record):",
        f"  ml/Deployment/chat container server since 2026-12-01T00:00:00Z digest {row['digest']}",
    ]


def test_an_import_is_recorded_when_it_is_given_the_signing_key(tmp_path: Path) -> None:
    source = SqliteRegistry(tmp_path / "source.db")
    source.put_many([signed(PRIVATE), signed(PRIVATE, reference=f"{REFERENCE}-2")])
    export = tmp_path / "verdicts.json"
    assert (
        run("registry", "export", "--registry", str(source.path), "-o", str(export)).returncode == 0
    )
    key = tmp_path / "verdict.key"
    key.write_bytes(PRIVATE)
    unlogged = run("registry", "import", str(export), "--registry", str(tmp_path / "a.db"))
    assert unlogged.returncode == 0 and "not recorded in the audit log" in unlogged.stderr
    assert SqliteRegistry(tmp_path / "a.db").log_entries() == []
    logged = run("registry", "import", str(export), "--registry", str(tmp_path / "b.db"),
                 "--signing-key", str(key))  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    stored = SqliteRegistry(tmp_path / "b.db").log_entries()
    reasons = [json.loads(base64.b64decode(e["payload"]))["reason"] for _, e in stored]
    assert reasons == ["registry import"] * 2 and verify_log(stored, keys()).intact
