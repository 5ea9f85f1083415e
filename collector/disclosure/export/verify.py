"""Export verification: a recipient's zip on a machine with no evidence store, every bag in it
by bundle verification (`evidence/bundle/verify.py`), against the key list the recipient trusts.

The zip is hostile input: entries are checked (no absolute paths, no `..`, no links, bounded
sizes) and extracted into a private temporary directory before anything is read.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import rfc8785
from pydantic import ValidationError

from collector.disclosure.export.build import CHECKPOINT, FORMAT, FORMATS, PACKAGES, ExportManifest
from collector.disclosure.keylist import KeyList
from collector.disclosure.safezip import safe_extract
from collector.errors import CollectorError, UsageError
from collector.evidence import keys
from collector.evidence.bundle import layout
from collector.evidence.bundle.verify import (
    Check,
    CustodyInput,
    TimeTrust,
    VerifyReport,
    verify_bundle,
)
from collector.evidence.checkpoint import Checkpoint, check
from collector.evidence.custody import ChainHead, CustodyEvent, EventType
from collector.evidence.keys import KeyLookup, SignerKey
from collector.evidence.model import Model
from collector.evidence.timestamp import TimestampInvalid, verify_timestamp
from collector.evidence.trust import AgencyTrust
from collector.store.pki import certificate_sha256

TOP_LEVEL = {
    "VERIFY.txt",
    "manifest.json",
    "export.sig",
    "export.tsr",
    "keys",
    "tsa",
    "bundles",
    "custody",
    "pki",
    "checkpoint.json",
    PACKAGES,
}


class ExportReport(Model):
    path: str
    export_id: str | None
    ok: bool
    trusted: bool
    checks: list[Check]
    signers: dict[str, str]
    bundles: list[VerifyReport]


def verify_export(zip_path: Path, trust: KeyList | None) -> ExportReport:
    with tempfile.TemporaryDirectory(prefix="collector-export-") as tmp:
        root = Path(tmp)
        safe_extract(zip_path, root)
        return _verify_tree(zip_path, root, trust)


def _verify_tree(zip_path: Path, root: Path, trust: KeyList | None) -> ExportReport:
    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str, warning: bool = False) -> None:
        checks.append(Check(name=name, ok=ok, detail=detail, warning=warning))

    def done(
        export_id: str | None, signers: dict[str, str], bundles: list[VerifyReport]
    ) -> ExportReport:
        ok = all(c.ok for c in checks) and all(b.ok for b in bundles)
        return ExportReport(
            path=str(zip_path), export_id=export_id, ok=ok, trusted=trust is not None,
            checks=checks, signers=signers, bundles=bundles,
        )  # fmt: skip

    # -- manifest
    try:
        manifest_bytes = (root / "manifest.json").read_bytes()
        manifest = ExportManifest.model_validate_json(manifest_bytes)
    except (OSError, ValidationError, ValueError) as exc:
        add(
            "export manifest",
            False,
            f"manifest.json missing or invalid: {str(exc).splitlines()[0]}",
        )
        return done(None, {}, [])
    canonical = manifest_bytes == bytes(rfc8785.dumps(json.loads(manifest_bytes)))
    add(
        "export manifest",
        canonical and manifest.format in FORMATS,
        f"{manifest.export_id}: {len(manifest.bundles)} bundles for {manifest.recipient}"
        if canonical
        else "manifest.json is not in canonical form (altered?)",
    )

    # -- keys: the trusted list, or else what the export ships (which proves nothing alone)
    shipped = _shipped_keys(root)
    agency: AgencyTrust | None = None
    if trust is not None:
        lookup_known = trust.lookup()
        known = {k.fingerprint: k for k in trust.keys}
        agency = trust.agency_trust()
        roots = [pem.encode() for pem in trust.all_tsa_roots()]
        add("key source", True,
            f"trusted key list of {trust.agency} ({len(known)} keys, format {trust.version}, "
            "given with --trust)")  # fmt: skip
        if not agency.roots:
            add("agency root", True, f"the key list (format {trust.version}) carries no agency "
                "root: signers are anchored by their keys alone", warning=True)  # fmt: skip
        elif manifest.agency_root_sha256 is not None:
            trusted_root = certificate_sha256(agency.roots[0])
            add("agency root", manifest.agency_root_sha256 == trusted_root,
                "the export names the trusted root" if manifest.agency_root_sha256 == trusted_root
                else "the export names another agency root than the trusted one")  # fmt: skip
    else:
        lookup_known = shipped.get
        roots = [p.read_bytes() for p in sorted((root / "tsa").glob("*.pem"))]
        add("key source", False, "signer not anchored: no trusted key list given, and the keys "
            "and certificates shipped inside the export prove nothing by themselves (pass "
            "--trust AGENCY-KEYS.json)")  # fmt: skip

    signers: dict[str, str] = {}

    def lookup(fingerprint: str) -> SignerKey | None:
        key = lookup_known(fingerprint)
        claimed = shipped.get(fingerprint)
        signers[fingerprint] = (
            key.owner if key else f"UNTRUSTED (claims {claimed.owner if claimed else '?'})"
        )
        return key

    # -- the export's own signature and time-stamp
    exporter = lookup(manifest.exporter_key_fingerprint)
    try:
        signature = (root / "export.sig").read_bytes()
    except OSError:
        signature = b""
    if exporter is None:
        add(
            "export signature",
            False,
            f"exporter key {manifest.exporter_key_fingerprint[:16]}… is not known",
        )
    elif exporter.owner != manifest.exporter.user:
        add(
            "export signature",
            False,
            f"signed with {exporter.owner}'s key, not the exporter {manifest.exporter.user}'s",
        )
    elif not keys.verify(exporter.public_key_pem.encode(), manifest_bytes, signature):
        add(
            "export signature",
            False,
            "export.sig does not verify over manifest.json (manifest altered)",
        )
    else:
        add(
            "export signature",
            True,
            f"by {manifest.exporter.full_name}, badge {manifest.exporter.badge}",
        )
    tsr = root / "export.tsr"
    if tsr.is_file():
        try:
            info = verify_timestamp(tsr.read_bytes(), signature, roots)
            add("export time-stamp", True, f"{info.gen_time:%Y-%m-%d %H:%M:%SZ} by {info.tsa_name}",
                warning=trust is None)  # fmt: skip
        except (TimestampInvalid, UsageError) as exc:
            add("export time-stamp", False, str(exc))
    else:
        add(
            "export time-stamp",
            True,
            "none: the export's time rests on the exporter's clock",
            warning=True,
        )

    # -- the ledger checkpoint the export carries (from format 1.1)
    _check_checkpoint(root, manifest, lookup, roots, add)

    # -- contents: exactly the bundles and logs the manifest names
    ids = [b.id for b in manifest.bundles]
    present = (
        sorted(p.name for p in (root / "bundles").iterdir()) if (root / "bundles").is_dir() else []
    )
    logs = sorted(p.stem for p in (root / "custody").glob("*.jsonl"))
    extra = sorted(p.name for p in root.iterdir() if p.name not in TOP_LEVEL)
    problems = []
    if sorted(ids) != present:
        problems.append(f"bundles present {present} differ from the manifest's {sorted(ids)}")
    if sorted(ids) != logs:
        problems.append("custody logs differ from the manifest's bundles")
    if extra:
        problems.append(f"unexpected entries: {', '.join(extra)}")
    packaged = sorted(p.name for p in (root / PACKAGES).iterdir()) if (root / PACKAGES).is_dir() else []
    strays = sorted(set(packaged) - {f"{i}.wacz" for i in ids})
    if strays:
        problems.append(f"packages of no exported bundle: {', '.join(strays)}")
    add(
        "export contents",
        not problems,
        "; ".join(problems) or f"{len(ids)} bundles with their custody logs",
    )

    # -- each bundle, with its custody log and the head the manifest signed
    reports = []
    for entry in manifest.bundles:
        bag = root / "bundles" / entry.id
        if not bag.is_dir():
            continue
        events, error = _read_log(root / "custody" / f"{entry.id}.jsonl")
        report = verify_bundle(
            bag,
            lookup,
            CustodyInput(events, ChainHead(entry.custody_count, entry.custody_last_hash), "export"),
            TimeTrust(roots),
            trust.trust_for(entry.origin_store) if trust is not None and entry.origin_store else agency,
        )
        if error:
            report.checks.append(Check(name="custody log", ok=False, detail=error))
            report.ok = False
        seal = (
            hashlib.sha256((bag / layout.SIGNED_FILE).read_bytes()).hexdigest()
            if (bag / layout.SIGNED_FILE).is_file()
            else ""
        )
        if seal != entry.seal_sha256:
            report.checks.append(
                Check(name="seal digest", ok=False, detail="differs from the export manifest")
            )
            report.ok = False
        reports.append(report)
        if f"{entry.id}.wacz" in packaged:
            _check_package(root / PACKAGES / f"{entry.id}.wacz", entry.id, events, trust, add)
        elif any(e.type is EventType.exported and e.details.get("export_id") == manifest.export_id
                 and e.details.get("packages") == PACKAGES for e in events):  # fmt: skip
            add(f"package {PACKAGES}/{entry.id}.wacz", False, "missing: the export was made with "
                "a signed WACZ of each bundle")  # fmt: skip

    untrusted = sorted(fp for fp, owner in signers.items() if owner.startswith("UNTRUSTED"))
    if trust is not None:
        add(
            "signers trusted",
            not untrusted,
            f"not in the trusted list: {', '.join(f[:16] + '…' for f in untrusted)}"
            if untrusted
            else f"all {len(signers)} signers are in the trusted list",
        )
    return done(manifest.export_id, signers, reports)


def _check_package(
    path: Path, bundle_id: str, events: list[CustodyEvent], trust: KeyList | None,
    add: Callable[..., None],
) -> None:
    """A bundle's WACZ in the export: it verifies, is of that bundle, and its making is a
    `derived` event, with the package's SHA-256, in the exported custody log."""
    from collector.disclosure.wacz.verify import verify_wacz

    name = f"package {PACKAGES}/{path.name}"
    report = verify_wacz(path, trust)
    if report.bundle_id != bundle_id:
        add(name, False, f"a package of {report.bundle_id or 'no bundle'}, not of {bundle_id}")
        return
    if not report.ok:
        add(name, False, "; ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok))
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    made = next((e for e in events if e.type is EventType.derived and e.details.get("sha256") == digest), None)
    if made is None:
        add(name, False, "the package verifies, but no derived event of the custody log records it")
        return
    add(name, True, f"signed WACZ of {bundle_id} ({len(report.checks)} checks pass), made by "
        f"{made.actor.full_name} at {made.at} (custody event {made.seq})")  # fmt: skip


def _check_checkpoint(
    root: Path,
    manifest: ExportManifest,
    lookup: KeyLookup,
    roots: list[bytes],
    add: Callable[..., None],
) -> None:
    path = root / CHECKPOINT
    if not path.is_file():
        if manifest.format == FORMAT:
            add("ledger checkpoint", False, f"{CHECKPOINT} is missing")
        else:
            add("ledger checkpoint", True, f"format {manifest.format.rsplit('/', 1)[1]} carries no "
                "ledger checkpoint", warning=True)  # fmt: skip
        return
    try:
        checkpoint = Checkpoint.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        add("ledger checkpoint", False, f"{CHECKPOINT} is not a ledger checkpoint")
        return
    judged = check(checkpoint, lookup, roots)
    if judged.ok and checkpoint.statement.store_id != manifest.store_id:
        add("ledger checkpoint", False, "the checkpoint is of another store than the export's")
        return
    add("ledger checkpoint", judged.ok, judged.detail + (
        " (keep it: `collector ledger verify --against` proves the agency's ledger still "
        "extends it)" if judged.ok else ""), warning=judged.warning)  # fmt: skip


def verify_bundle_dir(bag: Path, trust: KeyList) -> VerifyReport:
    """A bundle directory on its own, against the key list the verifier trusts (no custody
    log: that lives in the store or an export)."""
    return verify_bundle(bag, trust.lookup(), None, trust.time_trust(), trust.agency_trust())


def _shipped_keys(root: Path) -> dict[str, SignerKey]:
    owners: dict[str, str] = {}
    try:
        for entry in json.loads((root / "keys" / "registry.json").read_text()):
            owners[str(entry["fingerprint"])] = str(entry["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = {}
    for path in sorted((root / "keys").glob("*.pub.pem")):
        pem = path.read_bytes()
        fingerprint = _fingerprint_or_none(pem)
        if fingerprint is not None and path.name == f"{fingerprint}.pub.pem":
            found[fingerprint] = SignerKey(owners.get(fingerprint, "?"), pem.decode())
    return found


def _fingerprint_or_none(pem: bytes) -> str | None:
    """A shipped key file that is not an Ed25519 public key is simply not a key."""
    try:
        return keys.fingerprint(pem)
    except CollectorError:
        return None


def _read_log(path: Path) -> tuple[list[CustodyEvent], str | None]:
    events = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"custody log unreadable: {exc}"
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(CustodyEvent.model_validate_json(line))
        except ValidationError:
            return events, f"custody log line {number} is not a valid event"
    return events, None


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
