"""The ``modelward`` command: error handling around the command tree in ``modelward.cli.app``.

``modelward --version`` answers before anything else is imported; every other command imports
only its own module (see ``modelward.cli.app``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from modelward.cli.exit import EXIT_ERROR
from modelward.engine import __version__

if TYPE_CHECKING:
    import typer


def __getattr__(name: str) -> typer.Typer:
    """``app`` (the Typer application) is built on first access, not at import."""
    if name == "app":
        from modelward.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"modelward {__version__}\n")
        return
    # Facts are validated by pydantic; no third-party plugin from the environment observes or
    # alters that (and discovering plugins costs every call an entry-point scan).
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    from modelward.cli.vet_workers import start_early

    start_early(sys.argv[1:])
    import typer

    from modelward.cli.app import app
    from modelward.engine.errors import Error
    from modelward.engine.extras import missing_extra

    try:
        app()
    except Error as exc:
        typer.echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug must still end as "error", never as a pass
        missing = missing_extra(exc)
        if missing is not None:  # an optional library imported where no extra is named
            typer.echo(f"error: {missing.diagnostics()}", err=True)
            sys.exit(EXIT_ERROR)
        if os.environ.get("MODELWARD_DEBUG"):
            import traceback

            traceback.print_exc()
        typer.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_ERROR)
