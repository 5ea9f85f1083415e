"""The capture's own account of itself: timed steps, page changes and the time budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collector.evidence.model import ChangeKind, PageChange, Step, StepStatus


def utcnow() -> datetime:
    """The current time, UTC, timezone-aware."""
    return datetime.now(UTC)


class Deadline:
    """A hard end time for the whole capture, measured on the monotonic clock."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self._start = time.monotonic()
        self._end = self._start + total_s

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def budget(self, limit: float, reserve: float = 0.0) -> float:
        """The smaller of `limit` and what is left once `reserve` seconds are kept back."""
        return max(0.0, min(limit, self.remaining() - reserve))

    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass
class StepHandle:
    """Mutable status and detail of the step being run."""

    status: StepStatus = StepStatus.ok
    details: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.details.append(text)

    def timeout(self, text: str) -> None:
        self.status = StepStatus.timeout
        self.details.append(text)

    def fail(self, text: str) -> None:
        self.status = StepStatus.failed
        self.details.append(text)

    def skip(self, text: str) -> None:
        self.status = StepStatus.skipped
        self.details.append(text)


class Journal:
    """Collects `Step`s and `PageChange`s in the order they happen."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.changes: list[PageChange] = []
        self.current: str | None = None
        """The step being run (None between steps)."""

    def change(self, kind: ChangeKind, detail: str) -> None:
        self.changes.append(PageChange(kind=kind, at=utcnow(), detail=detail))

    @contextmanager
    def step(self, name: str) -> Iterator[StepHandle]:
        """Time a step; an exception escaping it marks the step failed and propagates."""
        handle = StepHandle()
        started = utcnow()
        self.current = name
        try:
            yield handle
        except BaseException as exc:
            handle.fail(one_line(exc))
            raise
        finally:
            self.current = None
            self.steps.append(
                Step(
                    name=name,
                    started_at=started,
                    ended_at=utcnow(),
                    status=handle.status,
                    detail="; ".join(handle.details),
                )
            )

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """The first line of an error message, bounded: Playwright messages carry call logs."""
    text = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:limit]
