"""Errors of the admission front end; all derive from the one base ``Error``."""

from __future__ import annotations

from modelward.engine.errors import Error


class ConfigError(Error):
    """The webhook configuration file is missing or invalid."""


class InvalidReview(Error):
    """A request body that is not an AdmissionReview the webhook can answer (HTTP 400)."""


class MalformedObject(Error):
    """A workload object with a field of the wrong type where a model reference could hide."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
