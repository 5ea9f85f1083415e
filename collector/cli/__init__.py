"""The command line: thin wrappers that turn results and typed errors into text, JSON and exit codes.

Exit codes: 0 ok · 1 verification failed · 2 bad input · 3 refused · 4 technical failure ·
5 purged under policy (verify).
"""

from __future__ import annotations

import errno
import functools
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

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
    queue,
    retention,
    serve,
    wacz,
    watch,
)
from collector.cli.common import app
from collector.cli.limits import checked
from collector.errors import EXIT_TECHNICAL, CollectorError
from collector.evidence.text import for_terminal

__all__ = ["app", "main", "run"]


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


MAX_ERROR = 1_000
BAD_PATH = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.EISDIR})
"""Errors of a path given on the command line: bad input (exit 2), not a failure of the tool."""


def _one_line(message: str) -> str:
    """An error as one line a terminal shows as text: escapes for control characters, line
    breaks as spaces, at most MAX_ERROR characters."""
    text = for_terminal(message).replace("\n", " ")
    return text if len(text) <= MAX_ERROR else f"{text[:MAX_ERROR]}… ({len(text)} characters)"


@functools.cache
def _command() -> Any:
    """The command tree, built once, with every free-text option held to its maximum."""
    return checked(typer.main.get_command(app))


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit code; errors become one line on stderr.

    `main` is the installed entry point; tests call `run` in-process.
    """
    try:
        code = _command().main(args=list(argv) if argv is not None else None, prog_name="collector",
                   standalone_mode=False)  # fmt: skip
    except typer.Abort:
        typer.echo("collector: aborted", err=True)
        return 130
    except CollectorError as exc:
        typer.echo(f"collector: {_one_line(str(exc))}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("collector: interrupted", err=True)
        return 130
    except OSError as exc:  # a path that cannot be (too long, a loop) or a failing system
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        if exc.errno in BAD_PATH:
            typer.echo(f"collector: {_one_line(what)}", err=True)
            return 2
        typer.echo(f"collector: technical failure: {_one_line(what)}", err=True)
        return EXIT_TECHNICAL
    except Exception as exc:  # the last line of defence against tracebacks
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # bad command line
            typer.echo(f"collector: {_one_line(exc.format_message())}", err=True)
            return 2
        if os.environ.get("COLLECTOR_DEBUG"):
            raise
        typer.echo(
            f"collector: internal error (a bug; please report it with the command that caused "
            f"it): {type(exc).__name__}: {_one_line(str(exc))}",
            err=True,
        )
        return EXIT_TECHNICAL
    return code if isinstance(code, int) else 0


def _unraisable(hook_args: Any) -> None:
    """Errors Python can only report as `Exception ignored in …` (a coroutine or transport
    collected while an interrupt unwinds the browser session) are not this command's outcome,
    which its exit code and one line already say: shown only with COLLECTOR_DEBUG."""
    if os.environ.get("COLLECTOR_DEBUG"):
        sys.__unraisablehook__(hook_args)


def main() -> None:
    """Entry point: map typed errors to one-line messages and exit codes, never a traceback."""
    sys.unraisablehook = _unraisable
    if not os.environ.get("COLLECTOR_DEBUG"):  # likewise asyncio's "never retrieved" reports
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    # Our own handler for both: asyncio.run then leaves SIGINT alone, so Ctrl-C cannot be
    # swallowed as a task cancellation inside the browser session; a kill cleans up likewise.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    # The modules and the command tree live until the process ends: collections skip them,
    # and so does the interpreter's own walk through everything at exit (a quarter second).
    gc.freeze()
    code = run()
    gc.freeze()
    sys.exit(code)
