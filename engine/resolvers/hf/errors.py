"""Plain-language reasons for what ``huggingface_hub`` raises."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    IncompleteSnapshotError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from modelward.engine.resolvers.hf.network import TIMEOUT_ENV, HubSilent, hub_timeout


def hub_error_reason(exc: BaseException, endpoint: str) -> str:
    """Why a Hub call failed, from the most telling exception in ``exc``'s chain."""
    chain = list(_chain(exc))
    for error in chain:
        reason = _specific(error, endpoint)
        if reason is not None:
            return reason
    if any(isinstance(e, IncompleteSnapshotError) for e in chain):
        return "the cached snapshot is incomplete and the Hub could not be asked for the rest"
    if any(isinstance(e, LocalEntryNotFoundError) for e in chain):
        return "it is not in the Hugging Face cache and could not be downloaded"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def is_rate_limited(exc: BaseException) -> bool:
    return any(_status(e) == 429 for e in _chain(exc))


def _specific(error: BaseException, endpoint: str) -> str | None:
    if isinstance(error, HubSilent):
        return str(error)
    if isinstance(error, GatedRepoError):
        return "the repository is gated: accept its conditions on the Hub and set HF_TOKEN"
    if isinstance(error, RepositoryNotFoundError):
        return f"repository not found on {endpoint} (a private repository also needs HF_TOKEN)"
    if isinstance(error, RevisionNotFoundError):
        return "that revision does not exist in the repository"
    if isinstance(error, DisabledRepoError):
        return "the repository has been disabled on the Hub"
    status = _status(error)
    if status == 429:
        return f"{endpoint} answered HTTP 429 (rate limited); try again later or set HF_TOKEN"
    if status is not None:
        return f"{endpoint} answered HTTP {status}"
    if isinstance(error, OfflineModeIsEnabled):
        return "offline mode is on (HF_HUB_OFFLINE) and the model is not in the cache"
    if isinstance(error, httpx2.TimeoutException):
        return f"{endpoint} answered nothing for {hub_timeout():g} s (${TIMEOUT_ENV})"
    if isinstance(error, httpx2.TransportError):
        return f"cannot reach {endpoint}: {_first_line(error)}"
    return None


def _status(error: BaseException) -> int | None:
    if isinstance(error, HfHubHTTPError):
        return int(error.response.status_code)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
