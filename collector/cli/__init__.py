"""The command line: thin wrappers that turn results and typed errors into text, JSON and exit codes.

Exit codes: 0 ok · 1 verification failed · 2 bad input · 3 refused · 4 technical failure ·
5 purged under policy (verify).
"""

from __future__ import annotations

import os
import signal
import sys

import typer

from collector.cli import (  # noqa: F401 - importing registers the commands
    admin,
    aliases,
    audit,
    authz,
    custody,
    evidence,
    exhibit,
    grading,
    policy,
    retention,
)
from collector.cli.common import app
from collector.errors import EXIT_TECHNICAL, CollectorError

__all__ = ["app", "main"]


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Entry point: map typed errors to one-line messages and exit codes, never a traceback."""
    # Our own handler for both: asyncio.run then leaves SIGINT alone, so Ctrl-C cannot be
    # swallowed as a task cancellation inside the browser session; a kill cleans up likewise.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("collector: aborted", err=True)
        sys.exit(130)
    except CollectorError as exc:
        typer.echo(f"collector: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("collector: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence against tracebacks
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # bad command line
            typer.echo(f"collector: {exc.format_message()}", err=True)
            sys.exit(2)
        if os.environ.get("COLLECTOR_DEBUG"):
            raise
        typer.echo(f"collector: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_TECHNICAL)
    sys.exit(code if isinstance(code, int) else 0)
