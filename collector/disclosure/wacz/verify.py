"""Verifying a WACZ package as its recipient does, with no evidence store.

Every package: the listed files' SHA-256 and sizes, nothing unlisted, the digest of
`datapackage.json`, its signature (WACZ Signing and Verification 0.1.0, anonymous or domain
form) and its time-stamp. Who signed is established only by a certificate chain to a root the
verifier trusts: the agency's (from the key list given with `--trust`) for this tool's packages,
a public web root in this machine's trust store for a domain-signed one. A package made by this
tool is also tied back to its sealed bundle: the bag's seal verifies and the WARC, screenshot and
metadata inside are the files the seal covers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from collector.disclosure.keylist import KeyList
from collector.disclosure.safezip import safe_extract
from collector.errors import UsageError
from collector.evidence import keys, pki
from collector.evidence.bundle import layout as bag
from collector.evidence.bundle.verify import Check
from collector.evidence.model import Model, metadata_model
from collector.evidence.timestamp import TimestampInvalid, verify_timestamp

from . import layout, signing
from .build import DataPackage, Digest, SignedData, bag_format, page_of

SYSTEM_ROOTS = Path("/etc/ssl/certs/ca-certificates.crt")
"""Public web roots, for a domain-signed package (Debian's ca-certificates)."""
STAMP_WINDOW = timedelta(minutes=10)
"""How far `created` may be from the time-stamp (the signing specification's limit)."""


class WaczReport(Model):
    path: str
    ok: bool
    made_by_collector: bool
    bundle_id: str | None
    checks: list[Check]


class _Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, name: str, ok: bool, detail: str, warning: bool = False) -> bool:
        self.items.append(Check(name=name, ok=ok, detail=detail, warning=warning))
        return ok


def verify_wacz(path: Path, trust: KeyList | None) -> WaczReport:
    if path.suffix.lower() != ".wacz":
        raise UsageError(f"{path}: a WACZ package's name ends in .wacz")
    with tempfile.TemporaryDirectory(prefix="collector-wacz-") as tmp:
        root = Path(tmp)
        safe_extract(path, root)
        return _verify_tree(path, root, trust)


def _verify_tree(path: Path, root: Path, trust: KeyList | None) -> WaczReport:
    checks = _Checks()

    def done(package: DataPackage | None) -> WaczReport:
        info = package.collector if package else None
        return WaczReport(path=str(path), ok=all(c.ok for c in checks.items),
                          made_by_collector=info is not None,
                          bundle_id=info.bundle_id if info else None, checks=checks.items)  # fmt: skip

    package_bytes = _read(root / layout.DATAPACKAGE)
    try:
        package = DataPackage.model_validate_json(package_bytes or b"")
    except ValidationError as exc:
        checks.add("package", False, f"{layout.DATAPACKAGE} missing or invalid: "
                   f"{' '.join(str(exc).split())[:300]}")  # fmt: skip
        return done(None)
    checks.add("package", True, f"WACZ {package.wacz_version}, made by {package.software or '?'}, "
               f"created {package.created or '?'}")  # fmt: skip
    if not _resources(root, package, checks):
        return done(package)
    signed = _digest(root, package_bytes or b"", checks)
    if signed is None:
        return done(package)
    created = _when(signed.created)
    if package.collector is not None:
        _collector_signer(root, signed, created, trust, checks)
    elif signed.domainCert:
        _domain_signer(signed, created, checks)
    else:
        checks.add("signer", False, "anonymous signature: the public key inside the package is "
                   "certified by no one; who signed is not established (compare publicKey with "
                   "a key obtained from the signer)")  # fmt: skip
    _time_signature(signed, created, trust, checks)
    if package.collector is not None:
        _bundle(root, package, trust, checks)
    return done(package)


def _read(file: Path) -> bytes | None:
    try:
        if file.is_symlink() or not file.is_file() or file.stat().st_size > layout.MAX_JSON:
            return None
        return file.read_bytes()
    except OSError:
        return None


def _resources(root: Path, package: DataPackage, checks: _Checks) -> bool:
    listed: set[str] = set()
    problems: list[str] = []
    total = 0
    for resource in package.resources:
        pure = PurePosixPath(resource.path)
        if pure.is_absolute() or ".." in pure.parts or not resource.path:
            problems.append(f"{resource.path[:100]!r} is not a path inside the package")
            continue
        listed.add(pure.as_posix())
        file = root.joinpath(*pure.parts)
        algorithm, _, expected = resource.hash.partition(":")
        if algorithm != "sha256":
            problems.append(f"{resource.path}: hash {resource.hash[:40]!r} is not SHA-256")
        elif not file.is_file() or file.is_symlink():
            problems.append(f"{resource.path}: missing")
        elif file.stat().st_size != resource.bytes:
            problems.append(f"{resource.path}: {file.stat().st_size} bytes, listed as {resource.bytes}")
        elif _sha256(file) != expected.lower():
            problems.append(f"{resource.path}: SHA-256 differs from the listed one (altered)")
        else:
            total += resource.bytes
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    unlisted = sorted(present - listed - {layout.DATAPACKAGE, layout.DIGEST})
    if unlisted:
        problems.append(f"not listed in {layout.DATAPACKAGE} (added?): {', '.join(unlisted[:5])}")
    if problems:
        return checks.add("files", False, "; ".join(problems[:5]))
    return checks.add("files", True, f"{len(listed)} files, {total} bytes: each matches its "
                      f"listed SHA-256 and size, none unlisted")  # fmt: skip


def _digest(root: Path, package_bytes: bytes, checks: _Checks) -> SignedData | None:
    raw = _read(root / layout.DIGEST)
    if raw is None:
        checks.add("signature", False, f"no {layout.DIGEST}: the package is not signed")
        return None
    try:
        digest = Digest.model_validate_json(raw)
    except ValidationError as exc:
        checks.add("signature", False, f"{layout.DIGEST} invalid: {' '.join(str(exc).split())[:300]}")
        return None
    actual = f"sha256:{hashlib.sha256(package_bytes).hexdigest()}"
    if digest.path != layout.DATAPACKAGE or digest.hash != actual:
        checks.add("package digest", False, f"{layout.DIGEST} does not give the SHA-256 of "
                   f"{layout.DATAPACKAGE} ({actual}): the file list was altered")  # fmt: skip
        return None
    checks.add("package digest", True, f"{layout.DATAPACKAGE} has the signed digest {actual}")
    signed = digest.signedData
    if signed is None:
        checks.add("signature", False, f"{layout.DIGEST} carries no signedData: not signed")
        return None
    if signed.hash != digest.hash:
        checks.add("signature", False, "signedData.hash is not the digest of datapackage.json")
        return None
    try:
        if signed.publicKey:
            key: object = signing.load_public_key(signed.publicKey)
            how = "anonymous form: ECDSA with the publicKey in the package"
        elif signed.domainCert:
            key = pki.load_certificates(signed.domainCert)[0].public_key()
            how = f"domain form: the key of the certificate for {signed.domain}"
        else:
            checks.add("signature", False, "signedData has neither publicKey nor domainCert")
            return None
    except (UsageError, ValueError, IndexError) as exc:
        checks.add("signature", False, f"the signing key cannot be read: {exc}")
        return None
    if not signing.verifies(key, signed.hash, signed.signature):
        checks.add("signature", False, f"the signature of {signed.hash} does not verify ({how})")
        return None
    checks.add("signature", True, f"ECDSA-SHA256 signature of the digest verifies ({how})")
    return signed


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _collector_signer(
    root: Path, signed: SignedData, created: datetime | None, trust: KeyList | None, checks: _Checks
) -> None:
    try:
        chain = pki.load_certificates(_read(root / layout.SIGNER_CHAIN) or b"")
    except ValueError:
        chain = []
    if not chain or signed.publicKey is None:
        checks.add("signer", False, f"the package has no signer certificate ({layout.SIGNER_CHAIN})")
        return
    leaf = chain[0]
    if leaf.public_key() != signing.load_public_key(signed.publicKey):
        checks.add("signer", False, "the signer certificate is for another key than publicKey")
        return
    name = leaf.subject.rfc4514_string()
    if pki.role_of(leaf) != pki.ARCHIVE_SIGNER_ROLE:
        checks.add("signer", False, f"{name} is not certified as an archive signer")
        return
    if trust is None or created is None:
        checks.add("signer", False, f"signer not anchored: {name}, but the certificates inside "
                   "the package prove nothing by themselves (pass --trust AGENCY-KEYS.json)"
                   if created is not None else "signedData.created is not a time")  # fmt: skip
        return
    agency = trust.agency_trust()
    problem = pki.chain_problem(leaf, agency.intermediates, agency.roots, created)
    if problem is None:
        issuer = next(c for c in agency.intermediates if pki.issued_by(leaf, c))
        for crl in agency.crls:
            try:
                revoked = pki.revocation_of(crl, issuer, leaf.serial_number)
            except ValueError:
                continue
            if revoked is not None and revoked.invalid_from <= created:
                problem = f"the signer's certificate is revoked from {revoked.invalid_from:%Y-%m-%d}"
    checks.add("signer", problem is None,
               f"{name}, certified by {trust.agency}'s issuing CA (trusted key list)"
               if problem is None else f"{name}: {problem}")  # fmt: skip


def _domain_signer(signed: SignedData, created: datetime | None, checks: _Checks) -> None:
    try:
        chain = pki.load_certificates(signed.domainCert or "")
        leaf = chain[0]
    except (ValueError, IndexError) as exc:
        checks.add("signer", False, f"domainCert is not a readable certificate chain ({exc})")
        return
    names = [str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    if not signed.domain or signed.domain not in names:
        checks.add("signer", False, f"the certificate names {names}, not the domain {signed.domain!r}")
        return
    broken = next((i for i in range(len(chain) - 1) if not pki.issued_by(chain[i], chain[i + 1])), None)
    if broken is not None:
        checks.add("signer", False, f"domainCert: certificate {broken + 1} is not issued by the next")
        return
    if created is None or not leaf.not_valid_before_utc <= created <= leaf.not_valid_after_utc:
        checks.add("signer", False, f"the certificate for {signed.domain} was not valid when the "
                   f"package says it was signed ({signed.created})")  # fmt: skip
        return
    roots = _system_roots()
    anchor = next((r for c in chain for r in roots if c.issuer == r.subject and pki.issued_by(c, r)), None)
    if anchor is None:
        checks.add("signer", False, f"{signed.domain}: the certificate chain reaches no public web "
                   f"root in {SYSTEM_ROOTS}")  # fmt: skip
        return
    checks.add("signer", True, f"domain {signed.domain}, certified under "
               f"{anchor.subject.rfc4514_string()} (a public web root in {SYSTEM_ROOTS})")  # fmt: skip


def _system_roots() -> list[x509.Certificate]:
    try:
        return pki.load_certificates(SYSTEM_ROOTS.read_bytes())
    except (OSError, ValueError):
        return []


def _time_signature(
    signed: SignedData, created: datetime | None, trust: KeyList | None, checks: _Checks
) -> None:
    if not signed.timeSignature:
        checks.add("time-stamp", True, "the signature is not time-stamped: the signing time "
                   f"{signed.created} is the signer's own word", warning=True)  # fmt: skip
        return
    try:
        token = base64.b64decode(signed.timeSignature, validate=True)
        carried = pki.load_certificates(signed.timestampCert or "")
    except (binascii.Error, ValueError) as exc:
        checks.add("time-stamp", False, f"timeSignature or timestampCert unreadable ({exc})")
        return
    data = signed.signature.encode("ascii")
    trusted = [r.encode() for r in trust.all_tsa_roots()] if trust is not None else []
    anchored = True
    try:
        info = verify_timestamp(token, data, trusted, carried) if trusted else None
    except TimestampInvalid:
        info = None
    if info is None:
        anchored = False
        shipped = [pki.pem(c).encode() for c in carried if pki.issued_by(c, c)]
        try:
            info = verify_timestamp(token, data, shipped, carried)
        except TimestampInvalid as exc:
            checks.add("time-stamp", False, f"timeSignature: {exc}")
            return
    if created is None or abs(info.gen_time - created) > STAMP_WINDOW:
        checks.add("time-stamp", False, f"stamped {info.gen_time:%Y-%m-%d %H:%M:%SZ}, not within "
                   f"10 minutes of the signing time {signed.created}")  # fmt: skip
        return
    who = info.tsa_name or "the time-stamp authority"
    if anchored:
        checks.add("time-stamp", True, f"the signature existed at {info.gen_time:%Y-%m-%d %H:%M:%SZ} "
                   f"({who}, a trusted time-stamp root)")  # fmt: skip
    else:
        checks.add("time-stamp", True, f"the signature existed at {info.gen_time:%Y-%m-%d %H:%M:%SZ} "
                   f"({who}); the authority's root shipped in the package is not among the "
                   "trusted time-stamp roots", warning=True)  # fmt: skip


def _bundle(root: Path, package: DataPackage, trust: KeyList | None, checks: _Checks) -> None:
    info = package.collector
    assert info is not None
    tags = root.joinpath(*PurePosixPath(layout.BAG_DIR).parts)
    tagmanifest = _read(tags / bag.SIGNED_FILE)
    signature, signer_pem = _read(tags / bag.SIGNATURE), _read(tags / bag.SIGNER_KEY)
    if tagmanifest is None or signature is None or signer_pem is None:
        checks.add("sealed bundle", False, f"the bag's seal is not in {layout.BAG_DIR}/")
        return
    if hashlib.sha256(tagmanifest).hexdigest() != info.seal_sha256:
        checks.add("sealed bundle", False, "the bag's tag manifest is not the seal the package names")
        return
    listed = _manifest(tagmanifest)
    wrong = [n for n, d in listed.items()  # a tag file is a plain name in the bag's root
             if "/" in n or "\\" in n or n in (".", "..") or _read(tags / n) is None
             or _sha256(tags / n) != d]  # fmt: skip
    if wrong or not listed:
        checks.add("sealed bundle", False, f"tag files differ from the sealed tag manifest: {wrong[:5]}")
        return
    try:
        sealed = keys.verify(signer_pem, tagmanifest, signature)
    except (ValueError, TypeError):
        sealed = False
    fingerprint = keys.fingerprint(signer_pem)
    if not sealed:
        checks.add("sealed bundle", False, f"the seal of {info.bundle_id} does not verify")
        return
    known = trust.lookup()(fingerprint) if trust is not None else None
    if trust is None:
        checks.add("sealed bundle", True, f"{info.bundle_id}: the seal over its tag manifest "
                   f"verifies with the key inside ({fingerprint[:16]}…), not anchored without a "
                   "key list", warning=True)  # fmt: skip
    elif known is None:
        checks.add("sealed bundle", False, f"{info.bundle_id}: sealed with key {fingerprint[:16]}…, "
                   "which is not in the trusted key list")  # fmt: skip
    else:
        checks.add("sealed bundle", True, f"{info.bundle_id}: the seal over its tag manifest "
                   f"verifies with {known.owner}'s key (trusted key list)")  # fmt: skip
    payload = _manifest(_read(tags / "manifest-sha256.txt") or b"")
    foreign = sorted(m for m, src in info.copies.items() if layout.COPIED.get(m) != src)
    if foreign or layout.WARC not in info.copies or layout.METADATA not in info.copies:
        checks.add("same as sealed", False, f"{layout.DATAPACKAGE} names copies this format does "
                   f"not make: {foreign or [layout.WARC, layout.METADATA]}")  # fmt: skip
        return
    mismatched = [m for m, src in info.copies.items()
                  if payload.get(src) is None or _sha256(root.joinpath(*PurePosixPath(m).parts)) != payload[src]]  # fmt: skip
    if mismatched:
        checks.add("same as sealed", False, f"not the files sealed in {info.bundle_id}: {mismatched}")
        return
    checks.add("same as sealed", True, f"{', '.join(sorted(info.copies))} are byte for byte the "
               f"files sealed in {info.bundle_id}")  # fmt: skip
    _pages(root, tags, info.bundle_id, checks)
    _seal_stamp(tags, signature, trust, checks)


def _pages(root: Path, tags: Path, bundle_id: str, checks: _Checks) -> None:
    """The page a replay opens (`pages.jsonl`: URL, time, title) is the one the sealed metadata
    records: the signed file list alone would let a holder of the WACZ key show another."""
    try:
        meta = metadata_model(bag_format(tags)).model_validate_json(
            root.joinpath(*PurePosixPath(layout.METADATA).parts).read_bytes()
        )
        lines = (_read(root.joinpath(*PurePosixPath(layout.PAGES).parts)) or b"").decode().splitlines()
        shown = [json.loads(line) for line in lines[1:] if line.strip()]
    except (OSError, ValueError, ValidationError) as exc:
        checks.add("page", False, f"{layout.PAGES} or the sealed metadata unreadable ({exc})"[:300])
        return
    expected = page_of(meta)
    if shown != [expected]:
        checks.add("page", False, f"{layout.PAGES} does not name the sealed capture's page only "
                   f"({expected['url']}, {expected['ts']})")  # fmt: skip
        return
    checks.add("page", True, f"{layout.PAGES} opens {expected['url']} as captured at {expected['ts']}")


def _seal_stamp(tags: Path, signature: bytes, trust: KeyList | None, checks: _Checks) -> None:
    token = _read(tags / bag.TIMESTAMP)
    if token is None:
        checks.add("seal time-stamp", True, "the bundle's seal has no time-stamp", warning=True)
        return
    roots = [r.encode() for r in trust.all_tsa_roots()] if trust is not None else []
    if not roots:
        checks.add("seal time-stamp", False, "the seal's time-stamp is not checked against a trusted "
                   "root: no key list given")  # fmt: skip
        return
    try:
        stamped = verify_timestamp(token, signature, roots)
    except TimestampInvalid as exc:
        checks.add("seal time-stamp", False, str(exc))
        return
    checks.add("seal time-stamp", True, f"the bundle was sealed by {stamped.gen_time:%Y-%m-%d %H:%M:%SZ}")


def _manifest(text: bytes) -> dict[str, str]:
    found = {}
    for line in text.decode("utf-8", "replace").splitlines():
        digest, _, name = line.strip().partition(" ")
        if digest and name.strip():
            found[name.strip()] = digest.lower()
    return found


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
