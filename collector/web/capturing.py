"""Starting a capture batch from the application (a page's form or an API call): the requests
signed exactly as `collector capture --from` signs them (`collector.batch`), each judged by the
gate now. On an agency store they are queued for the capture workers (`--queue`); on a
workstation store the store's local capture system captures them in a thread of this server
once the request has ended, so no investigator's key stays unlocked while a capture runs."""

from __future__ import annotations

from pathlib import Path

from collector import batch
from collector.errors import UsageError
from collector.jobs import queue
from collector.store.store import Actor, Store
from collector.web import runner


def check_runnable(store: Store) -> None:
    """UsageError when this store cannot run a capture without the requester's key."""
    if store.config.ledger.url is None and batch.local_system(store) is None:
        raise UsageError("this workstation store has no local capture system to run captures without your "
                         "key: an administrator runs `collector store upgrade`")  # fmt: skip


def start(store: Store, store_path: Path, actor: Actor, items: list[batch.Item], auth_id: str,
          concurrency: int, source: str) -> str:  # fmt: skip
    """Record the batch and sign each URL's capture request; queue them or hand them to the
    local capture system. The batch's id."""
    batch_id = batch.start(store, actor, items, auth_id, source)
    if store.config.ledger.url is not None:
        with queue.opened(store) as app:
            for _result in batch.queue(store, actor, batch_id, auth_id, items, app):
                pass  # each outcome is recorded; the progress page reads them
        return batch_id
    todo, jobs_of = list(enumerate(items, 1)), dict[int, str]()
    for _result in batch.request_items(store, actor, batch_id, auth_id, todo, jobs_of):
        pass  # a refusal is recorded with the gate's reason
    store.ledger.signers.people.pop(actor.user.name, None)
    del actor  # the investigator's key goes with this request: the local capture system seals
    if todo:
        runner.start(store_path, batch_id, auth_id, todo, jobs_of, concurrency)
    return batch_id
