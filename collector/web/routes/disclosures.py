"""What leaves the agency, made in the browser: an export (zip, or zip with each bundle's signed
WACZ), one bundle's WACZ, an exhibit packet. Custodians only, through the functions the command
line calls (`collector export`, `wacz`, `exhibit`), signed with the key the form's passphrase
unlocks. The file is written into the store's work area and offered, with its SHA-256, to the
user who made it (and to custodians); each download is recorded in the ledger."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from collector.disclosure.exhibit.make import make_exhibit
from collector.disclosure.exhibit.sign import Pkcs12
from collector.disclosure.export.build import export
from collector.disclosure.wacz.build import make_wacz
from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence import text as texts
from collector.store.roles import Action
from collector.store.store import Actor, Identity, Store
from collector.web import downloads
from collector.web.context import opened, proven, signed_in
from collector.web.forms import checked, text, uploaded
from collector.web.render import page
from collector.web.settings import DOWNLOAD_CSP, DOWNLOADS_KEPT

JURISDICTIONS = ("us-federal", "us-federal-abroad")
MAX_PKCS12 = 256 * 1024
"""The largest signing certificate file taken with the exhibit form (a PKCS#12 with a key and
a chain of a few certificates is a few KiB)."""
MEDIA_TYPES = {".zip": "application/zip", ".wacz": "application/wacz+zip", ".pdf": "application/pdf"}
Make = Callable[[Store, Actor, downloads.Slot], tuple[Path, list[str], list[str], list[Path]]]
"""Writes into the slot; returns the main file, its subjects, summary lines and extra files."""


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _bundle_ids(form: FormData) -> list[str]:
    return [v.strip() for v in form.getlist("bundle") if isinstance(v, str) and v.strip()]


def _writable(store: Store) -> None:
    if store.read_only:
        raise UsageError("the store is on read-only media: nothing can be made or recorded here")


def _making(request: Request, form: FormData, make: Make, kind: downloads.Kind,
            again: Callable[[Store, Identity, str, int], Response]) -> Response:  # fmt: skip
    """Role first (recorded when refused, before any passphrase), then the passphrase, then
    the making into a fresh slot of the downloads folder; on failure the slot is removed and
    the form shown again with the reason."""
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.export, subject=",".join(_bundle_ids(form)) or None)
        try:
            _writable(store)
            actor = proven(store, request, text(form, "passphrase"))
            slot = downloads.new_slot(store)
            try:
                main, subjects, summary, extra = make(store, actor, slot)
                made = downloads.record(slot, who, kind, main, subjects, summary, extra)
            except BaseException:
                downloads.discard(slot)
                raise
        except (UsageError, Refused, IntegrityError) as exc:
            status = 403 if isinstance(exc, Refused) else 400
            return again(store, who, str(exc), status)
    return RedirectResponse(f"/downloads/{made.id}", status_code=303)


# --------------------------------------------------------------------- export


def _export_form(request: Request, store: Store, who: Identity, error: str | None = None,
                 status: int = 200, values: dict[str, Any] | None = None) -> Response:  # fmt: skip
    chosen = set(request.query_params.getlist("bundle"))
    return page(request, "export_new.html", who, status=status, bundles=store.ledger.bundles(),
                values=values or {"bundles": chosen}, error=error)  # fmt: skip


def export_new(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.export)
        return _export_form(request, store, who)


def export_submit(request: Request, form: FormData) -> Response:
    ids = _bundle_ids(form)
    with_wacz = text(form, "format") == "wacz"
    values = {"bundles": set(ids), "recipient": text(form, "recipient"), "agency": text(form, "agency"),
              "reason": text(form, "reason"), "format": "wacz" if with_wacz else "bags"}  # fmt: skip

    def make(store: Store, actor: Actor, slot: downloads.Slot) -> tuple[Path, list[str], list[str], list[Path]]:
        if not ids:
            raise UsageError("choose at least one bundle")
        out = slot.directory / f"export-{_stamp()}.zip"
        result = export(store, actor, ids, recipient=text(form, "recipient"),
                        recipient_agency=text(form, "agency").strip() or None, reason=text(form, "reason"),
                        out=out, packages=with_wacz)  # fmt: skip
        summary = [f"export {result.export_id}: {len(result.bundles)} bundle(s) for "
                   f"{text(form, 'recipient').strip()}"]  # fmt: skip
        summary += [f"package {p}" for p in result.packages] + result.warnings
        return out, result.bundles, summary, []

    def again(store: Store, who: Identity, error: str, status: int) -> Response:
        return _export_form(request, store, who, error, status, values)

    return _making(request, form, make, "export", again)


# --------------------------------------------------------------------- WACZ


def _wacz_form(request: Request, store: Store, who: Identity, bundle_id: str,
               error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    if store.ledger.bundle(bundle_id) is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    return page(request, "wacz_new.html", who, status=status, bundle_id=bundle_id, error=error)


def wacz_new(request: Request) -> Response:
    bundle_id = request.path_params["bundle_id"]
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.export, subject=bundle_id)
        return _wacz_form(request, store, who, bundle_id)


def wacz_submit(request: Request, form: FormData) -> Response:
    bundle_id = request.path_params["bundle_id"]

    def make(store: Store, actor: Actor, slot: downloads.Slot) -> tuple[Path, list[str], list[str], list[Path]]:
        out = slot.directory / f"{bundle_id}.wacz"
        result = make_wacz(store, actor, bundle_id, out)
        summary = [f"WACZ of {result.bundle_id}, custody event {result.custody_seq}",
                   f"signed digest {result.signed_hash}" + ("  time-stamped" if result.time_stamped else "")]
        return out, [result.bundle_id], summary + result.warnings, []

    def again(store: Store, who: Identity, error: str, status: int) -> Response:
        return _wacz_form(request, store, who, bundle_id, error, status)

    return _making(request, form, make, "wacz", again)


# --------------------------------------------------------------------- exhibit


def _exhibit_form(request: Request, store: Store, who: Identity, error: str | None = None,
                  status: int = 200, values: dict[str, Any] | None = None) -> Response:  # fmt: skip
    chosen = request.query_params.getlist("bundle")
    defaults = {"bundles": set(chosen), "declarant": who.user.name, "recipient": "", "reason": "",
                "number": "", "bates_prefix": "", "bates_start": "1", "jurisdiction": "us-federal",
                "redact": False, "terms": ""}  # fmt: skip
    return page(request, "exhibit_new.html", who, status=status, bundles=store.ledger.bundles(),
                jurisdictions=JURISDICTIONS, values=values or defaults, error=error)  # fmt: skip


def exhibit_new(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.export)
        return _exhibit_form(request, store, who)


def exhibit_submit(request: Request, form: FormData) -> Response:
    ids = _bundle_ids(form)
    names = ("declarant", "recipient", "reason", "number", "bates_prefix", "bates_start", "jurisdiction", "terms")
    values: dict[str, Any] = {n: text(form, n) for n in names}
    values.update(bundles=set(ids), redact=text(form, "redact") == "yes")

    def make(store: Store, actor: Actor, slot: downloads.Slot) -> tuple[Path, list[str], list[str], list[Path]]:
        if not ids:
            raise UsageError("choose at least one bundle")
        number = texts.exhibit_number(values["number"])
        start = values["bates_start"].strip() or "1"
        if not start.isdigit():
            raise UsageError("the first Bates number must be a whole number")
        prefix, first = texts.bates(values["bates_prefix"].strip(), int(start))
        if values["jurisdiction"] not in JURISDICTIONS:
            raise UsageError(f"unknown jurisdiction {values['jurisdiction']!r}")
        upload = uploaded(form, "sign", MAX_PKCS12)  # held in memory for this request only
        signer = None if upload is None else Pkcs12(name=upload.name, data=upload.data)
        terms = [t.strip() for t in values["terms"].splitlines() if t.strip()]
        out = slot.directory / f"exhibit-{number}.pdf"
        result = make_exhibit(store, actor, ids, number=number, declarant=values["declarant"].strip(),
                              out=out, recipient=values["recipient"], reason=values["reason"],
                              bates_prefix=prefix, bates_start=first, jurisdiction=values["jurisdiction"],
                              redact_terms=terms if values["redact"] else None, sign_with=signer,
                              sign_passphrase=text(form, "sign_passphrase").encode() or None)  # fmt: skip
        made = result.exhibit
        summary = [f"exhibit {result.number}: {len(result.bundles)} bundle(s), declarant {result.declarant}"]
        if made.pages is not None:
            summary.append(f"{made.pages} pages, Bates {made.bates_first} – {made.bates_last}")
        if result.signed_by:
            summary.append(f"PDF signed (PAdES) by {result.signed_by}, certificate sha256 {result.signer_sha256}")
        extra = []
        if result.redacted is not None:
            extra.append(Path(result.redacted.path))
            summary.append(f"redacted copy {Path(result.redacted.path).name}: {result.redactions} redaction(s), "
                           f"sha256 {result.redacted.sha256}")  # fmt: skip
        summary.append("recorded as a `disseminated` custody event in each bundle")
        return out, result.bundles, summary + result.warnings, extra

    def again(store: Store, who: Identity, error: str, status: int) -> Response:
        return _exhibit_form(request, store, who, error, status, values)

    return _making(request, form, make, "exhibit", again)


# --------------------------------------------------------------------- downloads


def download_list(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        store.require(who, Action.export)
        found = []
        folder = downloads.root(store)
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            try:
                found.append(downloads.find(store, who, entry.name))
            except (UsageError, Refused, ValueError):
                continue
        found.sort(key=lambda m: m.made_at, reverse=True)
        return page(request, "downloads.html", who, made=found)


def made_page(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        made = downloads.find(store, who, request.path_params["download_id"])
        return page(request, "download.html", who, made=made, kept=DOWNLOADS_KEPT)


def remove_made(request: Request, form: FormData) -> Response:
    """Remove a download now (its maker or a custodian), recorded."""
    with opened(request) as store:
        who = signed_in(store, request)
        made = downloads.find(store, who, request.path_params["download_id"])
        _writable(store)
        downloads.remove(store, who, made)
    return RedirectResponse("/downloads", status_code=303)


def made_file(request: Request) -> Response:
    with opened(request) as store:
        who = signed_in(store, request)
        made = downloads.find(store, who, request.path_params["download_id"])
        path, digest = downloads.fetch(store, who, made, request.path_params["name"])
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        filename=path.name, content_disposition_type="attachment", headers={
        "Content-Security-Policy": DOWNLOAD_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256": digest,
        "Digest": "sha-256=" + base64.b64encode(bytes.fromhex(digest)).decode(),
    })  # fmt: skip


ROUTES: list[BaseRoute] = [
    Route("/exports/new", export_new, methods=["GET"]),
    Route("/exports", checked(export_submit), methods=["POST"]),
    Route("/bundles/{bundle_id}/wacz", wacz_new, methods=["GET"]),
    Route("/bundles/{bundle_id}/wacz", checked(wacz_submit), methods=["POST"]),
    Route("/exhibits/new", exhibit_new, methods=["GET"]),
    Route("/exhibits", checked(exhibit_submit, max_files=1, max_bytes=MAX_PKCS12), methods=["POST"]),
    Route("/downloads", download_list, methods=["GET"]),
    Route("/downloads/{download_id}", made_page, methods=["GET"]),
    Route("/downloads/{download_id}/files/{name}", made_file, methods=["GET"]),
    Route("/downloads/{download_id}/remove", checked(remove_made), methods=["POST"]),
]
