"""The `collector` command and `python -m collector`.

A command that will capture one page in a browser of its own starts the browser driver first
(`collector.browser.driver`), so that it starts while the program loads and the gate is
decided; then the command line runs (`collector.cli`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

GLOBAL_VALUED = ("--store", "--as")
"""The command line's global options that take a value (`collector.cli.common`)."""
NOT_ONE_CAPTURE = ("--queue", "--from", "--resume", "--help", "-h")
"""Options with which `capture` runs no browser of its own (queued, a batch) or nothing."""


def captures_one_page(argv: Sequence[str]) -> bool:
    """Whether `argv` (without the program name) is a `capture` of one page in this process."""
    words = iter(argv)
    for word in words:
        if word in GLOBAL_VALUED:
            next(words, None)
        elif word.startswith("-"):
            continue
        else:
            rest = list(words)
            return word == "capture" and not any(
                w.split("=", 1)[0] in NOT_ONE_CAPTURE for w in rest
            )
    return False


def main() -> None:
    """Entry point: see the module's docstring."""
    early = captures_one_page(sys.argv[1:])
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
