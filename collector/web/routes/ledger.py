"""The store's own records: the ledger (`collector ledger show`, `verify`, `checkpoint`), the key
registry and the agency's key list (`collector keys list`, `keys export`), and the schema
status (`collector store status`). Read-only like those commands, under the read permission
they check for an acting user; a checkpoint is signed with the key the form's passphrase
unlocks, as `ledger checkpoint --new` signs it with the acting user's.

These pages hold no user key: the verification and each download are recorded as the store's
own rows naming the session's user (`session_user`), as the bundle page's verification is."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.disclosure.keylist import key_list
from collector.errors import DamagedStore, Refused, UsageError
from collector.evidence.bundle.verify import Check
from collector.evidence.checkpoint import Checkpoint
from collector.store import checkpoints, ledger_verify
from collector.store.actions import LedgerAction
from collector.store.ledger_verify import LedgerReport
from collector.store.roles import Action
from collector.store.store import Identity, Store
from collector.web import downloads
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text, uploaded
from collector.web.render import page
from collector.web.settings import DOWNLOAD_CSP

PER_PAGE = 50
KEYS_FILE = "agency-keys.json"


def _attachment(path: Path, digest: str, media_type: str = "application/json") -> Response:
    return FileResponse(path, media_type=media_type, filename=path.name, content_disposition_type="attachment",
                        headers=_digest_headers(digest))  # fmt: skip


def _digest_headers(digest: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256": digest,
        "Digest": "sha-256=" + base64.b64encode(bytes.fromhex(digest)).decode(),
    }


def _reader(request: Request, store: Store) -> Identity:
    who = signed_in(store, request)
    store.require(who, Action.read)
    return who


# --------------------------------------------------------------------- the ledger


def _number(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() and 0 < int(value) < 10**9 else 1


def _ledger_page(request: Request, store: Store, who: Identity, *, status: int = 200, error: str | None = None,
                 made: checkpoints.Made | None = None) -> Response:  # fmt: skip
    """The newest events first, a page at a time; only those about one id with `?subject=`."""
    subject = request.query_params.get("subject", "").strip()
    total = store.ledger.event_count(subject or None)
    pages = max(1, math.ceil(total / PER_PAGE))
    number = min(_number(request.query_params.get("page")), pages)
    newest_first = store.ledger.newest_events(PER_PAGE, (number - 1) * PER_PAGE, subject or None)
    rows = [(e, json.dumps(e.details, ensure_ascii=False)[:160]) for e in newest_first]  # as `ledger show`
    return page(request, "ledger.html", who, status=status, error=error, made=made, rows=rows,
                subject=subject, number=number, pages=pages, total=total,
                newest=checkpoints.newest(store))  # fmt: skip


def ledger(request: Request) -> Response:
    with opened(request) as store:
        return _ledger_page(request, store, _reader(request, store))


def _verified(request: Request, store: Store, who: Identity, held: Checkpoint | None = None,
              source: str = "") -> Response:  # fmt: skip
    """`collector ledger verify [--against FILE]`: the same checks and lines, recorded as
    `ledger.verify` (the store's own row naming the session's user)."""
    try:
        report = ledger_verify.verify_ledger(store, held, source)
    except DamagedStore as exc:  # a ledger that cannot be read has failed verification
        report = LedgerReport(ok=False, event_count=0, checks=[Check(name="ledger", ok=False, detail=str(exc))])
    else:
        ledger_verify.record(store, report, None, {"against": source or None, "imported": None,
                                                   "session_user": who.user.name})  # fmt: skip
    return page(request, "ledger_verify.html", who, report=report, against=source)


def verify(request: Request) -> Response:
    with opened(request) as store:
        return _verified(request, store, _reader(request, store))


def verify_against(request: Request, form: FormData) -> Response:
    """The same, against a checkpoint held elsewhere, posted as a file (read, never kept)."""
    with opened(request) as store:
        who = _reader(request, store)
        try:
            held = uploaded(form, "checkpoint", checkpoints.MAX_FILE)
            if held is None:
                raise UsageError("choose the checkpoint file to verify the ledger against")
            checkpoint = checkpoints.parse(held.data, held.name)
        except UsageError as exc:
            return page(request, "problem.html", who, status=400, title="Not verified", message=str(exc))
        return _verified(request, store, who, checkpoint, held.name)


def checkpoint(request: Request, form: FormData) -> Response:
    """`collector ledger checkpoint --new`: a checkpoint of the ledger's head now, signed by you."""
    with opened(request) as store:
        who = _reader(request, store)
        try:
            if store.read_only:
                raise UsageError("the store is on read-only media: nothing can be made or recorded here")
            actor = proven(store, request, text(form, "passphrase"))
            made = checkpoints.make(store, actor, "request")
        except (UsageError, Refused) as exc:
            return _ledger_page(request, store, who, status=403 if isinstance(exc, Refused) else 400, error=str(exc))
        return _ledger_page(request, store, who, made=made)


def checkpoint_file(request: Request) -> Response:
    """The newest checkpoint as `ledger checkpoint --out` writes it, to keep elsewhere."""
    with opened(request) as store:
        who = _reader(request, store)
        newest = checkpoints.newest(store)
        if newest is None:
            raise UsageError("this store has no checkpoint yet: make one")
        body = checkpoints.as_file(newest).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        name = f"checkpoint-{newest.statement.event_count:08d}.json"
        store.ledger.record(LedgerAction.web_download, actor=None, subject="ledger",
                            details={"kind": "checkpoint", "file": name, "sha256": digest,
                                     "event_count": newest.statement.event_count,
                                     "session_user": who.user.name})  # fmt: skip
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', **_digest_headers(digest)})  # fmt: skip


# --------------------------------------------------------------------- keys


def keys(request: Request) -> Response:
    """`collector keys list`, and the form that makes the agency's key list (`keys export`)."""
    with opened(request) as store:
        who = _reader(request, store)
        return page(request, "keys.html", who, entries=store.ledger.key_registry())


def keys_export(request: Request, form: FormData) -> Response:
    """`collector keys export`: the key list written once into the downloads folder, so the
    digest shown is the digest of the file downloaded."""
    with opened(request) as store:
        who = _reader(request, store)
        if store.read_only:
            raise UsageError("the store is on read-only media: nothing can be made here")
        slot = downloads.new_slot(store)
        try:
            listed = key_list(store)
            out = slot.directory / KEYS_FILE
            out.write_text(listed.text(), encoding="utf-8")
            made = downloads.record(slot, who, "keys", out, [], [
                f"the key list of {listed.agency} ({listed.format}), made {listed.exported_at}",
                f"{len(listed.keys)} keys, {len(listed.certificates)} certificates, "
                f"{len(listed.tsa_roots)} time-stamp roots"])  # fmt: skip
        except BaseException:
            downloads.discard(slot)
            raise
    return RedirectResponse(f"/keys/lists/{made.id}", status_code=303)


def _key_list_made(store: Store, who: Identity, ident: str) -> downloads.Made:
    made = downloads.load(store, ident)
    if made.kind != "keys":
        raise UsageError(f"no key list {ident!r}")
    downloads.refuse_others(store, who, made)
    return made


def key_list_page(request: Request) -> Response:
    with opened(request) as store:
        who = _reader(request, store)
        made = _key_list_made(store, who, request.path_params["download_id"])
        return page(request, "key_list.html", who, made=made)


def key_list_file(request: Request) -> Response:
    """The key list as an attachment, checked against its digest; a `web.download` row."""
    with opened(request) as store:
        who = _reader(request, store)
        made = _key_list_made(store, who, request.path_params["download_id"])
        path, digest = downloads.fetch(store, who, made, made.file)
    return _attachment(path, digest)


# --------------------------------------------------------------------- the store


def store_status(request: Request) -> Response:
    """`collector store status`: the ledger's schema revision and whether this version uses it."""
    with opened(request) as store:
        who = _reader(request, store)
        return page(request, "store.html", who, root=str(store.root), found=store.ledger.schema_status())


ROUTES: list[BaseRoute] = [
    Route("/ledger", ledger, methods=["GET"]),
    Route("/ledger/verify", verify, methods=["GET"]),
    Route("/ledger/verify", checked(verify_against, max_files=1, max_bytes=checkpoints.MAX_FILE), methods=["POST"]),
    Route("/ledger/checkpoint", checkpoint_file, methods=["GET"]),
    Route("/ledger/checkpoint", checked(checkpoint), methods=["POST"]),
    Route("/keys", keys, methods=["GET"]),
    Route("/keys/export", checked(keys_export), methods=["POST"]),
    Route("/keys/lists/{download_id}", key_list_page, methods=["GET"]),
    Route("/keys/lists/{download_id}/file", key_list_file, methods=["GET"]),
    Route("/store", store_status, methods=["GET"]),
]
