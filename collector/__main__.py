"""The `collector` command and `python -m collector`.

A command that will capture in this process (one page, or a batch) starts the browser driver
first (`collector.browser.driver`), so that it starts while the program loads and the gate is
decided; then the command line runs (`collector.cli`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

GLOBAL_VALUED = ("--store", "--as")
"""The command line's global options that take a value (`collector.cli.common`)."""
NO_BROWSER = ("--queue", "--help", "-h")
"""Options with which `capture` runs no browser in this process (queued) or nothing."""


def captures_here(argv: Sequence[str]) -> bool:
    """Whether `argv` (without the program name) is a `capture` run in this process."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_VALUED:
            next(words, None)
        elif word.startswith("-"):
            continue
        else:
            rest = list(words)
            return word == "capture" and not any(
                w.split("=", 1)[0] in NO_BROWSER for w in rest
            )
    return False


def main() -> None:
    """Entry point: see the module's docstring."""
    early = captures_here(sys.argv[1:])
    if early:
        from collector.browser import start_early

        start_early()
    try:
        from collector.cli import main as cli_main

        cli_main()
    finally:
        if early:
            from collector.browser import stop_early

            stop_early()


if __name__ == "__main__":
    main()
