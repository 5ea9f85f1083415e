"""Log-in throttling by address: the store already slows each user name after wrong
passphrases; this stops one address trying many names (a spray) for a while. Kept in memory:
it lasts while the server runs, like its sessions."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

FAILURES = 10
"""Failed log-ins from one address within WINDOW before it is refused for the rest of it."""
WINDOW = timedelta(minutes=15)


class AddressThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, at: datetime) -> deque[datetime]:
        found = self._failures.setdefault(address, deque())
        while found and at - found[0] > WINDOW:
            found.popleft()
        return found

    def blocked(self, address: str, at: datetime) -> bool:
        with self._lock:
            return len(self._recent(address, at)) >= FAILURES

    def failed(self, address: str, at: datetime) -> None:
        with self._lock:
            self._recent(address, at).append(at)
