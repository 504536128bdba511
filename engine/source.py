"""``ModelSource``: the read-only set of files a resolver hands to the collectors."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from modelward.engine.facts import Finding, SkippedPath
from modelward.engine.refs import ModelRef


@dataclass(frozen=True)
class SourceFile:
    """One regular file of the model: its path relative to the root and where to read it."""

    path: str
    real: Path
    size: int

    def open(self) -> BinaryIO:
        """Open read-only, refusing anything that is not a regular file by the time it opens."""
        return open_regular(self.real)


@dataclass
class ModelSource:
    """The files of one model, plus what the resolver found while gathering them."""

    ref: ModelRef
    root: Path
    files: list[SourceFile] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Paths left out because they are not model content (VCS or download metadata).
    skipped: list[SkippedPath] = field(default_factory=list)
    single_file: bool = False
    #: What a remote resolver learned on the way (e.g. "hub": the Hugging Face model info,
    #: resolved commit and LFS hashes), for the collectors that turn it into facts.
    metadata: dict[str, Any] = field(default_factory=dict)


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading without blocking on FIFOs; raise ``OSError`` unless regular."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"not a regular file ({describe_mode(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def describe_mode(mode: int) -> str:
    """A readable name for a file type."""
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISREG, "regular file"),
    ):
        if test(mode):
            return name
    return "unknown file type"
