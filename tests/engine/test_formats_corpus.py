"""Content-based format detection on every corpus file, checked against the manifest labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.identify import formats
from tests.conftest import corpus_manifest

# Manifest label -> what modelward reports, where the names differ, and why.
MANIFEST_TO_DETECTED = {
    "keras-h5": "hdf5",  # detection reads the HDF5 signature; the scanner reads model_config
    "onnx-tensorproto-pb": "protobuf",  # a bare TensorProto: protobuf, but not an ONNX model
    # A proto-0 GLOBAL whose name is not UTF-8: not a pickle by content (the loader fails before
    # importing anything); the scanner still reads it as a pickle because of its .bin name.
    "pickle(torch-ext)": "text",
    "png(misnamed)": "png",
    "skops-zip": "skops",
    "tf-savedmodel-pb": "tf-savedmodel",
}


@pytest.mark.parametrize("row", corpus_manifest(), ids=lambda r: r["file"])
def test_detected_format_matches_manifest(row: dict[str, str], corpus_files: Path) -> None:
    path = corpus_files / row["file"]
    with path.open("rb") as fp:
        detected = formats.detect(fp, path.stat().st_size)
    assert detected == MANIFEST_TO_DETECTED.get(row["format"], row["format"])


def test_misnamed_png_is_a_mismatch() -> None:
    assert formats.is_mismatch("png", formats.claimed_format("bad_pytorch.pt"))
    assert not formats.is_mismatch("pytorch-zip", formats.claimed_format("model.bin"))
    assert formats.is_mismatch("pickle", formats.claimed_format("model.safetensors"))
    assert not formats.is_mismatch("pickle", formats.claimed_format("weights"))
