"""A workstation store's batches captured by its local capture system in a thread of the server,
after the request that signed them has ended: the investigator's key was let go with that
request, and the capture system seals (`batch.capture_requested`, as `collector capture --from`
does once the requests are signed). Each thread opens the store for itself."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from collector import batch
from collector.batch import Item
from collector.store.store import Store

logger = logging.getLogger("collector.web")

_lock = threading.Lock()
_running: set[str] = set()


def start(store_path: Path, batch_id: str, auth_id: str, todo: list[tuple[int, Item]], jobs_of: dict[int, str],
          concurrency: int) -> None:  # fmt: skip
    """Capture the batch's signed requests in a background thread of this server."""
    with _lock:
        _running.add(batch_id)
    thread = threading.Thread(target=_capture, name=f"capture {batch_id}", daemon=True,
                              args=(store_path, batch_id, auth_id, list(todo), dict(jobs_of), concurrency))  # fmt: skip
    thread.start()


def running(batch_id: str) -> bool:
    """Whether this server is capturing the batch now."""
    with _lock:
        return batch_id in _running


def _capture(store_path: Path, batch_id: str, auth_id: str, todo: list[tuple[int, Item]], jobs_of: dict[int, str],
             concurrency: int) -> None:  # fmt: skip
    try:
        store = Store.open(store_path)
        try:
            system = batch.local_system(store)
            if system is None:
                raise RuntimeError("the store has no local capture system")
            for result in batch.capture_requested(store, system, batch_id, auth_id, todo, jobs_of, concurrency):
                logger.info("%s item %d: %s %s", batch_id, result.number, result.outcome, result.bundle_id or "")
        finally:
            store.close()
    except Exception:  # the page says the batch is no longer being captured, and how to finish it
        logger.exception("batch %s stopped", batch_id)
    finally:
        with _lock:
            _running.discard(batch_id)
