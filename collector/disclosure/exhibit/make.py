"""`collector exhibit` end to end: assemble (fail closed) → render → sign → redacted copy →
a `disseminated` custody event in every bundle. Nothing is written when a check fails."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from collector.disclosure.exhibit.assemble import assemble
from collector.disclosure.exhibit.files import write_new_sha256
from collector.disclosure.exhibit.model import Packet
from collector.errors import UsageError
from collector.evidence.custody import EventType
from collector.evidence.model import Model
from collector.store import checkpoints
from collector.store.custody_log import append as append_custody
from collector.store.store import Actor, Store

if TYPE_CHECKING:
    from collector.disclosure.exhibit.sign import Pkcs12


class CopyResult(Model):
    path: str
    sha256: str
    pages: int | None = None
    bates_first: str | None = None
    bates_last: str | None = None


class ExhibitResult(Model):
    number: str
    bundles: list[str]
    declarant: str
    exhibit: CopyResult
    signed_by: str | None = Field(None, description="Subject of the signing certificate (PAdES).")
    signer_sha256: str | None = None
    redacted: CopyResult | None = None
    redactions: int = 0
    html_only: bool = False
    checkpoint_events: int | None = Field(
        None, description="Events covered by the ledger checkpoint made after the exhibit."
    )
    warnings: list[str] = Field(default_factory=list)


def make_exhibit(
    store: Store,
    actor: Actor,
    bundle_ids: Sequence[str],
    *,
    number: str,
    declarant: str,
    out: Path,
    recipient: str,
    reason: str,
    html_only: bool = False,
    bates_prefix: str = "",
    bates_start: int = 1,
    jurisdiction: str = "us-federal",
    sign_with: Path | Pkcs12 | None = None,
    sign_passphrase: bytes | None = None,
    redact_terms: Sequence[str] | None = None,
) -> ExhibitResult:
    """Make the exhibit at `out` (never overwritten) and record its dissemination."""
    if not recipient.strip() or not reason.strip():
        raise UsageError("--recipient and --reason must not be empty: the dissemination is recorded")
    redacted_out = out.with_name(f"{out.stem}.redacted{out.suffix}") if redact_terms is not None else None
    for target in (out, redacted_out):
        if target is not None and (target.exists() or target.is_symlink()):
            raise UsageError(f"will not overwrite {target}: it already exists")
    if not out.parent.is_dir():
        raise UsageError(f"no such directory: {out.parent}")
    if sign_with is not None:
        if html_only:
            raise UsageError("--sign signs the PDF: it cannot be used with --html-only")
        from collector.disclosure.exhibit.sign import check_signer

        check_signer(sign_with, sign_passphrase)
    packet = assemble(
        store, actor, bundle_ids, number=number, declarant=declarant, jurisdiction=jurisdiction,
        bates_prefix=bates_prefix, bates_start=bates_start, recipient=recipient, reason=reason,
    )  # fmt: skip
    packet = packet.model_copy(update={"prepared_by": actor.user.person()})
    chromium = store.config.browser.executable_path
    result = ExhibitResult(
        number=packet.number,
        bundles=[i.bundle_id for i in packet.items],
        declarant=declarant,
        exhibit=CopyResult(path=str(out), sha256=""),
        html_only=html_only,
    )
    if html_only:
        from collector.disclosure.exhibit.render import render_html

        digest = write_new_sha256(out, render_html(packet).encode("utf-8"))
        result.exhibit = CopyResult(path=str(out), sha256=digest)
    else:
        result = _pdf(packet, out, chromium, sign_with, sign_passphrase, result)
    if redacted_out is not None and redact_terms is not None:
        key = store.redaction_key()
        result = _redacted(packet, redacted_out, chromium, list(redact_terms), html_only, key, result)
    _disseminated(store, actor, packet, result)
    made = checkpoints.make(store, actor, "exhibit")
    result.checkpoint_events = made.checkpoint.statement.event_count
    if made.warning:
        result.warnings.append(made.warning)
    return result


def _pdf(
    packet: Packet,
    out: Path,
    chromium: str,
    sign_with: Path | Pkcs12 | None,
    passphrase: bytes | None,
    result: ExhibitResult,
) -> ExhibitResult:
    from collector.disclosure.exhibit.render import render_pdf

    if sign_with is None:
        rendered = render_pdf(packet, out, chromium=chromium)
        result.exhibit = CopyResult(path=str(out), sha256=rendered.sha256, pages=rendered.pages,
                                    bates_first=rendered.bates_first, bates_last=rendered.bates_last)  # fmt: skip
        return result
    from collector.disclosure.exhibit.sign import sign_pdf

    with tempfile.TemporaryDirectory(prefix="exhibit-", dir=out.parent) as scratch:
        unsigned = Path(scratch) / "unsigned.pdf"
        rendered = render_pdf(packet, unsigned, chromium=chromium)
        signed = sign_pdf(unsigned, out, sign_with, passphrase,
                          reason=f"Exhibit {packet.number}: FRE 902(13)/(14) packet",
                          location=packet.agency)  # fmt: skip
    result.exhibit = CopyResult(path=str(out), sha256=signed.sha256, pages=rendered.pages,
                                bates_first=rendered.bates_first, bates_last=rendered.bates_last)  # fmt: skip
    result.signed_by, result.signer_sha256 = signed.signer_subject, signed.signer_sha256
    return result


def _redacted(
    packet: Packet,
    out: Path,
    chromium: str,
    terms: list[str],
    html_only: bool,
    key: bytes,
    result: ExhibitResult,
) -> ExhibitResult:
    """The redacted copy. Its log digests are keyed with the store's secret: a removed SSN
    with its last four digits shown has too few values for a plain SHA-256 to hide it."""
    from collector.disclosure.exhibit.redact import redact_text, redaction_log
    from collector.disclosure.exhibit.render import (
        RedactedView,
        RedactionEntry,
        render_html,
        render_pdf,
    )

    view = RedactedView()
    for item in packet.items:
        post = item.metadata.capture.post
        fields: dict[str, str | None] = {"title": item.metadata.capture.title}
        if post is not None:
            fields |= {k: getattr(post, k) for k in ("text", "author_name", "author_handle", "author_id")}
            fields["post.title"] = post.title
        replaced: dict[str, str] = {}
        for name, text in fields.items():
            if not text:
                continue
            redacted, hits = redact_text(text, terms)
            if redacted != text:
                replaced[name] = redacted
            for hit in hits:  # the same strings wherever else the page's text shows them
                view.strings[text[hit.start : hit.end]] = hit.replacement
            view.log.extend(
                RedactionEntry(bundle_id=item.bundle_id, **e.model_dump())
                for e in redaction_log(name, text, hits, key)
            )
        view.replacements[item.bundle_id] = replaced
    if html_only:
        digest = write_new_sha256(out, render_html(packet, redacted=view).encode("utf-8"))
        result.redacted = CopyResult(path=str(out), sha256=digest)
    else:
        rendered = render_pdf(packet, out, chromium=chromium, redacted=view)
        result.redacted = CopyResult(path=str(out), sha256=rendered.sha256, pages=rendered.pages,
                                     bates_first=rendered.bates_first, bates_last=rendered.bates_last)  # fmt: skip
    result.redactions = len(view.log)
    return result


def _disseminated(store: Store, actor: Actor, packet: Packet, result: ExhibitResult) -> None:
    details = {
        "what": "exhibit",
        "exhibit": packet.number,
        "file": Path(result.exhibit.path).name,
        "sha256": result.exhibit.sha256,
        "pages": result.exhibit.pages,
        "bates": [result.exhibit.bates_first, result.exhibit.bates_last],
        "format": "html" if result.html_only else "pdf",
        "bundles": result.bundles,
        "declarant": packet.declarant.person.user,
        "recipient": packet.recipient,
        "reason": packet.reason,
        "signed_by": result.signer_sha256,
        "redacted_copy": result.redacted.model_dump(mode="json") if result.redacted else None,
    }
    for item in packet.items:
        append_custody(store, actor, item.bundle_id, EventType.disseminated, details)
