"""Hashing and download progress bars on a terminal; nothing when output is piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from modelward.engine.resolvers.fetch import ProgressFactory, no_progress


@contextmanager
def hashing_progress(
    total: int, enabled: bool | None = None
) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback that advances a bar by bytes hashed, or None when not on a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or total <= 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("hashing"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("hashing", total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def download_progress(enabled: bool | None = None) -> Iterator[ProgressFactory]:
    """Yield a factory of download bars (one per file fetched), drawn only on a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:

        def start(label: str, total: int | None) -> Callable[[int], None]:
            task = bar.add_task(f"fetching {label}", total=total)
            return lambda n: bar.advance(task, n)

        yield start


@contextmanager
def tally_progress(
    total: int, done: int = 0, enabled: bool | None = None
) -> Iterator[Callable[[str], None]]:
    """Yield a callback that counts one item done (and shows its label) on a terminal's bar."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("vetting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total, completed=done)
        yield lambda label: bar.update(task, advance=1, description=label[-60:])
