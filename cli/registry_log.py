"""``modelward registry export-log|verify-log``: the registry's hash-chained audit log.

``export-log`` writes the stored entries as JSON Lines (``{"seq": N, "entry": ENVELOPE}``, in
stored order); ``verify-log`` checks such a file offline with the public key: exit 0 when the
log is intact, 1 when an entry was altered, deleted, reordered or forked (each named by its
``seq``), 2 when the file or the key cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.cli.exit import EXIT_ALLOW, EXIT_DENY
from modelward.engine.errors import Error

KeysOpt = Annotated[
    list[Path],
    typer.Option("--key", envvar="MODELWARD_VERDICT_KEY", help="Verdict public key(s)."),
]


class LogFileError(Error):
    """An exported log that cannot be read."""


def export_log_command(
    registry: Annotated[
        str | None,
        typer.Option("--registry", envvar="MODELWARD_REGISTRY", help="The registry URL."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """The audit log of the registry, as JSON Lines (input of `verify-log`)."""
    from modelward.cli.options import write_output
    from modelward.cli.registry import registry_for
    from modelward.engine.verdicts.registry import audit_log

    lines = [_line(seq, entry) for seq, entry in audit_log(registry_for(registry))]
    write_output("".join(lines), output)
    if not lines:
        typer.echo("note: the audit log is empty", err=True)


def verify_log_command(
    log_file: Annotated[Path, typer.Argument(help="A file written by `registry export-log`.")],
    key: KeysOpt,
    head: Annotated[
        str | None,
        typer.Option("--head", help="The head digest recorded earlier: the log must reach it."),
    ] = None,
) -> None:
    """Verify an exported audit log offline: exit 0 intact, 1 tampered, 2 unreadable."""
    from modelward.engine.verdicts.auditlog.verify import LogKeys, Problem, verify_log

    keys = LogKeys([(_read(path, "key"), str(path)) for path in key])
    stored = read_log(log_file)
    report = verify_log(stored, keys)
    if head is not None and not any(_digest(e) == head for _, e in stored):
        report.problems.append(Problem(report.last_seq + 1, f"missing: head {head} not reached"))
    for problem in report.problems:
        typer.echo(str(problem))
    summary = f"{report.entries} entries, last seq {report.last_seq}, head {report.head}"
    if report.intact:
        typer.echo(f"intact: {summary}")
        raise typer.Exit(EXIT_ALLOW)
    typer.echo(f"TAMPERED: {len(report.problems)} problem(s); {summary}")
    raise typer.Exit(EXIT_DENY)


def record_expiries_command(
    signing_key: Annotated[
        Path,
        typer.Option("--signing-key", envvar="MODELWARD_SIGNING_KEY", help="Verdict private key."),
    ],
    registry: Annotated[
        str | None,
        typer.Option("--registry", envvar="MODELWARD_REGISTRY", help="The registry URL."),
    ] = None,
) -> None:
    """Record every verdict that has expired (and is not recorded yet) in the audit log."""
    from modelward.engine.verdicts.auditlog.entry import EntrySigner, default_actor
    from modelward.engine.verdicts.auditlog.expiry import ExpirySweep
    from modelward.engine.verdicts.keys import read_private_key
    from modelward.engine.verdicts.registry import default_registry_url, open_registry

    audit = EntrySigner(read_private_key(signing_key), default_actor(), "expiry sweep")
    target = open_registry(registry or default_registry_url(), audit=audit)
    typer.echo(f"recorded {ExpirySweep(target).run()} expired verdict(s)")


def read_log(path: Path) -> list[tuple[int, Any]]:
    """(seq, entry) of every line of an exported log; ``LogFileError`` when unreadable."""
    text = _read(path, "audit log").decode("utf-8", errors="replace")
    stored: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise LogFileError(f"{path}: line {number} is not JSON") from None
        if not isinstance(item, dict) or "entry" not in item:
            raise LogFileError(f"{path}: line {number} is not an exported entry")
        seq = item.get("seq")
        stored.append((seq if isinstance(seq, int) else number - 1, item["entry"]))
    return stored


def _digest(entry: Any) -> str:
    from modelward.engine.verdicts.auditlog.entry import digest_of

    try:
        return digest_of(entry)
    except (TypeError, ValueError):
        return ""


def _line(seq: int, entry: dict[str, Any]) -> str:
    return json.dumps({"seq": seq, "entry": entry}, sort_keys=True, separators=(",", ":")) + "\n"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LogFileError(f"{path}: cannot read the {what}: {exc.strerror}") from None
