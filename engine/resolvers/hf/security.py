"""The Hub's own security scan, read defensively into ``{"status", "files_with_issues"}``.

The Hub reports a repository-level ``securityRepoStatus`` (``scansDone``, ``filesWithIssues``
with a ``level`` each) and a per-file ``securityFileStatus``. Its verdict is evidence only: an
"unsafe" is reported, a "safe" never overrides modelward's own scan, and anything that could not
be read is "unavailable" or "unscanned", never "safe".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

#: Levels that are worth showing but do not make the repository unsafe. Any other level that is
#: not "safe" (``unsafe``, ``dangerous``, or one modelward does not know) counts as unsafe.
CAUTION_LEVELS: Final = frozenset({"caution", "suspicious", "warning", "info"})
#: Per-file states that mean "no verdict yet".
PENDING_STATES: Final = frozenset({"queued", "pending", "unscanned", "scanning", "error"})


def unavailable() -> dict[str, Any]:
    return {"status": "unavailable", "files_with_issues": []}


def hub_scan(
    repo_status: object, file_states: Mapping[str, str] | None, per_file_failed: bool
) -> dict[str, Any]:
    """Combine the repository status and the per-file states into one hub scan fact.

    ``file_states`` maps paths to the Hub's per-file status (None when it was not asked for);
    ``per_file_failed`` says the per-file query failed.
    """
    issues = dict.fromkeys(_repo_issues(repo_status))
    pending = False
    for path, state in sorted((file_states or {}).items()):
        level = state.strip().lower()
        if level in PENDING_STATES:
            pending = True
        elif level != "safe":
            issues[(path, level)] = None
    listed = [{"path": p, "level": lvl} for p, lvl in sorted(issues)]
    if any(lvl not in CAUTION_LEVELS for _, lvl in issues):
        return {"status": "unsafe", "files_with_issues": listed}
    if per_file_failed or not isinstance(repo_status, Mapping):
        status = "unavailable" if per_file_failed else "unscanned"
    elif repo_status.get("scansDone") is not True or pending:
        status = "unscanned"
    else:
        status = "safe"
    return {"status": status, "files_with_issues": listed}


def _repo_issues(repo_status: object) -> Iterable[tuple[str, str]]:
    if not isinstance(repo_status, Mapping):
        return
    entries = repo_status.get("filesWithIssues")
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        path, level = entry.get("path"), entry.get("level")
        if not isinstance(path, str) or not path:
            continue
        text = level.strip().lower() if isinstance(level, str) and level.strip() else "unknown"
        if text != "safe":
            yield path, text


def file_state(security: object) -> str | None:
    """The status string of a ``RepoFile.security`` (``BlobSecurityInfo``) or None."""
    if isinstance(security, Mapping):
        status = security.get("status")
    else:
        status = getattr(security, "status", None)
    return status if isinstance(status, str) and status.strip() else None
