"""Shell scripts (and notebook shell lines): line patterns that fetch, decode or hide commands."""

from __future__ import annotations

import re
from typing import Final

from modelward.engine.collectors.code.rules import finding
from modelward.engine.facts import Finding

_FETCH = r"\b(?:curl|wget|fetch)\b"
_SHELL = r"(?:sudo\s+)?(?:(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby|node)\b"
#: (rule id, pattern, what it means); the first matching rule of a line is reported.
SHELL_RULES: Final = (
    ("code.shell.reverse_shell", re.compile(
        r"/dev/(?:tcp|udp)/|\b(?:nc|ncat|netcat)\b[^|;&]*\s-[a-z]*[ec]\b|\bsocat\b.*\bexec:|"
        r"\bmkfifo\b.*\b(?:nc|ncat)\b"
    ), "connects a shell to the network"),
    ("code.shell.decode_exec", re.compile(
        r"\b(?:base64|xxd|openssl\s+(?:enc|base64))\b[^|]*(?:\s-d\b|--decode|\s-r\b)[^|]*\|\s*"
        + _SHELL + r"|\beval\b.*\b(?:base64|xxd)\b.*(?:-d|--decode)"
    ), "decodes text and runs it"),
    ("code.shell.pipe_to_shell", re.compile(
        _FETCH + r"[^|;&]*\|\s*" + _SHELL + r"|" + _SHELL + r"\s+(?:-c\s+)?[\"']?\$\(\s*"
        + _FETCH + r"|" + _SHELL + r"\s+<\(\s*" + _FETCH
    ), "runs what it downloads"),
    ("code.shell.credentials", re.compile(
        r"~?/?\.(?:aws|ssh|kube|docker|gnupg)/|id_rsa|\.netrc\b|\.git-credentials|"
        r"huggingface/token|/etc/shadow|\b(?:env|printenv)\s*\|\s*" + _FETCH
        + r"|" + _FETCH + r".*(?:-d|--data[a-z-]*|-F)\s+[\"']?\$\((?:env|printenv)"
    ), "reads credentials or sends the environment"),
    ("code.shell.destructive", re.compile(
        r"\brm\s+-[a-z]*r[a-z]*f?[a-z]*\s+(?:/|~|\$HOME)(?:\s|$|/\*)|\bcrontab\b|"
        r">>?\s*~?/?\.(?:bashrc|profile|zshrc|bash_profile)\b|\bchmod\s+[ug]?\+s\b|"
        r"authorized_keys"
    ), "deletes or changes the system, or persists"),
    ("code.shell.pip_url", re.compile(
        r"\bpip[0-9.]*\s+install\b.*(?:git\+|https?://|\s--(?:extra-)?index-url\b)"
    ), "installs a package from outside the package index"),
    ("code.shell.download", re.compile(_FETCH + r"\s"), "downloads files"),
)  # fmt: skip


def analyse_shell(
    text: str, path: str, *, member: str | None = None, first_line: int = 1
) -> list[Finding]:
    """One finding per line that matches a rule (continuation lines are joined)."""
    found: list[Finding] = []
    for number, line in _logical_lines(text):
        code = line.split(" #", 1)[0].strip()
        if not code or code.startswith("#"):
            continue
        for rule_id, pattern, meaning in SHELL_RULES:
            if pattern.search(code):
                line_no = number + first_line - 1
                found.append(
                    finding(rule_id, path, line_no, f"{meaning}: {code[:160]}", member=member)
                )
                break
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the number of its first line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 1
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out
