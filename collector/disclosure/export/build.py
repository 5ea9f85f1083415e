"""Export for a recipient: bundles unchanged, their custody logs, the keys and roots to check them.

```
FILE.zip
  VERIFY.txt                 how to check everything, with and without this tool
  manifest.json              RFC 8785 canonical JSON: who exported what, to whom, why, and
                             each bundle's custody head (count, last hash) after the export
  export.sig                 the exporting custodian's Ed25519 signature over manifest.json
  export.tsr                 RFC 3161 token over export.sig (when an authority is configured)
  keys/<fingerprint>.pub.pem every key that signed anything inside, and keys/registry.json
  tsa/root-N.pem             the time-stamp roots
  pki/                       the agency root, issuing CA and revocation list (compare the
                             root with the agency's published one before trusting it)
  checkpoint.json            a signed, time-stamped checkpoint of the agency's ledger made
                             during the export (`collector ledger verify --against` it later)
  bundles/<id>/              each BagIt bag, byte for byte
  custody/<id>.jsonl         each bundle's custody log, one event per line
  wacz/<id>.wacz             (with --format wacz) each bundle's signed WACZ package, whose
                             making is a `derived` event in that log
```
The export is itself a signed `exported` custody event in each bundle's log, included in
the exported log; the signed head in the manifest makes a log cut short detectable.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import rfc8785
from pydantic import Field

from collector.errors import CollectorError, IntegrityError, Refused, UsageError
from collector.evidence import keys, pki
from collector.evidence.bundle import layout
from collector.evidence.bundle.verify import failures
from collector.evidence.checkpoint import Checkpoint
from collector.evidence.custody import CustodyEvent, EventType
from collector.evidence.model import Metadata, Model, Person
from collector.policy import protected
from collector.store import checkpoints, imports, storage
from collector.store.actions import LedgerAction
from collector.store.custody_log import custody_builder
from collector.store.ledger import CustodyBuilder, now
from collector.store.pki import CRL, INTERMEDIATE_CERT, ROOT_CERT, certificate_sha256
from collector.store.roles import Action
from collector.store.stamping import StampOutcome, stamper
from collector.store.store import Actor, Store
from collector.store.verify import verify_in_store

CHECKPOINT = "checkpoint.json"
PACKAGES = "wacz"
"""The export's folder of signed WACZ packages (`--format wacz`)."""
FORMAT = "collector-export/1.1"
MOVED_FORMAT = "collector-export/1.2"
"""An export holding a bundle moved in from a workstation store (its entries name their origin)."""
FORMATS = frozenset({"collector-export/1.0", FORMAT, MOVED_FORMAT})
"""Every export format this tool ever wrote (1.1 adds `agency_root_sha256` and `pki/`)."""


class ExportedBundle(Model):
    id: str = Field(pattern=layout.BUNDLE_ID_PATTERN)
    case_number: str
    seal_sha256: str
    custody_count: int
    custody_last_hash: str
    origin_store: str | None = None
    """(1.2) The workstation store the bundle was moved in from (`collector store copy`): its
    signers are judged against that store's PKI, which the agency cross-certified. Absent for a
    bundle sealed in the exporting store."""


class ExportManifest(Model):
    format: str = FORMAT
    export_id: str
    created_at: str
    agency: str
    store_id: str
    exporter: Person
    exporter_key_fingerprint: str
    recipient: str
    recipient_agency: str | None
    reason: str
    bundles: list[ExportedBundle]
    tsa_roots_sha256: list[str] = Field(default_factory=list)
    agency_root_sha256: str | None = Field(
        None, description="SHA-256 of the agency root certificate's DER (from 1.1)."
    )


class ExportResult(Model):
    path: str
    sha256: str
    export_id: str
    bundles: list[str]
    packages: list[str] = Field(default_factory=list)
    """The signed WACZ packages inside (`--format wacz`)."""
    timestamp: StampOutcome
    warnings: list[str]


def export(
    store: Store,
    actor: Actor,
    bundle_ids: list[str],
    *,
    recipient: str,
    recipient_agency: str | None,
    reason: str,
    out: Path,
    packages: bool = False,
) -> ExportResult:
    """Write the export zip; refuses (fails closed) if any bundle does not verify. With
    `packages`, each bundle's signed WACZ goes beside its bag (`wacz/<id>.wacz`)."""
    store.require(actor, Action.export, subject=",".join(bundle_ids))
    if not recipient.strip() or not reason.strip():
        raise UsageError("--recipient and --reason must not be empty")
    if out.suffix.lower() != ".zip":
        raise UsageError("--out must name a .zip file")
    if out.exists():
        raise UsageError(f"{out} exists: an export is never overwritten")
    if len(set(bundle_ids)) != len(bundle_ids):
        raise UsageError("a bundle is named twice")
    rows = []
    for bundle_id in bundle_ids:
        row = store.ledger.bundle(bundle_id)
        if row is None:
            raise UsageError(f"unknown bundle {bundle_id!r}")
        rows.append(row)
    for row in rows:
        if protected.state(store, row.id) in ("pending", "rejected"):
            reason = f"{row.id} is quarantined for protected-content review: it is not disseminated"
            store.ledger.record(LedgerAction.denied_export, "refused", actor=actor.user.name, subject=row.id,
                                details={"reason": reason})  # fmt: skip
            raise Refused(reason)
    for row in rows:
        report = verify_in_store(store, row.id, None)
        if not report.ok:
            failed = "; ".join(failures(report.checks))
            raise IntegrityError(f"{row.id} does not verify, nothing exported: {failed}")

    if not packages:
        return _export(store, actor, rows, recipient, recipient_agency, reason, out, {})
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as staging:
        made = _make_packages(store, actor, rows, Path(staging))
        return _export(store, actor, rows, recipient, recipient_agency, reason, out, made)


def _make_packages(store: Store, actor: Actor, rows: list[Any], staging: Path) -> dict[str, Path]:
    """Each bundle's signed WACZ (a `derived` custody event each), in a private directory."""
    from collector.disclosure.wacz.build import make_wacz

    made = {}
    for row in rows:
        made[row.id] = staging / f"{row.id}.wacz"
        make_wacz(store, actor, row.id, made[row.id])
    return made


def _export(
    store: Store, actor: Actor, rows: list[Any], recipient: str, recipient_agency: str | None,
    reason: str, out: Path, packages: dict[str, Path],
) -> ExportResult:
    bundle_ids = [row.id for row in rows]
    export_id = f"X-{now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4).upper()}"
    heads = {row.id: store.ledger.custody_head(row.id) for row in rows}
    details = {
        "export_id": export_id,
        "recipient": recipient.strip(),
        "recipient_agency": recipient_agency,
        "reason": reason.strip(),
        "file": out.name,
        **({"packages": PACKAGES} if packages else {}),
    }
    events: dict[str, CustodyEvent] = {}
    for row in rows:
        head = heads[row.id]
        build = custody_builder(
            store, actor, row.id, EventType.exported,
            {**details, "head_before": {"count": head.count, "last_hash": head.last_hash}},
        )  # fmt: skip
        events[row.id] = build(head.count + 1, head.last_hash)

    manifest = ExportManifest(
        export_id=export_id,
        created_at=now().isoformat(),
        agency=store.config.agency,
        store_id=store.config.store_id,
        exporter=actor.user.person(),
        exporter_key_fingerprint=actor.user.key_fingerprint,
        recipient=recipient.strip(),
        recipient_agency=recipient_agency,
        reason=reason.strip(),
        bundles=[
            ExportedBundle(
                id=row.id,
                case_number=row.case_number,
                seal_sha256=row.seal_sha256,
                custody_count=events[row.id].seq,
                custody_last_hash=events[row.id].hash,
                origin_store=imports.origin(store, row.id),
            )
            for row in rows
        ],
        tsa_roots_sha256=[hashlib.sha256(p).hexdigest() for p in store.tsa_roots()],
        agency_root_sha256=certificate_sha256(store.pki.root_certificate()),
    )
    if any(b.origin_store for b in manifest.bundles):
        manifest.format = MOVED_FORMAT
    dumped = manifest.model_dump(mode="json")
    for entry in dumped["bundles"]:  # only a moved bundle's entry names its origin (1.1 readers)
        if entry["origin_store"] is None:
            del entry["origin_store"]
    manifest_bytes = bytes(rfc8785.dumps(dumped))
    signature = keys.sign(actor.key, manifest_bytes)
    stamp, stamped = stamper(store)
    token = stamp(signature) if stamp is not None else None

    checkpoint = checkpoints.make(store, actor, "export")
    partial = out.with_name(f".{out.name}.partial")
    try:
        _write_zip(store, partial, rows, events, manifest, manifest_bytes, signature, token,
                   checkpoint.checkpoint, packages)  # fmt: skip
        store.ledger.append_custody_many(
            [(bundle_id, _prebuilt(event)) for bundle_id, event in events.items()],
            expected=heads,
        )
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    store.ledger.record(
        LedgerAction.export, actor=actor.user.name, subject=export_id,
        details={"file": str(out), "sha256": digest, "bundles": bundle_ids, **details},
    )  # fmt: skip
    warnings = [checkpoint.warning] if checkpoint.warning else []
    if stamped.status == "pending":
        warnings.append(f"the export's signature could not be time-stamped: {stamped.error}")
    return ExportResult(
        path=str(out), sha256=digest, export_id=export_id, bundles=bundle_ids,
        packages=[f"{PACKAGES}/{bundle_id}.wacz" for bundle_id in packages],
        timestamp=stamped, warnings=warnings,
    )  # fmt: skip


def _prebuilt(event: CustodyEvent) -> CustodyBuilder:
    def build(seq: int, prev_hash: str) -> CustodyEvent:
        if (seq, prev_hash) != (event.seq, event.prev_hash):
            raise CollectorError(f"custody log of {event.bundle_id} moved during the export")
        return event

    return build


def _signer_fingerprints(store: Store, bundle_id: str, events: list[CustodyEvent]) -> set[str]:
    row = store.ledger.bundle(bundle_id)
    assert row is not None
    meta = Metadata.model_validate_json(storage.bundle_file(store, row, f"data/{layout.METADATA}"))
    found = {e.key_fingerprint for e in events}
    if meta.authorization.approver_key_fingerprint:
        found.add(meta.authorization.approver_key_fingerprint)
    found.add(keys.fingerprint(storage.bundle_file(store, row, layout.SIGNER_KEY)))
    return found


def _write_zip(
    store: Store,
    path: Path,
    rows: list[Any],
    events: dict[str, CustodyEvent],
    manifest: ExportManifest,
    manifest_bytes: bytes,
    signature: bytes,
    token: bytes | None,
    checkpoint: Checkpoint,
    packages: dict[str, Path],
) -> None:
    fingerprints: set[str] = {manifest.exporter_key_fingerprint, checkpoint.key_fingerprint}
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", manifest_bytes)
        zf.writestr(CHECKPOINT, checkpoint.model_dump_json(indent=2) + "\n")
        zf.writestr("export.sig", signature)
        if token is not None:
            zf.writestr("export.tsr", token)
        for row in rows:
            bag = storage.working_copy(store, row)
            for file in sorted(p for p in bag.rglob("*") if p.is_file()):
                zf.write(file, f"bundles/{row.id}/{file.relative_to(bag).as_posix()}")
            log = [*store.ledger.custody(row.id), events[row.id]]
            zf.writestr(
                f"custody/{row.id}.jsonl",
                "".join(e.model_dump_json() + "\n" for e in log),
            )
            fingerprints |= _signer_fingerprints(store, row.id, log)
            if row.id in packages:
                zf.write(packages[row.id], f"{PACKAGES}/{row.id}.wacz")
        registry = []
        known = {k["fingerprint"]: k for k in store.ledger.key_registry()}
        for origin in sorted({o for row in rows if (o := imports.origin(store, row.id))}):
            with imports.archived(store, origin) as view:  # moved bundles' signers
                known.update({k["fingerprint"]: k for k in view.ledger.key_registry()
                              if k["fingerprint"] not in known})  # fmt: skip
        for fingerprint in sorted(fingerprints):
            entry = known.get(fingerprint)
            if entry is None:
                raise CollectorError(f"key {fingerprint[:16]}… is not in the key registry")
            zf.writestr(f"keys/{fingerprint}.pub.pem", entry["public_key_pem"])
            registry.append({k: v for k, v in entry.items() if k != "public_key_pem"})
        zf.writestr("keys/registry.json", json.dumps(registry, indent=2) + "\n")
        for n, pem in enumerate(store.tsa_roots(), 1):
            zf.writestr(f"tsa/root-{n}.pem", pem)
        agency = store.pki
        zf.writestr(f"pki/{ROOT_CERT}", pki.pem(agency.root_certificate()))
        zf.writestr(f"pki/{INTERMEDIATE_CERT}", pki.pem(agency.intermediate_certificate()))
        crl = agency.crl()
        if crl is not None:
            zf.writestr(f"pki/{CRL}", pki.pem(crl))
        zf.writestr("VERIFY.txt", verify_text(manifest, token is not None))


def verify_text(manifest: ExportManifest, stamped: bool) -> str:
    ids = "\n".join(
        f"  {b.id}  case {b.case_number}  custody events {b.custody_count}"
        for b in manifest.bundles
    )
    first = manifest.bundles[0].id
    tsa = (
        "  openssl ts -verify -data export.sig -in export.tsr -CAfile tsa/root-1.pem\n"
        if stamped
        else "  (no time-stamp authority was configured or reachable: export.tsr is absent)\n"
    )
    return f"""Evidence export {manifest.export_id}
From: {manifest.agency} ({manifest.exporter.full_name}, badge {manifest.exporter.badge})
To: {manifest.recipient}{f" ({manifest.recipient_agency})" if manifest.recipient_agency else ""}
Reason: {manifest.reason}
Created: {manifest.created_at}

Bundles:
{ids}

HOW TO CHECK THIS EXPORT

1. With the collector tool, on any machine (no evidence store needed):

  collector verify THIS-FILE.zip --trust AGENCY-KEYS.json

  AGENCY-KEYS.json is the agency's published key list (`collector keys export`), obtained
  separately from this file. The keys inside keys/ and the certificates inside pki/ prove
  nothing by themselves: anyone who could alter this file could replace them too. Without
  --trust the tool checks everything else but fails: the signers are not anchored.

2. With standard tools only. Unzip, then for each bundle:

  cd bundles/{first}
  bagit.py --validate .                       # PyPI "bagit"
  sha256sum -c manifest-sha256.txt            # every payload file
  sha256sum -c tagmanifest-sha256.txt         # bag-info, manifests, signer key
  openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin \\
      -in tagmanifest-sha256.txt -sigfile seal.sig
  openssl ts -verify -data seal.sig -in seal.tsr -CAfile ../../tsa/root-1.pem   # if seal.tsr exists
  openssl pkey -pubin -in signer.pub.pem -outform DER | sha256sum
      # must equal Signer-Key-Fingerprint in bag-info.txt and the agency's published key
  openssl verify -CAfile ../../pki/root.cert.pem -untrusted signer-chain.pem \
      -crl_check -CRLfile ../../pki/crl.pem signer-chain.pem
      # the signer's certificate (user, badge, role) chains to the agency root; compare
      # pki/root.cert.pem with the root the agency published first. (A certificate revoked
      # after the seal fails -crl_check; its invalidity date is in the CRL:
      # openssl crl -in ../../pki/crl.pem -text)
  openssl x509 -in signer-chain.pem -noout -subject -serial

  The export itself:

  openssl pkeyutl -verify -pubin -inkey keys/{manifest.exporter_key_fingerprint}.pub.pem -rawin \\
      -in manifest.json -sigfile export.sig
{tsa}
3. checkpoint.json is the agency ledger's head (event count and last hash) when this export
   was made, signed by the exporter and time-stamped. Keep it: the agency can later be asked
   to run `collector ledger verify --against checkpoint.json`, which fails if any ledger event
   up to that point was since removed or changed.

4. The chain of custody (custody/<id>.jsonl, one JSON event per line) is specified in the
   collector's docs/FORMAT.md: each event's SHA-256 over its RFC 8785 canonical JSON, its
   link to the previous event (the first to the SHA-256 of tagmanifest-sha256.txt), and the
   actor's Ed25519 signature. manifest.json states how many events each log had and the last
   hash when exported, so a log cut short is detected.
"""
