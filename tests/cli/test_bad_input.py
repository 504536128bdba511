"""Hostile or broken input gives a clear message naming the path and the reason."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from tests.cli.helpers import run, scan_json

# Root reads any file; drop the capabilities that let it, so permissions apply.
NO_DAC = (
    ("setpriv", "--bounding-set", "-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
)


def _finding_ids(doc: dict) -> dict[str, dict]:
    return {f["id"]: f for f in doc["facts"]["scan"]["findings"]}


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    proc = run("scan", str(missing))
    assert proc.returncode == 2
    assert f"error: {missing}: no such file or directory" in proc.stderr


def test_unreadable_file_is_a_finding_and_incomplete(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text("{}")
    secret = tmp_path / "weights.bin"
    secret.write_bytes(b"\x80\x02]q\x00.")
    secret.chmod(0)
    proc = run("scan", str(tmp_path), "--format", "json", prefix=NO_DAC)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    finding = _finding_ids(doc)["source.unreadable"]
    assert finding["file"] == "weights.bin"
    assert "Permission denied" in finding["message"]
    assert doc["facts"]["scan"]["complete"] is False
    assert "scan-incomplete" in {d["id"] for d in doc["decision"]["deny"]}


def test_unreadable_single_file_is_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "weights.bin"
    secret.write_bytes(b"data")
    secret.chmod(0)
    proc = run("scan", str(secret), prefix=NO_DAC)
    assert proc.returncode in (1, 2)
    assert "weights.bin" in proc.stdout + proc.stderr
    assert "Permission denied" in proc.stdout + proc.stderr


def test_symlink_escaping_the_root_is_a_finding(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "escape.bin").symlink_to(outside)
    (model / "inside.json").symlink_to(model / "config.json")
    code, doc = scan_json(model)
    finding = _finding_ids(doc)["source.symlink_escape"]
    assert finding["file"] == "escape.bin" and finding["severity"] == "high"
    assert "outside the model root" in finding["message"]
    assert {f["path"] for f in doc["facts"]["files"]} == {"config.json", "inside.json"}
    assert code == 1


def test_fifo_is_skipped_with_a_finding_and_never_blocks(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    os.mkfifo(tmp_path / "weights.bin")
    proc = run("scan", str(tmp_path), "--format", "json", timeout=60)
    doc = json.loads(proc.stdout)
    finding = _finding_ids(doc)["source.special_file"]
    assert finding["file"] == "weights.bin"
    assert "FIFO skipped" in finding["message"]


def test_fifo_as_the_model_path_is_an_error(tmp_path: Path) -> None:
    fifo = tmp_path / "model.bin"
    os.mkfifo(fifo)
    proc = run("scan", str(fifo), timeout=60)
    assert proc.returncode == 2
    assert f"{fifo}: not a model file or directory (FIFO)" in proc.stderr


def test_empty_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "model.safetensors"
    empty.write_bytes(b"")
    _code, doc = scan_json(empty)
    finding = _finding_ids(doc)["file.empty"]
    assert finding["message"] == "model.safetensors: file is empty (0 bytes)"
    (facts_file,) = doc["facts"]["files"]
    assert facts_file["format"] == "empty" and facts_file["format_mismatch"] is True


def test_safetensors_header_longer_than_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(struct.pack("<Q", 10_000) + b'{"w": {"dtype": "F32"}}')
    code, doc = scan_json(bad)
    finding = _finding_ids(doc)["safetensors.header_length"]
    assert finding["severity"] == "high"
    assert "model.safetensors" in finding["message"]
    assert "header length 10000 is larger than the file (31 bytes)" in finding["message"]
    assert code == 1
    assert doc["facts"]["scan"]["complete"] is False
