"""The one error hierarchy of modelward. Every error explains itself through ``diagnostics()``."""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """Base class of every error modelward raises on purpose."""

    def diagnostics(self) -> str:
        """A human-readable explanation of what went wrong and what to do about it."""
        return str(self)


class InvalidReference(Error):
    """A model reference that cannot be parsed."""

    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"invalid model reference {ref!r}: {reason}")
        self.ref = ref
        self.reason = reason


class UnsupportedReference(Error):
    """A well-formed reference whose scheme has no resolver yet."""

    def __init__(self, ref: str, scheme: str) -> None:
        super().__init__(
            f"{ref}: references of scheme {scheme!r} are not supported yet; "
            "download the model and pass a local path"
        )
        self.ref = ref
        self.scheme = scheme


class ResolveError(Error):
    """A reference that parsed but does not lead to readable model files."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PolicyError(Error):
    """A policy bundle that cannot be loaded (syntax, missing METADATA, bad config)."""


class EvaluationError(Error):
    """The policy engine failed; the decision is ``error``, never ``allow``."""


def yaml_problem(origin: str, exc: Exception) -> str:
    """A YAML error as ``origin:line:column: invalid YAML: problem``, naming the real file
    (PyYAML's own text says ``"<unicode string>"``)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
    return f"{where}: invalid YAML: {_yaml_text(exc)}"


def validation_problems(exc: Any) -> str:
    """A pydantic ``ValidationError`` as ``a.b: message; c: message`` (field paths, no URLs)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
    )


def yaml_detail(exc: Exception) -> str:
    """``line L, column C: problem`` of a YAML error, without PyYAML's ``"<unicode string>"``."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + _yaml_text(exc)


def _yaml_text(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0] or type(exc).__name__
    context = getattr(exc, "context", None)
    return problem + (f" ({context})" if context else "")
