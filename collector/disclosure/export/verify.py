"""Export verification: a recipient's zip on a machine with no evidence store, every bag in it
by bundle verification (`evidence/bundle/verify.py`), against the key list the recipient trusts.

The zip is hostile input: entries are checked (no absolute paths, no `..`, no links, bounded
sizes) and extracted into a private temporary directory before anything is read.
"""

from __future__ import annotations

import hashlib
import json
import stat
import tempfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath

import rfc8785
from pydantic import ValidationError

from collector.disclosure.export.build import CHECKPOINT, FORMAT, FORMATS, ExportManifest
from collector.disclosure.keylist import KeyList
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
from collector.evidence.custody import ChainHead, CustodyEvent
from collector.evidence.keys import KeyLookup, SignerKey
from collector.evidence.model import Model
from collector.evidence.timestamp import TimestampInvalid, verify_timestamp
from collector.evidence.trust import AgencyTrust
from collector.store.pki import certificate_sha256

MAX_TOTAL_BYTES = 64 * 1024**3
"""The most an export may expand to."""
MAX_RATIO = 100
"""How many times its compressed size a member may expand to, beyond RATIO_FREE_BYTES:
deflate reaches about 1000:1 on repeated bytes; evidence (PNG, gzip WARC, HTML, JSON) stays
far below 100:1."""
RATIO_FREE_BYTES = 1024 * 1024
MAX_ENTRIES = 1_000_000
MAX_NAME = 1024
MAX_DEPTH = 32
CHUNK = 1024 * 1024
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
}


class ExportReport(Model):
    path: str
    export_id: str | None
    ok: bool
    trusted: bool
    checks: list[Check]
    signers: dict[str, str]
    bundles: list[VerifyReport]


def _safe_extract(zip_path: Path, target: Path) -> None:
    """Extract a hostile zip into `target`: only plain relative paths, no links, bounded depth
    and name length, and every member streamed with a byte budget checked while it is
    decompressed (its declared size, and `MAX_RATIO` times its compressed size beyond
    `RATIO_FREE_BYTES`), within `MAX_TOTAL_BYTES` in all."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise UsageError(f"{zip_path}: not a readable zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise UsageError(f"{zip_path}: more than {MAX_ENTRIES} entries")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise UsageError(f"{zip_path}: uncompressed size is over {MAX_TOTAL_BYTES // 1024**3} GiB")
        written = 0
        for info in infos:
            name = info.filename
            pure = PurePosixPath(name)
            if (
                not name
                or len(name) > MAX_NAME
                or len(pure.parts) > MAX_DEPTH
                or "\\" in name
                or pure.is_absolute()
                or ".." in pure.parts
                or ":" in pure.parts[0]
                or stat.S_ISLNK(info.external_attr >> 16)
            ):
                raise UsageError(f"{zip_path}: unsafe entry {name[:200]!r}")
            budget = min(info.file_size, RATIO_FREE_BYTES + MAX_RATIO * info.compress_size)
            if info.file_size > budget:
                raise UsageError(f"{zip_path}: entry {name[:200]!r} expands implausibly (zip bomb?)")
            destination = target.joinpath(*pure.parts)
            try:
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, destination.open("xb") as dst:
                    size = 0
                    while chunk := src.read(CHUNK):
                        size += len(chunk)
                        written += len(chunk)
                        if size > budget or written > MAX_TOTAL_BYTES:
                            raise UsageError(f"{zip_path}: entry {name[:200]!r} is larger than "
                                             "it declares (zip bomb?)")  # fmt: skip
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                    NotImplementedError, RuntimeError, ValueError) as exc:  # fmt: skip
                why = getattr(exc, "strerror", None) or exc
                raise UsageError(f"{zip_path}: cannot extract {name[:200]!r} ({why})") from exc


def verify_export(zip_path: Path, trust: KeyList | None) -> ExportReport:
    with tempfile.TemporaryDirectory(prefix="collector-export-") as tmp:
        root = Path(tmp)
        _safe_extract(zip_path, root)
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
