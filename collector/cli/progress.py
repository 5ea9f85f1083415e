"""The live progress of a batch on a terminal (rich), on standard error so that standard
output stays one line per URL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from collector.evidence.text import for_terminal


class BatchProgress:
    """A bar for the batch and a line for each URL at work; nothing when not on a terminal.
    `working` may be called from the batch's capture threads (rich serialises its updates)."""

    def __init__(self, total: int, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console or Console(stderr=True), transient=False,
        )  # fmt: skip
        self._task = self._progress.add_task("batch", total=total)
        self._working: dict[int, Any] = {}
        self._counts = {"captured": 0, "refused": 0, "failed": 0}

    def working(self, number: int, url: str) -> None:
        from rich.markup import escape

        shown = escape(for_terminal(url)[:80])  # a URL is neither a control sequence nor markup
        self._working[number] = self._progress.add_task(f"\\[{number}] capturing {shown}", total=None)
        self._progress.refresh()

    def done(self, number: int, outcome: str) -> None:
        task = self._working.pop(number, None)
        if task is not None:
            self._progress.remove_task(task)
        self._counts[outcome] = self._counts.get(outcome, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in self._counts.items() if n)
        self._progress.update(self._task, advance=1, description=f"batch: {summary}")

    @contextmanager
    def shown(self) -> Iterator[BatchProgress]:
        with self._progress:
            yield self


@contextmanager
def batch_progress(total: int, wanted: bool) -> Iterator[BatchProgress | None]:
    """A live display when `wanted` and standard error is a terminal, else None."""
    if not wanted or not sys.stderr.isatty():
        yield None
        return
    with BatchProgress(total).shown() as shown:
        yield shown
