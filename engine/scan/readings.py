"""Which readings of a file to analyse: every way a loader would accept it.

The detected format is one reading. A pickle loader starts on any opcode, so a file whose head
is a pickle is also read as one whatever else it is; zip readers find an archive from its end;
and a name that tells a loader to unpickle (``.pt``, ``.bin``, ``.pkl``, ``.joblib``, ``.npy``
whose content is not npy) makes the content a pickle to that loader. A file named like a model
that no reading recognises is reported, never passed as clean.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import BinaryIO, Final

from modelward.engine.identify import formats

#: Claimed formats whose loaders unpickle content they do not otherwise recognise
#: (``torch.load``, ``pickle.load``, ``joblib.load``, ``numpy.load(allow_pickle=True)``).
PICKLE_CLAIMS: Final = frozenset({"pytorch", "pickle", "joblib", "numpy-npy", "numpy-npz"})
#: Claimed formats of model files whose loaders refuse anything else.
MODEL_CLAIMS: Final = frozenset({"safetensors", "gguf", "onnx", "keras", "hdf5", "skops"})
#: Detected formats a pickle reading adds nothing to (they are analysed as what they are).
ANALYSED_AS_CODE: Final = formats.CODE_EXECUTING | formats.ZIP_KINDS | frozenset({
    "tar", "7z", "gzip", "bzip2", "xz", "lzma", "zlib", "lfs-pointer",
})  # fmt: skip
#: Files TensorFlow and Keras read by name.
NAMED: Final = {
    "saved_model.pb": "tf-savedmodel",
    "saved_model.pbtxt": "tf-savedmodel-text",
    "keras_metadata.pb": "keras-metadata",
}


def readings(path: str, fmt: str, fp: BinaryIO, size: int) -> list[str]:
    """The formats to analyse ``fp`` as, the detected one first (when it has a scanner)."""
    name = PurePosixPath(path).name
    found = [NAMED.get(name, fmt)]
    claimed = formats.claimed_format(path)
    for other in formats.alternates(fp, size, fmt):
        if other not in found:
            found.append(other)
    if claimed in PICKLE_CLAIMS and not set(found) & (ANALYSED_AS_CODE | {"pickle"}):
        found.append("pickle")
    return found


def member_format(name: str, fmt: str, analysable: frozenset[str]) -> str:
    """The format an archive member is analysed as: what its loader reads it as by name (a
    SavedModel protobuf, a pickle named ``.pt``), else what its content is."""
    named = NAMED.get(PurePosixPath(name).name)
    if named is not None and fmt in ("protobuf", "text", "unknown", "tf-savedmodel"):
        return named
    if fmt not in analysable and formats.claimed_format(name) in PICKLE_CLAIMS:
        return "pickle"
    return fmt


def unrecognised(path: str, fmt: str) -> str | None:
    """Why a file named like a model whose content no loader of that name accepts is reported."""
    claimed = formats.claimed_format(path)
    if claimed not in MODEL_CLAIMS or not formats.is_mismatch(fmt, claimed):
        return None
    return f"the name claims {claimed}, but the content is {fmt}; its loader cannot read it"
