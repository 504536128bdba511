"""``modelward vet --from FILE``: many models, vetted by keyless worker processes, signed here.

Each worker runs exactly what a vetting Job runs (``vet_reference``) and hands back the one-line
result. This process, which alone holds the signing key, decodes it, validates the facts,
evaluates the policies again (``accept_result``), signs and publishes: the worker's decision is
a claim, never the verdict.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from modelward.cli.vet_options import VetOptionError
from modelward.cli.vet_report import FAILED, Row, exit_code, render_table, write_report
from modelward.cli.vet_workers import KEY_ENV, WORKER_MODULES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from modelward.cli.verdicts import Trusted
    from modelward.cli.vet_pool import Reply, WorkerPool
    from modelward.engine.policy.bundle import PolicyBundle
    from modelward.engine.policy.evaluators import Evaluator
    from modelward.engine.verdicts.registry import Registry
    from modelward.engine.verdicts.scope import Scope
    from modelward.engine.verdicts.signed import SignedVerdict, VerdictSigner

#: The most verdicts one registry transaction stores, and how long the first of them waits
#: for others to join it.
PUBLISH_BATCH = 64
PUBLISH_WAIT = 0.25


@dataclass(frozen=True)
class WorkerSetup:
    """What each worker process loads once: the same bundle and options as the parent."""

    policy: Path | None
    data: Path | None
    offline: bool
    behaviour: bool = False  # --behaviour: every model without probe inputs
    behaviour_budget: float | None = None
    hash_threads: int | None = None  # None: one per usable CPU


def core_share(jobs: int) -> int:
    """The threads each of ``jobs`` workers hashes with: its share of the CPUs this process
    may use, at least one. The workers already keep every CPU busy; more threads than CPUs
    would only hand work to one another and leave a CPU waiting."""
    from modelward.engine.cpus import usable_cpus

    return max(1, usable_cpus() // max(1, jobs))


def start_worker(setup: WorkerSetup) -> Callable[[str], str]:
    """Load the bundle once; return the handler that vets one reference into its result line."""
    from modelward.cli.options import (
        BehaviourFlags,
        collect_options,
        go_offline,
        signature_options,
    )
    from modelward.engine.policy.bundle import load_bundle
    from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
    from modelward.engine.vetting.result import encode_result
    from modelward.engine.vetting.worker import vet_reference

    go_offline(setup.offline)
    bundle = load_bundle(setup.policy, setup.data)
    flags = BehaviourFlags(setup.behaviour, None, setup.behaviour_budget)
    sig = signature_options(None, None, None, None, None, None)
    options = replace(
        collect_options(bundle, sig, None, None, flags), hash_threads=setup.hash_threads
    )
    evaluator = EmbeddedEvaluator()
    return lambda reference: encode_result(vet_reference(reference, options, bundle, evaluator))


@dataclass
class Signer:
    """The trusted side: validates each result, evaluates the policies again, signs."""

    bundle: PolicyBundle
    evaluator: Evaluator
    max_age: timedelta
    private_key: ec.EllipticCurvePrivateKey
    scope: Scope | None = None  # signed into every verdict (vet --scope)
    _signer: VerdictSigner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from modelward.engine.verdicts.signed import VerdictSigner

        self._signer = VerdictSigner(self.private_key)

    def judge(self, reference: str, line: str, seconds: float) -> tuple[Row, SignedVerdict | None]:
        """The row for ``reference`` from a worker's reply ``line`` (untrusted text), and the
        signed verdict (None when the reference failed)."""
        from modelward.cli.vet_pool import WORKER_ERROR
        from modelward.engine.errors import Error
        from modelward.engine.vetting.accept import SourceFailed, accept_result
        from modelward.engine.vetting.result import decode_result

        if line.startswith(WORKER_ERROR):
            return failed(reference, f"worker error: {line[len(WORKER_ERROR) :]}", seconds), None
        try:
            result = decode_result(line)
            accepted = accept_result(result, reference, self.bundle, self.evaluator, self.max_age)
        except SourceFailed as exc:
            kind = "transient source error" if exc.transient else "source error"
            return failed(reference, f"{kind}: {exc.diagnostics()}", seconds), None
        except Error as exc:  # MalformedResult, ResultRejected
            return failed(reference, exc.diagnostics(), seconds), None
        verdict = accepted.verdict
        if self.scope is not None:
            verdict = verdict.model_copy(update={"scope": self.scope})
        deny = tuple(finding.id for finding in verdict.decision.deny)
        reason = deny[0] if deny else ""
        if accepted.disagrees:
            reason = f"{reason} (the worker claimed {accepted.claimed})".strip()
        row = Row(
            reference=reference,
            outcome=verdict.outcome,
            digest=verdict.digest,
            seconds=seconds,
            reason=reason,
            deny=deny,
            claimed=accepted.claimed,
        )
        return row, self._signer.sign(verdict)


class Publisher:
    """Stores signed verdicts, in order, on one thread of its own: the registry's writes overlap
    with judging the next results, and the verdicts that arrive close together are stored in
    one transaction (``put_many``, where the registry has it)."""

    def __init__(self, registry: Registry | None) -> None:
        self._registry = registry
        self._queue: SimpleQueue[tuple[str, SignedVerdict] | None] = SimpleQueue()
        self._submitted: list[str] = []
        self._refused: dict[str, str] = {}  # reference -> why the registry refused it
        self._crash: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="publish", daemon=True)
        if registry is not None:
            self._thread.start()

    def submit(self, reference: str, signed: SignedVerdict) -> None:
        if self._registry is not None:
            self._submitted.append(reference)
            self._queue.put((reference, signed))

    def settle(self, rows: dict[str, Row]) -> None:
        """Wait for the last write; mark each submitted row published, or failed with the
        registry's reason."""
        if self._registry is None:
            return
        self._queue.put(None)
        self._thread.join()
        if self._crash is not None:
            raise self._crash
        for reference in self._submitted:
            row = rows[reference]
            if reference in self._refused:
                reason = f"signed but not published: {self._refused[reference]}"
                rows[reference] = failed(reference, reason, row.seconds)
            else:
                rows[reference] = replace(row, published=True)

    def _run(self) -> None:
        try:
            while batch := self._next_batch():
                self._store(batch)
        except BaseException as exc:  # raised again by settle, on the caller's thread
            self._crash = exc

    def _next_batch(self) -> list[tuple[str, SignedVerdict]]:
        """The next verdicts to store: the first one and those arriving within
        ``PUBLISH_WAIT`` of it; empty once ``settle`` asked to stop."""
        first = self._queue.get()
        if first is None:
            return []
        batch, deadline = [first], time.monotonic() + PUBLISH_WAIT
        while len(batch) < PUBLISH_BATCH:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                break
            if item is None:
                self._queue.put(None)  # store this batch, then stop
                break
            batch.append(item)
        return batch

    def _store(self, batch: list[tuple[str, SignedVerdict]]) -> None:
        from modelward.engine.errors import Error

        assert self._registry is not None
        put_many = getattr(self._registry, "put_many", None)
        if put_many is not None:
            try:
                put_many([signed for _, signed in batch])
                return
            except Error:
                pass  # each one alone below, so that a refusal fails only its own reference
        for reference, signed in batch:
            try:
                self._registry.put(signed)
            except Error as exc:
                self._refused[reference] = exc.diagnostics()


def failed(reference: str, reason: str, seconds: float = 0.0) -> Row:
    return Row(reference=reference, outcome=FAILED, reason=reason, seconds=seconds)


def read_references(source: Path) -> list[str]:
    """The lines of ``source`` (``-``: standard input) that name a model."""
    try:
        text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VetOptionError(f"--from {source}: {getattr(exc, 'strerror', None) or exc}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def plan(lines: list[str]) -> tuple[list[str], dict[str, Row], int]:
    """Canonical references in first-seen order, rows for the unparseable ones (by line), and
    how many lines repeated a reference already listed."""
    from modelward.engine.errors import InvalidReference
    from modelward.engine.refs import ModelRef

    order: list[str] = []
    invalid: dict[str, Row] = {}
    for line in lines:
        try:
            canonical = ModelRef.parse(line).canonical
        except InvalidReference as exc:
            invalid.setdefault(line, failed(line, exc.diagnostics()))
            canonical = line
        if canonical not in order:
            order.append(canonical)
    return order, invalid, len(lines) - len(order)


def vet_list(
    source: Path,
    jobs: int,
    report: Path | None,
    setup: WorkerSetup,
    prepare: Callable[[], Trusted],
    evaluation: tuple[str, str | None],
) -> int:
    """Vet every reference of ``source``; print the table; return the exit code.

    The workers start first and load while ``prepare`` reads this process's key, registry and
    bundle; ``evaluation`` is the engine (and OPA URL) this process re-evaluates with."""
    from modelward.cli.vet_pool import WorkerPool
    from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator

    order, invalid, repeated = plan(read_references(source))
    if not order:
        raise VetOptionError(f"--from {source}: no model references (one per line, # comments)")
    if repeated:
        _note(f"{repeated} repeated reference(s) vetted once")
    started = time.perf_counter()
    rows: dict[str, Row] = dict(invalid)
    todo = [reference for reference in order if reference not in invalid]
    setup = replace(setup, hash_threads=core_share(min(jobs, len(todo))))
    pool = WorkerPool(jobs, start_worker, setup, hidden_env=KEY_ENV, preload=WORKER_MODULES)
    try:
        pool.start(len(todo))
        trusted = prepare()
        evaluator = make_evaluator(*evaluation)
        try:
            signer = Signer(
                trusted.bundle, evaluator, trusted.lifetime, trusted.private_key, trusted.scope
            )
            publisher = Publisher(trusted.target)
            rows |= _vet(pool, todo, signer, publisher, len(order), len(invalid))
        finally:
            close_evaluator(evaluator)
    finally:
        pool.close()
    ordered = [rows[reference] for reference in order]
    seconds = time.perf_counter() - started
    sys.stdout.write(render_table(ordered, seconds))
    if report is not None:
        write_report(report, ordered, jobs, seconds)
    return exit_code(ordered)


def _vet(
    pool: WorkerPool, todo: list[str], signer: Signer, publisher: Publisher, total: int, done: int
) -> dict[str, Row]:
    from modelward.cli.progress import tally_progress

    rows: dict[str, Row] = {}
    with tally_progress(total, done=done) as advance, closing(pool.run(todo)) as replies:
        for reply in replies:
            rows[reply.request] = _row(reply, signer, publisher)
            advance(f"{rows[reply.request].outcome.upper()} {reply.request}")
    publisher.settle(rows)
    return rows


def _row(reply: Reply, signer: Signer, publisher: Publisher) -> Row:
    if reply.text is None:
        return failed(reply.request, str(reply.crash), reply.seconds)
    row, signed = signer.judge(reply.request, reply.text, reply.seconds)
    if signed is not None:
        publisher.submit(reply.request, signed)
    return row


def _note(text: str) -> None:
    print(text, file=sys.stderr)
