"""Bundle verification: one bag on its own, a checklist of named checks a custodian can read
aloud. (The other two kinds build on it: verification in a store, `store/verify.py`, adds the
store's key registry, custody log and tombstones; export verification,
`disclosure/export/verify.py`, checks a recipient's zip against a trusted key list.)

Every payload file is read once (SHA-256 and SHA-512 together). Nothing here writes
to the bundle. The result is data; the CLI prints it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from pydantic import Field, ValidationError

from collector.errors import CollectorError
from collector.evidence import files, keys
from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import Digests, digest_file
from collector.evidence.bundle.request_check import JobSeals, check_request
from collector.evidence.custody import ChainHead, CustodyEvent, EventType, verify_chain
from collector.evidence.keys import KeyLookup
from collector.evidence.model import Metadata, Model, approval_payload, metadata_model
from collector.evidence.timestamp import TimestampInvalid, check_time_window, verify_timestamp
from collector.evidence.trust import AgencyTrust, judge_approver, judge_signer, read_chain

MAX_TAG_FILE = 1 * files.MIB
"""bag-info.txt, seal.sig, seal.tsr, signer.pub.pem, signer-chain.pem."""
MAX_MANIFEST = 256 * files.MIB
MAX_METADATA = 512 * files.MIB

NO_LIMIT_S = 100 * 365 * 86400.0
"""A late stamp (custody event) is judged only for being after the capture started."""


class Check(Model):
    name: str
    ok: bool
    detail: str
    warning: bool = Field(False, description="Passed, but something a custodian must know.")


def failures(checks: Sequence[Check]) -> list[str]:
    """The checks that did not pass, as `name: detail`."""
    return [f"{c.name}: {c.detail}" for c in checks if not c.ok]


class VerifyReport(Model):
    path: str
    bundle_id: str | None
    ok: bool
    checks: list[Check]


@dataclass(frozen=True)
class CustodyInput:
    """A bundle's custody log and, when known, the head recorded elsewhere."""

    events: list[CustodyEvent]
    expected_head: ChainHead | None
    source: str


class _Checklist:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool, detail: str, warning: bool = False) -> bool:
        self.checks.append(Check(name=name, ok=ok, detail=detail, warning=warning))
        return ok


def read_manifest(path: Path) -> dict[str, str]:
    """Parse a BagIt manifest into {relative path: hex digest}; hostile paths raise ValueError."""
    entries: dict[str, str] = {}
    text = files.read_text(path, "manifest", MAX_MANIFEST, follow=False)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"{path.name} line {number} is malformed")
        digest, name = parts[0].lower(), _decode_path(parts[1].strip())
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or "\\" in name:
            raise ValueError(f"{path.name} line {number} names a path outside the bag")
        entries[str(pure)] = digest
    return entries


def _decode_path(name: str) -> str:
    return name.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def read_bag_info(path: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    last: str | None = None
    for line in files.read_text(path, "bag-info", MAX_TAG_FILE, follow=False).splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            info[last] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            last = key.strip()
            info[last] = value.strip()
    return info


@dataclass
class _Tree:
    """What the bag holds, seen without following links: its regular files (relative,
    `/`-separated) and every entry that has no place in a bag."""

    regular: set[str]
    problems: list[str]

    def under(self, prefix: str) -> set[str]:
        return {name for name in self.regular if name.startswith(prefix)}


def _scan(bag: Path) -> _Tree:
    tree = _Tree(set(), [])
    pending = [(bag, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            tree.problems.append(f"{prefix or '.'}: cannot be listed ({exc.strerror or exc})")
            continue
        for entry in entries:
            name = f"{prefix}{entry.name}"
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISREG(mode):
                tree.regular.add(name)
            elif stat.S_ISDIR(mode):
                if not prefix and entry.name != "data":
                    tree.problems.append(f"{name}/ is a directory outside data/")
                pending.append((Path(entry.path), f"{name}/"))
            else:
                tree.problems.append(f"{name} is {files.kind(mode)}: only regular files are read")
    return tree


def _read(bag: Path, name: str, limit: int = MAX_TAG_FILE) -> bytes:
    """A file of the bag, only if it is a regular file (not a link, FIFO or device)."""
    return files.read_regular(bag / name, "bundle file", limit, follow=False)


@dataclass(frozen=True)
class TimeTrust:
    """The roots time-stamp tokens must chain to, and how late a seal's stamp may be."""

    roots: list[bytes]
    late_limit_s: float = 600.0


def verify_bundle(
    bag: Path,
    key_lookup: KeyLookup | None = None,
    custody: CustodyInput | None = None,
    time_trust: TimeTrust | None = None,
    agency: AgencyTrust | None = None,
    streamed: Mapping[str, Digests] | None = None,
    job_seals: JobSeals | None = None,
) -> VerifyReport:
    """Run every check on the bag at `bag`; never raises for a bad bundle.

    `agency` anchors the signer (format 1.4 on): without it the signer is not anchored and
    the report fails. `streamed` holds the digests of payload files hashed as they were read
    from elsewhere (a bucket) and not written under `bag`, where each has an empty stand-in.
    `job_seals` is a store's record of which bundle each capture request was sealed as."""
    c = _Checklist()
    info: dict[str, str] = {}
    tree = _scan(bag)
    if not c.add("bag declaration", "bagit.txt" in tree.regular, "bagit.txt present"):
        return VerifyReport(path=str(bag), bundle_id=None, ok=False, checks=c.checks)
    _check_bag_info(bag, c, info)
    payload = _check_payload(bag, c, tree, streamed or {})
    _check_tags(bag, c, tree)
    _check_signature(bag, c, info, key_lookup)
    meta = _check_metadata(bag, c, info, payload)
    _check_authorization(c, meta, key_lookup, custody, agency, info.get("Bundle-Format"))
    stamped_at = _check_time(bag, c, meta, custody, time_trust, tree)
    sealer_role = _check_signer_certificate(bag, c, info, meta, stamped_at, agency, key_lookup)
    check_request(bag, c.add, meta, sealer_role, stamped_at, agency, job_seals)
    _check_custody(bag, c, info, key_lookup, custody)
    ok = all(check.ok for check in c.checks)
    return VerifyReport(
        path=str(bag), bundle_id=info.get("External-Identifier"), ok=ok, checks=c.checks
    )


def _check_bag_info(bag: Path, c: _Checklist, info: dict[str, str]) -> None:
    try:
        info.update(read_bag_info(bag / "bag-info.txt"))
    except (OSError, UnicodeDecodeError, CollectorError) as exc:
        c.add("bag-info", False, f"cannot read bag-info.txt: {exc}")
        return
    missing = [k for k in layout.REQUIRED_BAG_INFO if not info.get(k)]
    if missing:
        c.add("bag-info", False, f"missing fields: {', '.join(missing)}")
    elif info["Bundle-Format"] not in layout.READABLE_FORMATS:
        c.add("bag-info", False, f"unknown bundle format {info['Bundle-Format']!r}")
    else:
        c.add("bag-info", True, f"{info['Bundle-Format']}, case {info['Case-Number']}")


def _check_payload(
    bag: Path, c: _Checklist, tree: _Tree, streamed: Mapping[str, Digests]
) -> dict[str, Digests]:
    """Check both payload manifests against the files; return the computed digests."""
    manifests: dict[str, dict[str, str]] = {}
    for alg in layout.ALGORITHMS:
        try:
            manifests[alg] = read_manifest(bag / f"manifest-{alg}.txt")
        except (OSError, UnicodeDecodeError, ValueError, CollectorError) as exc:
            c.add(f"payload manifest {alg}", False, f"unreadable: {exc}")
            return {}
    listed = set(manifests["sha256"])
    if listed != set(manifests["sha512"]):
        c.add("manifests agree", False, "SHA-256 and SHA-512 manifests list different files")
    on_disk = tree.under("data/")
    missing, added = sorted(listed - on_disk), sorted(on_disk - listed)
    detail = "; ".join(
        part
        for part in (
            f"missing: {', '.join(missing)}" if missing else "",
            f"not in manifest: {', '.join(added)}" if added else "",
        )
        if part
    )
    c.add("payload complete", not missing and not added, detail or f"{len(listed)} files")
    digests = {name: streamed[name] if name in streamed else digest_file(bag / name)
               for name in sorted(listed & on_disk)}  # fmt: skip
    for alg in layout.ALGORITHMS:
        bad = [
            name
            for name, expected in sorted(manifests[alg].items())
            if name in digests and getattr(digests[name], alg) != expected
        ]
        c.add(
            f"payload {alg}",
            not bad,
            f"changed: {', '.join(bad)}" if bad else f"{len(digests)} files match",
        )
    return digests


def _check_tags(bag: Path, c: _Checklist, tree: _Tree) -> None:
    listed: dict[str, set[str]] = {}
    for alg in layout.ALGORITHMS:
        try:
            entries = read_manifest(bag / f"tagmanifest-{alg}.txt")
        except (OSError, UnicodeDecodeError, ValueError, CollectorError) as exc:
            c.add(f"tag files {alg}", False, f"tag manifest unreadable: {exc}")
            continue
        listed[alg] = set(entries)
        bad = [
            name
            for name, expected in sorted(entries.items())
            if name not in tree.regular or getattr(digest_file(bag / name), alg) != expected
        ]
        c.add(
            f"tag files {alg}",
            not bad,
            f"changed or missing: {', '.join(bad)}" if bad else f"{len(entries)} tag files match",
        )
    signed = listed.get("sha256", set())  # only the SHA-256 tag manifest is signed
    root_files = {name for name in tree.regular if "/" not in name}
    extra = sorted(root_files - signed - layout.UNLISTED_TAG_FILES)
    required = {"bagit.txt", "bag-info.txt", layout.SIGNER_KEY}
    if _bundle_format(bag) not in layout.WITHOUT_CERTIFICATE:
        required.add(layout.SIGNER_CHAIN)
    uncovered = sorted(required - signed)
    problems = [f"unexpected: {', '.join(extra)}"] if extra else []
    problems += tree.problems
    if len(listed) == 2 and listed["sha256"] != listed["sha512"]:
        problems.append("the SHA-256 and SHA-512 tag manifests list different files")
    problems += [f"not covered by a tag manifest: {', '.join(uncovered)}"] if uncovered else []
    c.add(
        "no unexpected files",
        not problems,
        "; ".join(problems) or "every file at the bag root is accounted for",
    )


def _check_signature(
    bag: Path, c: _Checklist, info: dict[str, str], key_lookup: KeyLookup | None
) -> None:
    try:
        signed = _read(bag, layout.SIGNED_FILE, MAX_MANIFEST)
        signature = _read(bag, layout.SIGNATURE)
        public_pem = _read(bag, layout.SIGNER_KEY)
    except CollectorError as exc:
        c.add("seal signature", False, f"cannot be checked: {exc}")
        return
    if not keys.verify(public_pem, signed, signature):
        c.add("seal signature", False, "seal.sig does not verify over tagmanifest-sha256.txt")
        return
    try:
        fingerprint = keys.fingerprint(public_pem)
    except Exception as exc:
        c.add("seal signature", False, f"signer key unreadable: {exc}")
        return
    c.add("seal signature", True, f"Ed25519 over tagmanifest-sha256.txt, key {fingerprint[:16]}…")
    if fingerprint != info.get("Signer-Key-Fingerprint"):
        c.add("signer key", False, "signer.pub.pem does not match Signer-Key-Fingerprint")
        return
    if key_lookup is None:
        return  # the signer is anchored (or not) by its certificate: "signer certificate"
    registered = key_lookup(fingerprint)
    operator = info.get("Operator", "")
    if registered is None:
        c.add("signer key", False, f"key {fingerprint[:16]}… is not in the store's key registry")
    elif not operator.endswith(f"user {registered.owner}"):
        c.add("signer key", False, f"key belongs to {registered.owner}, not the operator")
    else:
        c.add("signer key", True, f"registered to {registered.owner}")


def _check_metadata(
    bag: Path, c: _Checklist, info: dict[str, str], payload: dict[str, Digests]
) -> Metadata | None:
    try:
        meta = metadata_model(info.get("Bundle-Format")).model_validate_json(
            _read(bag, f"data/{layout.METADATA}", MAX_METADATA)
        )
    except (OSError, ValidationError, CollectorError) as exc:
        first = str(exc).splitlines()[0]
        c.add("metadata", False, f"metadata.json unreadable or invalid: {first}")
        return None
    problems = []
    if meta.bundle_id != info.get("External-Identifier"):
        problems.append("bundle id differs from bag-info")
    if meta.case_number != info.get("Case-Number"):
        problems.append("case number differs from bag-info")
    for artifact in meta.artifacts:
        digests = payload.get(f"data/{artifact.path}")
        if digests is None or digests.sha256 != artifact.sha256 or digests.size != artifact.size:
            problems.append(f"{artifact.path} differs from its metadata entry")
    c.add(
        "metadata",
        not problems,
        "; ".join(problems) or f"{len(meta.artifacts)} artifacts agree with metadata.json",
    )
    return meta


def _check_authorization(
    c: _Checklist,
    meta: Metadata | None,
    key_lookup: KeyLookup | None,
    custody: CustodyInput | None,
    agency: AgencyTrust | None,
    bundle_format: str | None,
) -> None:
    """The authorization recorded in the bundle is exactly what its approver signed.

    An exigent capture has no prior approval: its supervisor review is a custody event.
    """
    if meta is None:
        c.add("authorization", False, "not checked: metadata.json could not be read")
        return
    auth = meta.authorization
    if auth.conditions.exigent:
        review = next(
            (e for e in (custody.events if custody else []) if e.type is EventType.reviewed
             and e.details.get("kind") == "exigent"),
            None,
        )  # fmt: skip
        if review is None:
            c.add("authorization", True, f"{auth.id}: EXIGENT capture without prior approval; "
                  "a supervisor's review is owed", warning=True)  # fmt: skip
        else:
            decision = review.details.get("decision")
            c.add(
                "authorization",
                True,
                f"{auth.id}: exigent capture, review {decision} by {review.actor.full_name} "
                f"(badge {review.actor.badge}) at {review.at}: {review.details.get('reason')}",
                warning=decision != "approved",
            )
        return
    approver = auth.approved_by
    if key_lookup is None or approver is None or auth.approver_key_fingerprint is None:
        c.add("authorization", True, f"{auth.id}: approval not checked (no key registry given)",
              warning=True)  # fmt: skip
        return
    key = key_lookup(auth.approver_key_fingerprint)
    if key is None:
        c.add("authorization", False, f"{auth.id}: the approver's key is not known")
    elif key.owner != approver.user:
        c.add(
            "authorization",
            False,
            f"{auth.id}: approval key belongs to {key.owner}, not {approver.user}",
        )
    elif not keys.verify(
        key.public_key_pem.encode(),
        approval_payload(auth),
        keys.unb64(auth.approval_signature or ""),
    ):
        c.add("authorization", False,
              f"{auth.id}: the recorded authorization differs from what {approver.user} approved")  # fmt: skip
    else:
        role = None
        if bundle_format not in layout.WITHOUT_CERTIFICATE and auth.approved_at is not None:
            role = judge_approver(
                auth.approver_key_fingerprint, approver.user, auth.approved_at, agency
            )
        c.add(
            "authorization",
            role is None or role.ok,
            f"{auth.id} ({auth.predicate}, {auth.standard}) approved by {approver.full_name}, "
            f"badge {approver.badge}; signature verified" + (f"; {role.detail}" if role else ""),
            warning=role is not None and role.warning,
        )


def _check_time(
    bag: Path,
    c: _Checklist,
    meta: Metadata | None,
    custody: CustodyInput | None,
    trust: TimeTrust | None,
    tree: _Tree,
) -> datetime | None:
    """The seal's time-stamp (seal.tsr, or a late `timestamped` custody event) and the clock.
    Returns the time the stamp proves, when a trusted stamp was checked."""
    if meta is None:
        c.add("time-stamp", False, "not checked: metadata.json could not be read")
        return None
    clock = meta.clock
    if clock.warnings:
        c.add("clock", True, "; ".join(clock.warnings), warning=True)
    elif clock.ntp_offset_s is not None:
        c.add("clock", True, f"{clock.ntp_offset_s:+.3f} s from NTP server {clock.ntp_server}")
    else:
        c.add(
            "clock", True, f"local clock ({clock.timezone}); no NTP server configured", warning=True
        )
    token: bytes | None = None
    late_event: CustodyEvent | None = None
    if layout.TIMESTAMP in tree.regular:
        try:
            token = _read(bag, layout.TIMESTAMP)
        except CollectorError as exc:
            c.add("time-stamp", False, str(exc))
            return None
    elif custody is not None:
        captured = next((e for e in custody.events if e.type is EventType.captured), None)
        if captured is not None and captured.details.get("timestamp") == "stamped":
            c.add("time-stamp", False, f"{layout.TIMESTAMP} is missing, but the signed "
                  f"`captured` custody event (seq {captured.seq}) records the seal as stamped")  # fmt: skip
            return None
        late_event = next((e for e in custody.events if e.type is EventType.timestamped), None)
        token = keys.unb64(str(late_event.details.get("token", ""))) if late_event else None
    if token is None:
        if meta.timestamping.configured:
            c.add("time-stamp", True, "PENDING: no authority answered at sealing; run "
                  "`collector timestamp retry` (time rests on the local clock until then)",
                  warning=True)  # fmt: skip
        else:
            c.add("time-stamp", True, meta.timestamping.statement, warning=True)
        return None
    if trust is None or not trust.roots:
        c.add("time-stamp", True, "token present but not checked: no trusted authority root given",
              warning=True)  # fmt: skip
        return None
    try:
        info = verify_timestamp(token, _read(bag, layout.SIGNATURE), trust.roots)
    except (TimestampInvalid, OSError, CollectorError) as exc:
        c.add("time-stamp", False, str(exc))
        return None
    started, ended = meta.capture.started_at, meta.capture.ended_at
    slack = max(1.0, info.accuracy_s or 0.0)
    if late_event is None:
        ok, why = check_time_window(
            info.gen_time, started, ended, trust.late_limit_s, slack_s=slack
        )
        c.add("time-stamp", ok, f"{info.gen_time:%Y-%m-%d %H:%M:%SZ} by {info.tsa_name}: {why}")
        return info.gen_time if ok else None
    ok, why = check_time_window(info.gen_time, started, ended, NO_LIMIT_S, slack_s=slack)
    delay = info.gen_time - ended
    c.add(
        "time-stamp",
        ok,
        f"late stamp {info.gen_time:%Y-%m-%d %H:%M:%SZ} by {info.tsa_name}, obtained "
        + (_duration(delay.total_seconds()) if delay.total_seconds() >= 1 else "under 1 s")
        + f" after the capture ended (custody event "
        f"{late_event.seq}): until then the time rested on the local clock"
        + ("" if ok else f"; {why}"),
        warning=ok,
    )
    return info.gen_time if ok else None


def _bundle_format(bag: Path) -> str | None:
    try:
        return read_bag_info(bag / "bag-info.txt").get("Bundle-Format")
    except (OSError, UnicodeDecodeError):
        return None


def _check_signer_certificate(
    bag: Path,
    c: _Checklist,
    info: dict[str, str],
    meta: Metadata | None,
    stamped_at: datetime | None,
    agency: AgencyTrust | None,
    key_lookup: KeyLookup | None,
) -> str | None:
    """Who signed the seal, anchored to the agency's root (`evidence/trust.py`); the role its
    certificate names, when one could be read."""
    name = "signer certificate"
    version = info.get("Bundle-Format", "?").rsplit("/", 1)[-1]
    if info.get("Bundle-Format") in layout.WITHOUT_CERTIFICATE:
        if key_lookup is None:
            c.add(name, False, f"signer not anchored: format {version} carries no certificate "
                  "and no key registry or trusted key list was given")  # fmt: skip
        else:
            c.add(name, True, f"format {version} carries no signer certificate: the signer is "
                  "judged by the key registry alone (its role, revocation and issuance before "
                  "the seal are not checked)", warning=True)  # fmt: skip
        return None
    if meta is None:
        c.add(name, False, "not checked: metadata.json could not be read")
        return None
    if agency is not None and not agency.roots and key_lookup is not None:
        c.add(name, True, f"not anchored to an agency root: {agency.source}; the signer is judged "
              "by the key list alone (role, revocation and issuance before the seal not checked)",
              warning=True)  # fmt: skip
        return None
    try:
        chain = read_chain(_read(bag, layout.SIGNER_CHAIN))
        signer_key = _read(bag, layout.SIGNER_KEY)
    except (OSError, ValueError, CollectorError) as exc:
        c.add(name, False, f"{layout.SIGNER_CHAIN} missing or unreadable: {exc}")
        return None
    at = stamped_at or meta.capture.started_at
    try:
        judged = judge_signer(chain, signer_key, meta.operator.user, at, stamped_at is not None,
                              agency)  # fmt: skip
    except CollectorError as exc:
        c.add(name, False, f"the seal's key is unreadable: {exc}")
        return None
    c.add(name, judged.ok, judged.detail, warning=judged.warning)
    return judged.holder.role if judged.holder is not None else None


def _duration(seconds: float) -> str:
    if seconds < 0:
        return f"-{_duration(-seconds)}"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(p for p in parts if p) or f"{secs} s"


def _check_custody(
    bag: Path,
    c: _Checklist,
    info: dict[str, str],
    key_lookup: KeyLookup | None,
    custody: CustodyInput | None,
) -> None:
    if custody is None or key_lookup is None:
        c.add(
            "custody chain",
            True,
            "not checked: no store or export holds this bundle's custody log",
            warning=True,
        )
        return
    try:
        anchor = hashlib.sha256(_read(bag, layout.SIGNED_FILE, MAX_MANIFEST)).hexdigest()
    except (OSError, CollectorError):
        c.add("custody chain", False, "cannot compute the seal digest the log is anchored to")
        return
    report = verify_chain(
        custody.events,
        bundle_id=info.get("External-Identifier", ""),
        anchor=anchor,
        key_lookup=key_lookup,
        expected_head=custody.expected_head,
    )
    c.add("custody chain", report.ok, f"{report.reason} ({custody.source})")
