"""Which file names are dependency manifests (cheap: no parser is imported here)."""

from __future__ import annotations

import posixpath
import re
from typing import Final

_REQUIREMENTS: Final = re.compile(r"(?:.*/)?(?:requirements[^/]*\.txt|requirements/[^/]+\.txt)")
_KINDS: Final = {
    "pyproject.toml": "pyproject", "setup.cfg": "setup.cfg", "setup.py": "setup.py",
    "environment.yml": "environment", "environment.yaml": "environment",
    "conda.yml": "environment", "conda.yaml": "environment", "pipfile": "pipfile",
}  # fmt: skip


def manifest_kind(path: str) -> str | None:
    """The kind of manifest ``path`` names, or None."""
    if _REQUIREMENTS.fullmatch(path.lower()):
        return "requirements"
    return _KINDS.get(posixpath.basename(path).lower())
