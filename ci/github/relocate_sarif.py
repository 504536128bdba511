"""Make a modelward SARIF log's locations relative to the repository, for code scanning.

modelward locates findings relative to the scanned model (``model.pkl``, or an archive member
such as ``ckpt/data.pkl``). Code scanning maps an alert to a file by its path in the
repository, so for a model inside the working folder each file location gets the model's
folder as a prefix, and a location inside an archive moves to the archive file itself (the
member stays in the result's properties). Remote models and paths outside the working folder
are left as they are.

Usage: python relocate_sarif.py SARIF_FILE MODEL_PATH
"""

from __future__ import annotations

import json
import posixpath
import sys
from pathlib import Path
from typing import Any


def model_base(model: str, workdir: Path) -> str | None:
    """The model's folder relative to ``workdir`` (POSIX), or None when it is not in there."""
    path = Path(model)
    if "://" in model or not path.exists():
        return None
    folder = (path if path.is_dir() else path.parent).resolve()
    try:
        return folder.relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return None


def relocate_run(run: dict[str, Any], base: str) -> None:
    artifacts: list[dict[str, Any]] = run.get("artifacts", [])
    for artifact in artifacts:
        if "parentIndex" not in artifact:
            location = artifact["location"]
            location["uri"] = posixpath.normpath(posixpath.join(base, location["uri"]))
    for result in run.get("results", []):
        for location in result.get("locations", []):
            physical = location["physicalLocation"]
            index = physical["artifactLocation"]["index"]
            while "parentIndex" in artifacts[index]:  # an archive member: its outermost file
                index = artifacts[index]["parentIndex"]
                physical.pop("region", None)  # a member's byte offset is not the file's
            uri = artifacts[index]["location"]["uri"]
            physical["artifactLocation"] = {"uri": uri, "index": index}


def main(sarif_file: str, model: str) -> int:
    base = model_base(model, Path.cwd())
    if base is None:
        return 0
    path = Path(sarif_file)
    log = json.loads(path.read_text(encoding="utf-8"))
    for run in log["runs"]:
        relocate_run(run, base)
    path.write_text(json.dumps(log, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
