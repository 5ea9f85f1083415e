"""Writing a bundle's signed WACZ package, and making one from the store as a custody event."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cdxj_indexer.main import CDXJIndexer
from pydantic import ConfigDict, Field

import collector
from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence.bundle import layout as bag
from collector.evidence.bundle.verify import failures
from collector.evidence.custody import EventType
from collector.evidence.model import Metadata, Model, metadata_model
from collector.evidence.timestamp import TimestampInvalid, verify_timestamp
from collector.policy import protected
from collector.store import archive_signer, storage
from collector.store.actions import LedgerAction
from collector.store.archive_signer import ArchiveSigner
from collector.store.custody_log import custody_builder
from collector.store.ledger import now
from collector.store.pki import certificate_sha256
from collector.store.roles import Action
from collector.store.stamping import stamper
from collector.store.store import Actor, Store
from collector.store.verify import verify_in_store

from . import layout, signing

CHUNK = 1024 * 1024
Stamp = Callable[[bytes], tuple[bytes, str] | None]
"""Time-stamps the signature's text: the RFC 3161 response and the authority's chain (PEM)."""


class Resource(Model):
    name: str
    path: str
    hash: str
    bytes: int


class CollectorInfo(Model):
    """This tool's extension field of `datapackage.json`: what the package was made from."""

    format: str = layout.FORMAT
    bundle_id: str
    seal_sha256: str = Field(description="SHA-256 of the bag's tagmanifest-sha256.txt (the seal).")
    signer_chain: str = layout.SIGNER_CHAIN
    copies: dict[str, str] = Field(description="Package member -> the bag file it copies.")


class DataPackage(Model):
    model_config = ConfigDict(extra="allow")

    profile: str = "data-package"
    wacz_version: str
    title: str | None = None
    description: str | None = None
    created: str | None = None
    software: str | None = None
    mainPageURL: str | None = None  # the WACZ fields keep their spelling
    mainPageDate: str | None = None
    resources: list[Resource]
    collector: CollectorInfo | None = None


class SignedData(Model):
    """`signedData`: the anonymous form with `publicKey`, or the domain form with certificates."""

    model_config = ConfigDict(extra="allow")

    hash: str
    created: str
    software: str | None = None
    version: str | None = None
    signature: str
    publicKey: str | None = None
    domain: str | None = None
    domainCert: str | None = None
    timeSignature: str | None = None
    timestampCert: str | None = None
    crossSignedCert: str | None = None


class Digest(Model):
    path: str
    hash: str
    signedData: SignedData | None = None


class WaczResult(Model):
    path: str
    sha256: str
    bundle_id: str
    signed_hash: str
    signer_certificate_sha256: str
    time_stamped: bool
    custody_seq: int | None = None
    warnings: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class _Member:
    path: str
    data: bytes | None = None
    source: Path | None = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def page_of(meta: Metadata) -> dict[str, str]:
    """The `pages.jsonl` entry of a bundle: every value from its sealed metadata."""
    capture = meta.capture
    return {"id": meta.bundle_id, "url": capture.final_url, "ts": _iso(capture.started_at),
            "title": capture.title}  # fmt: skip


def bag_format(bag_dir: Path) -> str | None:
    """The bag's `Bundle-Format` (bag-info.txt), which says how its metadata is read."""
    for line in (bag_dir / "bag-info.txt").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "Bundle-Format":
            return value.strip()
    return None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _index(warc: Path) -> bytes:
    """The WARC's CDXJ index (sorted; each line names the WARC by its member's file name)."""
    out = io.StringIO()
    CDXJIndexer(output=out, inputs=[str(warc)], sort=True, post_append=True,
                filename=Path(layout.WARC).name).process_all()  # fmt: skip
    return out.getvalue().encode("utf-8")


def write_package(
    bag_dir: Path, out: Path, signer: ArchiveSigner, stamp: Stamp | None, created: datetime
) -> tuple[str, bool]:
    """Write the package of the bag at `bag_dir` to the new file `out`; returns the signed
    `hash` and whether the signature was time-stamped."""
    warc = bag_dir / "data" / bag.WARC
    if not warc.is_file():
        raise UsageError(f"{bag_dir.name} has no WARC ({bag.WARC}): there is nothing to replay")
    meta_bytes = (bag_dir / "data" / bag.METADATA).read_bytes()
    meta = metadata_model(bag_format(bag_dir)).model_validate_json(meta_bytes)
    capture = meta.capture
    members = [_Member(layout.WARC, source=warc), _Member(layout.INDEX, _index(warc))]
    pages = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in (layout.PAGES_HEADER, page_of(meta)))
    members.append(_Member(layout.PAGES, pages.encode("utf-8")))
    copies = {}
    for member, source in layout.COPIED.items():
        if member != layout.WARC and (bag_dir / source).is_file():
            members.append(_Member(member, source=bag_dir / source))
        if (bag_dir / source).is_file():
            copies[member] = source
    for tag in sorted(p for p in bag_dir.iterdir() if p.is_file() and not p.is_symlink()):
        members.append(_Member(f"{layout.BAG_DIR}/{tag.name}", source=tag))
    members.append(_Member(layout.SIGNER_CHAIN, signer.chain_pem().encode("ascii")))

    resources = []
    for m in members:
        digest = _sha256_file(m.source) if m.source else hashlib.sha256(m.data or b"").hexdigest()
        size = m.source.stat().st_size if m.source else len(m.data or b"")
        resources.append(Resource(name=Path(m.path).name, path=m.path, hash=f"sha256:{digest}", bytes=size))
    software = f"collector {collector.__version__}"
    package = DataPackage(
        wacz_version=layout.WACZ_VERSION,
        title=f"Evidence bundle {meta.bundle_id}",
        description=f"Web archive of evidence bundle {meta.bundle_id}, captured "
        f"{_iso(capture.started_at)} from {capture.final_url}; a derivative of the sealed bundle.",
        created=_iso(created), software=software, mainPageURL=capture.final_url,
        mainPageDate=_iso(capture.started_at), resources=resources,
        collector=CollectorInfo(
            bundle_id=meta.bundle_id,
            seal_sha256=_sha256_file(bag_dir / bag.SIGNED_FILE),
            copies=copies,
        ),
    )  # fmt: skip
    package_bytes = (json.dumps(package.model_dump(mode="json", exclude_none=True), indent=2,
                                ensure_ascii=False) + "\n").encode("utf-8")  # fmt: skip
    hash_text = f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"
    signature = signing.sign(signer.key, hash_text)
    signed = SignedData(hash=hash_text, created=_iso(created), software=software,
                        version=layout.SIGNING_VERSION, signature=signature,
                        publicKey=signing.public_key_text(signer.key.public_key()))  # fmt: skip
    stamped = stamp(signature.encode("ascii")) if stamp is not None else None
    if stamped is not None:
        signed.timeSignature = base64.b64encode(stamped[0]).decode()
        signed.timestampCert = stamped[1]
    envelope = Digest(path=layout.DATAPACKAGE, hash=hash_text, signedData=signed)
    digest_bytes = (json.dumps(envelope.model_dump(mode="json", exclude_none=True), indent=2) + "\n").encode()

    stamp_time = created.astimezone(UTC).timetuple()[:6]
    with zipfile.ZipFile(out, "x", compression=zipfile.ZIP_STORED) as zf:
        for m in members:
            info = zipfile.ZipInfo(m.path, date_time=stamp_time)
            info.external_attr = 0o644 << 16
            if m.source is not None:
                with m.source.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
            else:
                zf.writestr(info, m.data or b"")
        for name, data in ((layout.DATAPACKAGE, package_bytes), (layout.DIGEST, digest_bytes)):
            info = zipfile.ZipInfo(name, date_time=stamp_time)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return hash_text, stamped is not None


def _store_stamp(store: Store) -> tuple[Stamp | None, list[str]]:
    stamp, outcome = stamper(store)
    if stamp is None:
        return None, ["no time-stamp authority is configured: the package's signature is not time-stamped"]
    warnings: list[str] = []

    def stamp_with_chain(data: bytes) -> tuple[bytes, str] | None:
        token = stamp(data)
        if token is None:
            warnings.append(f"the package's signature could not be time-stamped: {outcome.error}")
            return None
        try:
            info = verify_timestamp(token, data, store.tsa_roots())
        except TimestampInvalid as exc:  # request_timestamp checked it already
            raise IntegrityError(f"the time-stamp of the package's signature: {exc}") from exc
        return token, "".join(info.chain)

    return stamp_with_chain, warnings


def make_wacz(store: Store, actor: Actor, bundle_id: str, out: Path) -> WaczResult:
    """Write the signed WACZ of a stored bundle, recorded as a signed `derived` custody event.
    Fails closed: a bundle that does not verify, a quarantined one, or an existing file."""
    store.require(actor, Action.export, subject=bundle_id)
    if out.suffix.lower() != ".wacz":
        raise UsageError("--out must name a .wacz file")
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} exists: a package is never overwritten")
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    if protected.state(store, row.id) in ("pending", "rejected"):
        reason = f"{row.id} is quarantined for protected-content review: it is not disseminated"
        store.ledger.record(LedgerAction.denied_export, "refused", actor=actor.user.name,
                            subject=row.id, details={"reason": reason})  # fmt: skip
        raise Refused(reason)
    report = verify_in_store(store, row.id, None)
    if not report.ok:
        raise IntegrityError(f"{row.id} does not verify, no package made: "
                             f"{'; '.join(failures(report.checks))}")  # fmt: skip
    signer = archive_signer.load(store)
    stamp, warnings = _store_stamp(store)
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        signed_hash, stamped = write_package(storage.working_copy(store, row), partial, signer,
                                             stamp, now())  # fmt: skip
        digest = _sha256_file(partial)
        details: dict[str, Any] = {
            "format": "wacz", "file": out.name, "sha256": digest, "signed_hash": signed_hash,
            "signer_certificate_sha256": certificate_sha256(signer.certificate), "time_stamped": stamped,
        }  # fmt: skip
        event = store.ledger.append_custody(
            row.id, custody_builder(store, actor, row.id, EventType.derived, details)
        )
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return WaczResult(path=str(out), sha256=digest, bundle_id=row.id, signed_hash=signed_hash,
                      signer_certificate_sha256=certificate_sha256(signer.certificate), time_stamped=stamped,
                      custody_seq=event.seq, warnings=warnings)  # fmt: skip
