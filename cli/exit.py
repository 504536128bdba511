"""Exit codes shared by every command: 0 allow, 1 deny, 2 error."""

from __future__ import annotations

EXIT_ALLOW = 0
EXIT_DENY = 1
EXIT_ERROR = 2

OUTCOME_EXIT = {"allow": EXIT_ALLOW, "deny": EXIT_DENY, "error": EXIT_ERROR}
