"""The Hugging Face settings in force, read from the environment at call time.

``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE`` once, when it
is imported. modelward reads them again for every resolution and passes them explicitly, so a
long-running process (or a test) that changes them is honoured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_ENDPOINT: Final = "https://huggingface.co"
TRUE_VALUES: Final = frozenset({"1", "ON", "YES", "TRUE"})


@dataclass(frozen=True)
class HubSettings:
    endpoint: str
    cache_dir: Path
    offline: bool

    @classmethod
    def from_environ(cls) -> HubSettings:
        env = os.environ
        endpoint = (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        offline = _true(env.get("HF_HUB_OFFLINE")) or _true(env.get("TRANSFORMERS_OFFLINE"))
        return cls(endpoint=endpoint, cache_dir=hub_cache_dir(), offline=offline)


def hub_cache_dir() -> Path:
    """``HF_HUB_CACHE`` as ``huggingface_hub`` computes it, from today's environment."""
    env = os.environ
    explicit = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(explicit)).expanduser()
    home = env.get("HF_HOME")
    if home:
        return Path(os.path.expandvars(home)).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(xdg).expanduser() / "huggingface" / "hub"


def repo_cache_folder(cache_dir: Path, repo: str) -> Path:
    """The cache folder of a model repository (``models--org--name``)."""
    return cache_dir / "--".join(["models", *repo.split("/")])


def _true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in TRUE_VALUES
