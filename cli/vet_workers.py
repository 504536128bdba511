"""What the ``vet --from`` worker processes load, and starting their fork server early.

The workers are forked from a fork server that imports ``WORKER_MODULES`` once. Started as the
command begins, before this process imports the command tree, the server does those imports on
another core while this process does its own, instead of after them.
"""

from __future__ import annotations

from collections.abc import Sequence

#: What lets a process sign: the key's location and its password. Workers never inherit them.
KEY_ENV = ("MODELWARD_SIGNING_KEY", "MODELWARD_KEY_PASSWORD")
#: What the workers' fork server imports once, so that no worker imports it again: the
#: worker's own modules and those the first models pull in (scanners, format probes).
WORKER_MODULES = (
    "concurrent.futures.thread",
    "modelward.cli.main",
    "modelward.cli.vet_from",
    "modelward.cli.options",
    "modelward.engine.policy.bundle",
    "modelward.engine.policy.evaluators.embedded",
    "modelward.engine.vetting.worker",
    "modelward.engine.identify.formats",
    "modelward.engine.scan.containers.archives",
    "modelward.engine.scan.embedded",
    "modelward.engine.scan.formats.safetensors",
    "modelward.engine.scan.pickles.files",
    "modelward.engine.scan.pickles.vm",
    "modelward.engine.scan.templates.files",
)


def start_early(argv: Sequence[str]) -> None:
    """Start the workers' fork server now when ``argv`` (the arguments after ``modelward``)
    asks for ``vet --from``; anything else, help included, starts nothing."""
    if not argv or argv[0] != "vet" or not _lists_models(argv[1:]):
        return
    from modelward.cli.vet_pool import start_fork_server

    start_fork_server(WORKER_MODULES, KEY_ENV)


def _lists_models(args: Sequence[str]) -> bool:
    if "--help" in args:
        return False
    return any(arg == "--from" or arg.startswith("--from=") for arg in args)
