"""Hashes equal sha256sum; the manifest digest equals model signing's for the same directory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest
from model_signing import hashing as ms_hashing

from modelward.engine import hashing
from modelward.engine.collectors import CollectOptions
from modelward.engine.pipeline import collect_facts

REPO = Path(__file__).resolve().parents[2]
REAL_MODEL = REPO / ".cache" / "models" / "all-minilm-l6-v2"


def _sha256sum(paths: list[Path]) -> dict[Path, str]:
    out = subprocess.run(
        ["sha256sum", "--", *map(str, paths)], check=True, capture_output=True, text=True
    )
    return {Path(line[66:]): line[:64] for line in out.stdout.splitlines()}


def _model_signing_digest(path: Path) -> str:
    manifest = ms_hashing.Config().use_file_serialization(hashing_algorithm="sha256").hash(path)
    # model signing signs the root digest over the sorted resource digests
    root = hashlib.sha256()
    for descriptor in manifest.resource_descriptors():
        root.update(descriptor.digest.digest_value)
    return root.hexdigest()


@pytest.fixture
def tricky_dir(tmp_path: Path) -> Path:
    """Names whose order differs between string and path-part sorting, plus git paths."""
    root = tmp_path / "model"
    files = {
        "a-b/x.bin": b"1",
        "a/b.bin": b"2",
        "a.bin": b"3",
        "Z.txt": b"4",
        "nested/deeper/w.safetensors": os.urandom(3 * 1024 * 1024),
        ".gitattributes": b"*.bin lfs",
        "empty.txt": b"",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_file_hashes_equal_sha256sum(corpus_files: Path) -> None:
    facts = collect_facts(str(corpus_files))
    expected = _sha256sum([corpus_files / f.path for f in facts.files])
    assert len(facts.files) == len(list(corpus_files.iterdir()))
    for f in facts.files:
        assert f.sha256 == expected[corpus_files / f.path], f.path


def test_real_model_hashes_equal_sha256sum() -> None:
    facts = collect_facts(str(REAL_MODEL))
    expected = _sha256sum([REAL_MODEL / f.path for f in facts.files])
    assert {f.sha256 for f in facts.files} == set(expected.values())
    weights = next(f for f in facts.files if f.path == "model.safetensors")
    assert weights.sha256 is not None and weights.sha256.startswith("53aa5117")


def test_large_file_pipelined_hash_equals_sha256sum(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(hashing.PIPELINE_MIN_SIZE + 12345))
    assert hashing.sha256_file(big) == _sha256sum([big])[big]


def test_one_thread_hashes_on_the_callers_thread_alone(
    tricky_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tricky_dir / "big.bin"
    big.write_bytes(os.urandom(hashing.PIPELINE_MIN_SIZE + 12345))
    files = {str(p.relative_to(tricky_dir)): p for p in tricky_dir.rglob("*") if p.is_file()}
    expected = _sha256sum(list(files.values()))

    def no_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread was started")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    digests = hashing.sha256_files(files, workers=1)
    assert digests == {name: expected[path] for name, path in files.items()}


def test_one_thread_per_worker_gives_the_same_facts(tricky_dir: Path) -> None:
    one = collect_facts(str(tricky_dir), options=CollectOptions(hash_threads=1))
    assert one.files == collect_facts(str(tricky_dir)).files


def test_manifest_digest_equals_model_signing(tricky_dir: Path) -> None:
    facts = collect_facts(str(tricky_dir))
    assert facts.subject.digest == f"sha256:{_model_signing_digest(tricky_dir)}"
    assert facts.manifest is not None and facts.manifest.excluded == [".gitattributes"]


def test_manifest_digest_of_real_model_equals_model_signing() -> None:
    facts = collect_facts(str(REAL_MODEL))
    assert facts.subject.digest == f"sha256:{_model_signing_digest(REAL_MODEL)}"


def test_manifest_digest_of_single_file_equals_model_signing(corpus_files: Path) -> None:
    path = corpus_files / "modelaudit__samples__safetensors__safe_model.safetensors"
    assert collect_facts(str(path)).subject.digest == f"sha256:{_model_signing_digest(path)}"


def test_progress_counts_every_byte(tricky_dir: Path) -> None:
    seen: list[int] = []
    facts = collect_facts(str(tricky_dir), progress=seen.append)
    assert sum(seen) == sum(f.size for f in facts.files)
