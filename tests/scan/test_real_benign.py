"""Ordinary models users have are scanned clean and allowed; their attack twins are denied.

The real files come from PyPI archives (scripts/models.py): TorchScript and ONNX from silero-vad,
joblib's own test pickles written by joblib 0.8.4 to 0.11, numpy's test .npy/.npz/.pkl files from
numpy 1.26.4 and 2.4.6, and llama.cpp's vocab-only GGUF files with real chat templates. The
scikit-learn, XGBoost and LightGBM models are fitted here and written with joblib and pickle.
Nothing is ever loaded: every file is only scanned.
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pytest

from modelward.engine.decision import Decision
from modelward.engine.facts import SEVERITY_RANK, Facts
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from tests.scan import real_models as real
from tests.scan.builders import call_pickle, system_pickle
from tests.scan.scanning import SEVERITY, scan_path

BUNDLE = PolicyBundle.builtin()
EVALUATOR = EmbeddedEvaluator()
LOW = SEVERITY_RANK["low"]
HIGH = SEVERITY_RANK["high"]


def _judge(path: Path) -> tuple[Facts, Decision]:
    facts = collect_facts(str(path))
    return facts, decide(facts, BUNDLE, EVALUATOR)


def _problems(facts: Facts, decision: Decision) -> list[str]:
    """Why a benign model is not a clean, complete, allowed scan (empty when it is)."""
    problems = [
        f"{f.severity} {f.id}: {f.message}"
        for f in facts.scan.findings
        if SEVERITY_RANK[f.severity] > LOW
    ]
    if not facts.scan.complete:
        problems.append("scan.complete is false")
    problems += [f"deny {d.id}: {d.msg}" for d in decision.deny]
    if decision.outcome != "allow":
        problems.append(f"outcome {decision.outcome} {decision.error or ''}".rstrip())
    return problems


def _assert_denied_high(path: Path) -> None:
    facts, decision = _judge(path)
    worst = max((SEVERITY_RANK[f.severity] for f in facts.scan.findings), default=-1)
    assert worst >= HIGH, [(f.id, f.severity) for f in facts.scan.findings]
    assert decision.outcome == "deny", decision.error


# ---------------------------------------------------------------- real files from PyPI


@pytest.mark.parametrize("path", real.real_files(), ids=lambda p: str(p.relative_to(real.MODELS)))
def test_real_file_scans_clean_and_complete(path: Path) -> None:
    assert path.is_file(), real.missing(path)
    scanned = scan_path(path, rel=path.name)
    high = [
        (f.id, f.severity, f.message)
        for f in scanned.result.findings
        if SEVERITY[f.severity] > SEVERITY["low"]
    ]
    assert not high
    assert scanned.result.complete
    assert scanned.fmt != "unknown", "a file its library loads is analysed as what it is"


@pytest.mark.parametrize("folder", real.FOLDERS)
def test_real_model_folder_is_allowed(folder: str) -> None:
    path = real.MODELS / folder
    assert path.is_dir(), real.missing(path)
    assert not _problems(*_judge(path))


def test_torchscript_archive_is_read_as_a_pytorch_zip() -> None:
    assert real.TORCHSCRIPT.is_file(), real.missing(real.TORCHSCRIPT)
    facts, decision = _judge(real.TORCHSCRIPT)
    assert {f.format for f in facts.files} == {"pytorch-zip"}
    assert {i.verdict for i in facts.scan.imports} == {"allowed"}
    assert not _problems(facts, decision)


def test_old_joblib_zlib_files_are_read_as_pickles() -> None:
    """joblib.load still opens the "ZF" files joblib 0.9 wrote: their pickles must be analysed."""
    folder = real.MODELS / "joblib-test-data"
    zf_files = sorted(p.name for p in folder.glob("*.gz") if p.read_bytes()[:2] == real.ZF_PREFIX)
    assert zf_files, real.missing(folder)
    facts, _ = _judge(folder)
    analysed = {i.file for i in facts.scan.imports}
    assert [name for name in zf_files if name not in analysed] == []


def test_zf_twin_is_framed_like_the_real_files() -> None:
    path = real.MODELS / "joblib-test-data" / "joblib_0.9.2_compressed_pickle_py27_np17.gz"
    assert path.is_file(), real.missing(path)
    data = path.read_bytes()
    head = len(real.ZF_PREFIX) + real.ZF_LENGTH_WIDTH
    inner = zlib.decompress(data[head:])  # bytes only: the pickle inside is never loaded
    assert real.zf_bytes(inner)[:head] == data[:head]


# ---------------------------------------------------------------- scikit-learn, XGBoost, LightGBM


@pytest.fixture(scope="module")
def estimators() -> dict[str, object]:
    return real.fitted_estimators()


@pytest.mark.parametrize("kind", real.DUMPS)
@pytest.mark.parametrize("name", real.BENIGN)
def test_fitted_estimator_dump_is_allowed(
    name: str, kind: str, estimators: dict[str, object], tmp_path: Path
) -> None:
    path = real.dump(estimators[name], kind, tmp_path / name)
    assert not _problems(*_judge(path))


@pytest.mark.parametrize("kind", real.DUMPS)
def test_pipeline_with_os_system_transformer_is_denied(kind: str, tmp_path: Path) -> None:
    path = real.dump(real.system_pipeline(), kind, tmp_path / "system-pipeline")
    _assert_denied_high(path)


# ---------------------------------------------------------------- attack twins of real files


PAYLOADS = {
    "unreviewed-call": lambda canary: call_pickle("mylib.tools", "run", f"touch {canary}", proto=2),
    "os-system": lambda canary: system_pickle(canary, proto=2),
}


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("member", ["/constants.pkl", "/data.pkl"])
def test_torchscript_twin_with_a_calling_pickle_is_denied(
    member: str, payload: str, canary: str, tmp_path: Path
) -> None:
    assert real.TORCHSCRIPT.is_file(), real.missing(real.TORCHSCRIPT)
    twin = tmp_path / "silero-vad" / "silero_vad.jit"
    twin.parent.mkdir()
    name = real.replace_member(real.TORCHSCRIPT, member, PAYLOADS[payload](canary), twin)
    scanned = scan_path(twin)
    assert any(
        f.member == name and SEVERITY[f.severity] >= SEVERITY["high"]
        for f in scanned.result.findings
    ), [(f.id, f.severity, f.member) for f in scanned.result.findings]
    _assert_denied_high(twin.parent)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_zf_twin_with_a_calling_pickle_is_denied(payload: str, canary: str, tmp_path: Path) -> None:
    folder = tmp_path / "joblib-model"
    folder.mkdir()
    (folder / "model.pkl.gz").write_bytes(real.zf_bytes(PAYLOADS[payload](canary)))
    _assert_denied_high(folder)


def test_real_folder_with_one_twin_file_is_denied(canary: str, tmp_path: Path) -> None:
    source = real.MODELS / "joblib-test-data"
    assert source.is_dir(), real.missing(source)
    folder = Path(shutil.copytree(source, tmp_path / "joblib-test-data"))
    (folder / "joblib_0.11.0_pickle_py36_np111.pkl").write_bytes(system_pickle(canary, proto=2))
    _assert_denied_high(folder)
