"""``modelward vet --from FILE --jobs N``: a list of models vetted by keyless worker processes,
re-evaluated, signed and published by the one process that holds the key."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from modelward.cli.vet_from import (
    Publisher,
    Signer,
    WorkerSetup,
    core_share,
    read_references,
    start_worker,
)
from modelward.cli.vet_pool import MAX_REPLY, WORKER_ERROR, WorkerPool, WorkersFailed
from modelward.cli.vet_workers import KEY_ENV, WORKER_MODULES
from modelward.engine import cpus
from modelward.engine.policy.bundle import load_bundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.verdicts.keys import read_private_key
from modelward.engine.verdicts.registry import RegistryUnavailable
from modelward.engine.verdicts.scope import parse_scope
from modelward.engine.verdicts.signed import SignedVerdict, VerdictKeys, generate_keypair
from modelward.engine.vetting.result import decode_result, encode_result
from tests.cli.helpers import MODELWARD
from tests.cli.vet_probes import start_failing, start_probe
from tests.engine.verdict_builders import signed as signed_verdict
from tests.scan.builders import safetensors_bytes

REPO = Path(__file__).resolve().parents[2]


def mw(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELWARD_")}
    return subprocess.run(
        [str(MODELWARD), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, "RUST_BACKTRACE": "0"},
        cwd=cwd,
    )


def write_model(folder: Path, seed: int) -> Path:
    """A small model folder as a hub snapshot holds it: config, safetensors weights, tokenizer."""
    folder.mkdir(parents=True)
    weights = bytes((seed + i) % 251 for i in range(4096))
    header = {"embed.weight": {"dtype": "F32", "shape": [32, 32], "data_offsets": [0, 4096]}}
    (folder / "model.safetensors").write_bytes(safetensors_bytes(header, weights))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32}))
    vocab = {f"tok{i}": i for i in range(200)}
    (folder / "tokenizer.json").write_text(
        json.dumps({"version": "1.0", "model": {"vocab": vocab}})
    )
    return folder


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vet-from")


@pytest.fixture(scope="module")
def keys(workdir: Path) -> tuple[Path, Path]:
    proc = mw("keys", "generate", "--out-dir", str(workdir / "keys"))
    assert proc.returncode == 0, proc.stderr
    return workdir / "keys" / "verdict.key", workdir / "keys" / "verdict.pub"


@pytest.fixture(scope="module")
def models(workdir: Path) -> dict[str, str]:
    evil = workdir / "evil" / "evil_model.pt"
    script = REPO / "scripts" / "make_demo_pickle.py"
    subprocess.run([sys.executable, str(script), str(evil)], check=True, capture_output=True)
    return {
        "good": str(write_model(workdir / "good", 1)),
        "other": str(write_model(workdir / "other", 2)),
        "evil": str(evil),
        "missing": str(workdir / "no-such-model"),
    }


@pytest.fixture(scope="module")
def refs(workdir: Path, models: dict[str, str]) -> Path:
    lines = [
        "# models to vet before the release",
        models["good"],
        "",
        models["evil"],
        f"  {models['good']}  ",  # the same reference again
        models["missing"],
        "   # an indented comment",
        models["other"],
    ]
    path = workdir / "refs.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def vet_list(
    refs: Path, keys: tuple[Path, Path], workdir: Path, jobs: int
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    db, report = workdir / f"jobs{jobs}.db", workdir / f"jobs{jobs}.json"
    proc = mw(
        "vet", "--from", str(refs), "--jobs", str(jobs), "--signing-key", str(keys[0]),
        "--publish", "--registry", str(db), "--report", str(report),
    )  # fmt: skip
    return proc, json.loads(report.read_text()), str(db)


@pytest.fixture(scope="module")
def two_jobs(
    refs: Path, keys: tuple[Path, Path], workdir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    return vet_list(refs, keys, workdir, 2)


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {r["reference"]: r["outcome"] for r in report["results"]}


def test_table_has_one_row_per_reference_and_a_failure_exits_2(
    two_jobs: tuple[subprocess.CompletedProcess[str], dict[str, Any], str], models: dict[str, str]
) -> None:
    proc, _, _ = two_jobs
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["REFERENCE", "OUTCOME", "DIGEST", "SECONDS", "REASON"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert list(rows) == [models["good"], models["evil"], models["missing"], models["other"]]
    assert rows[models["good"]][1] == "ALLOW" and len(rows[models["good"]][2]) == 12
    assert rows[models["evil"]][1] == "DENY"
    assert rows[models["missing"]][1:3] == ["FAILED", "-"]
    assert "no such file or directory" in lines[3]
    assert lines[-1].startswith("4 models: 2 allow, 1 deny, 1 failed in ")
    assert "1 repeated reference(s) vetted once" in proc.stderr


def test_report_records_every_outcome(
    two_jobs: tuple[subprocess.CompletedProcess[str], dict[str, Any], str], models: dict[str, str]
) -> None:
    _, report, _ = two_jobs
    assert report["schema"] == "modelward.dev/vet-report/v1"
    assert report["jobs"] == 2 and report["seconds"] > 0
    assert report["totals"] == {"allow": 2, "deny": 1, "failed": 1}
    results = {r["reference"]: r for r in report["results"]}
    evil, good, missing = (results[models[name]] for name in ("evil", "good", "missing"))
    assert evil["outcome"] == "deny" and evil["claimed"] == "deny" and evil["published"]
    assert evil["reason"] == evil["deny"][0] and "unsafe-serialization" in evil["deny"]
    assert good["digest"].startswith("sha256:") and good["deny"] == [] and good["published"]
    assert missing["published"] is False and missing["digest"] is None
    assert missing["reason"].startswith("source error: ") and missing["claimed"] is None


def test_published_verdicts_are_signed_by_the_key(
    two_jobs: tuple[subprocess.CompletedProcess[str], dict[str, Any], str],
    keys: tuple[Path, Path],
    models: dict[str, str],
) -> None:
    _, report, db = two_jobs
    proc = mw("registry", "list", "--registry", db, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    listed = {item["reference"]: item for item in json.loads(proc.stdout)}
    assert {ref: item["outcome"] for ref, item in listed.items()} == {
        models["good"]: "allow", models["evil"]: "deny", models["other"]: "allow",
    }  # fmt: skip
    digests = {r["reference"]: r["digest"] for r in report["results"]}
    assert all(item["digest"] == digests[ref] for ref, item in listed.items())
    shown = mw("registry", "show", models["evil"], "--registry", db, "--key", str(keys[1]),
               "--format", "json")  # fmt: skip
    assert json.loads(shown.stdout)["check"]["trusted"] is True, shown.stderr


def test_one_job_gives_the_same_outcomes_as_two(
    two_jobs: tuple[subprocess.CompletedProcess[str], dict[str, Any], str],
    refs: Path,
    keys: tuple[Path, Path],
    workdir: Path,
) -> None:
    proc, report, _ = vet_list(refs, keys, workdir, 1)
    assert proc.returncode == 2 and report["jobs"] == 1
    assert outcomes(report) == outcomes(two_jobs[1])
    assert [r["digest"] for r in report["results"]] == [r["digest"] for r in two_jobs[1]["results"]]


def test_exit_code_follows_the_worst_outcome(
    keys: tuple[Path, Path], models: dict[str, str]
) -> None:
    key = ("--signing-key", str(keys[0]))
    allowed = mw("vet", "--from", "-", *key, stdin=f"{models['good']}\n{models['other']}\n")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines()[-1].startswith("2 models: 2 allow, 0 deny, 0 failed")
    both = f"{models['good']}\n{models['evil']}\n"
    denied = mw("vet", "--from", "-", "--jobs", "2", *key, stdin=both)
    assert denied.returncode == 1, denied.stderr
    empty = mw("vet", "--from", "-", *key, stdin="# nothing yet\n\n")
    assert empty.returncode == 2 and "no model references" in empty.stderr


def test_invalid_references_fail_alone(keys: tuple[Path, Path], models: dict[str, str]) -> None:
    proc = mw("vet", "--from", "-", "--signing-key", str(keys[0]),
              stdin=f"hf://\n{models['good']}\n")  # fmt: skip
    assert proc.returncode == 2
    assert "nothing after the scheme" in proc.stdout
    assert "2 models: 1 allow, 0 deny, 1 failed" in proc.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--signature", "model.sig"), "--signature cannot be used with --from"),
        (("--bom", "bom.json"), "--bom cannot be used with --from"),
        (("--reference", "s3://b/m"), "--reference cannot be used with --from"),
        (("--to-oci",), "--to-oci cannot be used with --from"),
        (("--format", "json", "--output", "out.json"), "--output, --format cannot be used"),
        (("MODEL",), "exactly one of MODEL and --from"),
    ],
)
def test_per_model_options_are_refused_with_from(
    extra: tuple[str, ...], message: str, refs: Path, keys: tuple[Path, Path], workdir: Path
) -> None:
    proc = mw("vet", "--from", str(refs), "--signing-key", str(keys[0]), *extra, cwd=workdir)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_list_options_need_from(keys: tuple[Path, Path], models: dict[str, str]) -> None:
    proc = mw("vet", models["good"], "--jobs", "2", "--signing-key", str(keys[0]))
    assert proc.returncode == 2 and "--jobs only apply to --from FILE" in proc.stderr
    neither = mw("vet", "--signing-key", str(keys[0]))
    assert neither.returncode == 2 and "exactly one of MODEL and --from" in neither.stderr


def test_references_file_format(tmp_path: Path) -> None:
    path = tmp_path / "refs.txt"
    path.write_text("# header\n\n  a/model  \r\nhf://org/m@abc\n\t# tabbed comment\n")
    assert read_references(path) == ["a/model", "hf://org/m@abc"]


# ---------------------------------------------------------------- the trusted side


@pytest.fixture(scope="module")
def signer(keys: tuple[Path, Path]) -> Signer:
    bundle = load_bundle(None, None)
    return Signer(bundle, EmbeddedEvaluator(), timedelta(days=1), read_private_key(keys[0]))


def worker_line(reference: str) -> str:
    """The result line of the real worker command, as a vetting Job prints it."""
    proc = mw("vetting", "run", reference)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[-1]


def test_a_forged_allow_is_re_evaluated_to_deny_and_signed_as_deny(
    signer: Signer, keys: tuple[Path, Path], models: dict[str, str]
) -> None:
    result = decode_result(worker_line(models["evil"]))
    assert result.decision is not None and result.decision.outcome == "deny"
    forged_decision = result.decision.model_copy(update={"outcome": "allow", "deny": []})
    forged = encode_result(result.model_copy(update={"decision": forged_decision}))
    row, signed = signer.judge(models["evil"], forged, 0.5)
    assert signed is not None and signed.outcome == "deny"
    assert row.outcome == "deny" and row.claimed == "allow"
    assert "unsafe-serialization" in row.deny
    assert row.reason.endswith("(the worker claimed allow)")


def test_results_the_parent_refuses_fail_their_reference(
    signer: Signer, models: dict[str, str]
) -> None:
    good_line = worker_line(models["good"])
    wrong, signed = signer.judge(models["other"], good_line, 0.1)
    assert wrong.outcome == "failed" and signed is None and wrong.digest is None
    assert wrong.reason.startswith("the result is for ")
    garbage, _ = signer.judge(models["good"], "import os; os.system('id')", 0.1)
    assert garbage.outcome == "failed" and garbage.reason.startswith("not a vetting result")
    crashed, _ = signer.judge(models["good"], f"{WORKER_ERROR}MemoryError: ", 0.1)
    assert crashed.outcome == "failed" and crashed.reason == "worker error: MemoryError: "


def test_the_signed_verdict_verifies_and_is_the_parents_decision(
    signer: Signer, keys: tuple[Path, Path], models: dict[str, str]
) -> None:
    row, signed = signer.judge(models["good"], worker_line(models["good"]), 0.2)
    assert row.outcome == "allow" and signed is not None
    check = VerdictKeys.from_paths([keys[1]]).check(signed, models["good"])
    assert check.trusted and check.verdict is not None
    assert check.verdict.outcome == "allow" and check.verdict.digest == row.digest


def test_the_scope_is_signed_into_every_verdict(
    signer: Signer, keys: tuple[Path, Path], models: dict[str, str]
) -> None:
    scoped = dataclasses.replace(signer, scope=parse_scope(["namespace=team-a", "env=prod"]))
    _, signed = scoped.judge(models["good"], worker_line(models["good"]), 0.2)
    assert signed is not None
    check = VerdictKeys.from_paths([keys[1]]).check(signed, models["good"])
    assert check.verdict is not None and check.verdict.scope == scoped.scope


def test_a_registry_that_refuses_a_put_fails_only_that_reference(
    signer: Signer, models: dict[str, str]
) -> None:
    class Refusing:
        def __init__(self) -> None:
            self.stored: list[str] = []

        def put(self, signed: Any) -> None:
            if signed.reference == models["evil"]:
                raise RegistryUnavailable("disk full")
            self.stored.append(signed.reference)

    registry = Refusing()
    publisher = Publisher(cast(Any, registry))
    rows = {}
    for name in ("good", "evil"):
        rows[models[name]], signed = signer.judge(models[name], worker_line(models[name]), 0.1)
        assert signed is not None
        publisher.submit(models[name], signed)
    publisher.settle(rows)
    assert rows[models["good"]].published and registry.stored == [models["good"]]
    assert rows[models["evil"]].outcome == "failed"
    assert rows[models["evil"]].reason == "signed but not published: disk full"


class Batching:
    """A registry that stores whole batches, refusing any batch that holds ``refused``."""

    def __init__(self, refused: str | None = None) -> None:
        self.refused = refused
        self.batches: list[list[str]] = []

    def put_many(self, verdicts: list[SignedVerdict]) -> None:
        if any(v.reference == self.refused for v in verdicts):
            raise RegistryUnavailable("disk full")
        self.batches.append([v.reference for v in verdicts])

    def put(self, signed: SignedVerdict) -> None:
        self.put_many([signed])


def publish(registry: Batching, references: list[str]) -> dict[str, Any]:
    private = generate_keypair()[0]
    rows, publisher = {}, Publisher(cast(Any, registry))
    for reference in references:
        signed = signed_verdict(private, reference=reference)
        rows[reference] = signer_row(reference)
        publisher.submit(reference, signed)
    publisher.settle(rows)
    return rows


def signer_row(reference: str) -> Any:
    from modelward.cli.vet_report import Row

    return Row(reference=reference, outcome="allow")


def test_verdicts_arriving_together_are_published_in_one_transaction_in_order() -> None:
    references = [f"s3://bucket/models/m{i}" for i in range(10)]
    registry = Batching()
    rows = publish(registry, references)
    assert registry.batches == [references]
    assert all(rows[reference].published for reference in references)


def test_a_refused_batch_is_stored_one_by_one_and_fails_only_the_refused_verdict() -> None:
    references = [f"s3://bucket/models/m{i}" for i in range(4)]
    registry = Batching(refused=references[2])
    rows = publish(registry, references)
    assert registry.batches == [[references[0]], [references[1]], [references[3]]]
    assert [rows[reference].published for reference in references] == [True, True, False, True]
    assert rows[references[2]].outcome == "failed"
    assert rows[references[2]].reason == "signed but not published: disk full"


# ---------------------------------------------------------------- the worker processes


def test_each_worker_hashes_with_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "usable_cpus", lambda: 8)
    assert [core_share(jobs) for jobs in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_a_worker_with_one_hashing_thread_starts_no_thread(
    models: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELWARD_OFFLINE", "1")  # go_offline sets them; undone after the test
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    handler = start_worker(WorkerSetup(None, None, True, hash_threads=1))

    def refuse(*args: object) -> None:
        raise AssertionError("the worker started a thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    result = decode_result(handler(models["good"]))  # three files: hashed one after another
    assert result.status == "scanned", result.error
    assert result.facts is not None and len(result.facts["files"]) == 3
    assert all(f["sha256"] for f in result.facts["files"]) and result.facts["subject"]["digest"]


def test_a_dead_worker_fails_only_its_request() -> None:
    pool = WorkerPool(2, start_probe, "echo:")
    replies = {r.request: r for r in pool.run(["a", "die", "b", "raise", "c", "big", "d"])}
    assert replies["die"].text is None
    assert replies["die"].crash == "the worker process exited with code 3"
    assert replies["big"].text is None
    assert replies["big"].crash == f"the worker's reply is larger than {MAX_REPLY} bytes"
    assert replies["raise"].text == f"{WORKER_ERROR}ValueError: no such thing"
    assert [replies[k].text for k in "abcd"] == ["echo:a", "echo:b", "echo:c", "echo:d"]


def test_workers_are_long_lived_and_never_inherit_the_key_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in KEY_ENV:
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("MODELWARD_REGISTRY", "x.db")
    pool = WorkerPool(1, start_probe, "", hidden_env=KEY_ENV)
    replies = [r.text for r in pool.run(["env", "pid", "pid", "pid"])]
    seen = str(replies[0]).split(",")
    assert "MODELWARD_REGISTRY" in seen and not set(KEY_ENV) & set(seen)
    assert len(set(replies[1:])) == 1 and replies[1] != str(os.getpid())
    assert all(os.environ[name] == "secret" for name in KEY_ENV)  # the parent keeps them


def test_the_last_requests_go_to_whichever_worker_is_free() -> None:
    pool = WorkerPool(2, start_probe, "")
    replies = [(r.request, r.text) for r in pool.run(["slow", "pid:a", "pid:b"])]
    # a second request queued behind the slow one would wait for it; free, the other takes it
    assert [request for request, _ in replies] == ["pid:a", "pid:b", "slow"]
    assert replies[0][1] == replies[1][1] != replies[2][1]


def test_workers_lose_the_key_variables_even_from_a_fork_server_that_has_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in KEY_ENV:
        monkeypatch.setenv(name, "secret")
    careless = WorkerPool(1, start_probe, "")  # starts the fork server with the variables
    careless.start(1)
    try:
        pool = WorkerPool(1, start_probe, "", hidden_env=KEY_ENV)
        (reply,) = pool.run(["env"])
        seen = str(reply.text).split(",")
        assert not set(KEY_ENV) & set(seen)
    finally:
        careless.close()


def test_a_worker_that_cannot_start_stops_the_run() -> None:
    pool = WorkerPool(2, start_failing, "no bundle")
    with pytest.raises(WorkersFailed, match="RuntimeError: no bundle"):
        list(pool.run(["a"]))


def test_an_unreadable_key_stops_the_run_before_any_verdict(refs: Path, workdir: Path) -> None:
    report = workdir / "no-key.json"
    proc = mw("vet", "--from", str(refs), "--signing-key", str(workdir / "absent.key"),
              "--report", str(report))  # fmt: skip
    assert proc.returncode == 2
    assert "cannot read the signing key" in proc.stderr
    assert proc.stdout == "" and not report.exists()


def _fork_server_pid() -> int | None:
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    return pid if pid is not None and os.waitpid(pid, os.WNOHANG) == (0, 0) else None


@pytest.mark.parametrize(
    "argv",
    [["vet", "model"], ["scan", "--from", "x"], ["vet", "--from", "x", "--help"], []],
)
def test_only_vet_from_starts_the_fork_server_early(argv: list[str]) -> None:
    from modelward.cli.vet_pool import _stop_fork_server
    from modelward.cli.vet_workers import start_early

    _stop_fork_server()
    start_early(argv)
    assert _fork_server_pid() is None


def test_the_early_fork_server_lacks_the_key_variables_and_serves_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelward.cli.vet_pool import _stop_fork_server
    from modelward.cli.vet_workers import start_early

    _stop_fork_server()
    for name in KEY_ENV:
        monkeypatch.setenv(name, "secret")
    start_early(["vet", "--from=refs.txt", "--jobs", "2"])
    server = _fork_server_pid()
    assert server is not None
    pool = WorkerPool(1, start_probe, "", hidden_env=KEY_ENV, preload=WORKER_MODULES)
    pool.start(1)  # returns once the server forked the worker: it runs, past its exec
    assert _fork_server_pid() == server
    environ = Path(f"/proc/{server}/environ").read_bytes().split(b"\0")
    names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
    assert "PATH" in names and not set(KEY_ENV) & names
    assert all(os.environ[name] == "secret" for name in KEY_ENV)
    (reply,) = pool.run(["env"])
    assert not set(KEY_ENV) & set(str(reply.text).split(","))
    assert _fork_server_pid() is None  # the pool forked from it and stopped it when it closed
