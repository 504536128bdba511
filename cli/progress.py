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


AnalysisProgress = Callable[[float | None, str], None]


@contextmanager
def collect_progress(
    total: int, analysing: bool, enabled: bool | None = None
) -> Iterator[tuple[Callable[[int], None] | None, AnalysisProgress | None]]:
    """Like ``hashing_progress``, plus a bar for the behaviour analysis when it runs.

    One display holds both bars (a terminal shows one live display at a time). The analysis
    bar advances with the fraction the analysis reports and shows its current stage.
    """
    if not analysing:
        with hashing_progress(total, enabled) as hashed:
            yield hashed, None
        return
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None, None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.fields[what]:<10}"), BarColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        hashing = bar.add_task("", total=max(total, 1), what="hashing")
        analysis = bar.add_task("", total=1.0, what="behaviour", start=False)

        def analysed(fraction: float | None, label: str) -> None:
            bar.start_task(analysis)
            done = min(max(fraction, 0.0), 1.0) if fraction is not None else None
            bar.update(analysis, completed=done, description=label[-50:])

        yield (lambda n: bar.advance(hashing, n)), analysed


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
