"""Worker handlers for the process pool tests; imported by the spawned worker processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def start_probe(prefix: str) -> Callable[[str], str]:
    """A handler that echoes, reports what the process can see, fails or dies on request."""

    def handle(request: str) -> str:
        if request == "die":
            os._exit(3)
        if request == "raise":
            raise ValueError("no such thing")
        if request == "env":
            return ",".join(sorted(k for k in os.environ if k.startswith("MODELWARD_")))
        if request == "big":
            return "x" * (18 << 20)
        if request == "pid":
            return str(os.getpid())
        if request == "slow":  # long enough for another worker to answer several requests
            time.sleep(2)
            return str(os.getpid())
        if request.startswith("pid:"):
            return str(os.getpid())
        return f"{prefix}{request}"

    return handle


def start_failing(reason: str) -> Callable[[str], str]:
    raise RuntimeError(reason)
