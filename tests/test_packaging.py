"""The built wheel carries every subpackage and the policy library (editable installs hide gaps)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_contains_all_packages_and_policies(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--wheel", "--quiet", "--out-dir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("modelward-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in [
        *REPO.glob("engine/**/*.py"),
        *REPO.glob("cli/**/*.py"),
        *REPO.glob("admission/**/*.py"),
    ]:
        assert f"modelward/{source.relative_to(REPO).as_posix()}" in names, source
    for data in [*REPO.glob("policies/**/*.rego"), *REPO.glob("policies/**/*.json")]:
        assert f"modelward/{data.relative_to(REPO).as_posix()}" in names, data
    assert not any(n.startswith(("engine/", "cli/", "policies/")) for n in names)
