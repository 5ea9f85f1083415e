"""The evidence store's configuration and policy file (`collector.toml`)."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import Field, ValidationError, field_validator

from collector.errors import Refused, UsageError
from collector.evidence.model import BrowserSettings, Model
from collector.evidence.urls import parse_url
from collector.store.database import LEDGER_FILE, Location, postgres_url
from collector.store.objects import bucket_of
from collector.store.schema import ROLE_NAME

CONFIG_NAME = "collector.toml"

REASONABLE_SUSPICION = (
    "Reasonable suspicion (28 CFR 23.20(c)): sufficient facts to give a trained law "
    "enforcement or criminal investigative agency officer, investigator, or employee a "
    "basis to believe that there is a reasonable possibility that an individual or "
    "organization is involved in a definable criminal activity or enterprise."
)


class RetentionClass(Model):
    description: str
    max_years: int | None = Field(None, ge=0, description="None: until case disposition.")
    on_expiry: Literal["review-or-purge", "purge-unless-promoted", "schedule"] = Field(
        "review-or-purge",
        description="What falls due when the period ends: a review (a validated retain starts a "
        "new period), a purge unless promoted, or the agency's records schedule.",
    )
    retain_requires: str = Field(
        "a justification",
        description="What a reviewer must state to retain (recorded with the review).",
    )


def _default_retention() -> dict[str, RetentionClass]:
    return {
        "case-evidence": RetentionClass(
            description="Evidence in a case: kept until disposition and the appeal window, "
            "then per the agency records schedule.",
            max_years=None,
            on_expiry="schedule",
            retain_requires="the case is open or within its appeal window",
        ),
        "intelligence-28cfr23": RetentionClass(
            description="Criminal intelligence under 28 CFR Part 23: reviewed and validated, or "
            "purged, within five years; a validated review starts a new five-year period.",
            max_years=5,
            on_expiry="review-or-purge",
            retain_requires="continuing reasonable suspicion of current criminal activity",
        ),
        "preliminary": RetentionClass(
            description="Information not yet meeting the criminal-intelligence standard: "
            "purged when its period ends unless promoted.",
            max_years=1,
            on_expiry="purge-unless-promoted",
            retain_requires="promotion to a case or to criminal intelligence",
        ),
    }


class GradingScale(Model):
    """A named two-axis grading scale: source reliability and content validity codes."""

    description: str
    source: dict[str, str]
    content: dict[str, str]
    handling: dict[str, str] = Field(default_factory=dict)


def _default_scales() -> dict[str, GradingScale]:
    return {
        "admiralty": GradingScale(
            description="Admiralty / NATO (STANAG 2511)",
            source={
                "A": "completely reliable", "B": "usually reliable", "C": "fairly reliable",
                "D": "not usually reliable", "E": "unreliable", "F": "reliability cannot be judged",
            },
            content={
                "1": "confirmed by other sources", "2": "probably true", "3": "possibly true",
                "4": "doubtful", "5": "improbable", "6": "truth cannot be judged",
            },
        ),
        "us-4x4": GradingScale(
            description="US criminal-intelligence 4x4 (wording per agency policy)",
            source={"reliable": "reliable", "usually-reliable": "usually reliable",
                    "unreliable": "unreliable", "unknown": "reliability unknown"},
            content={"confirmed": "confirmed", "probable": "probably true",
                     "doubtful": "doubtful", "cannot-be-judged": "cannot be judged"},
        ),
        "uk-3x5x2": GradingScale(
            description="UK 3x5x2 (College of Policing)",
            source={"1": "reliable", "2": "untested", "3": "not reliable"},
            content={
                "A": "known directly to the source", "B": "known indirectly but corroborated",
                "C": "known indirectly", "D": "not known", "E": "suspected to be false",
            },
            handling={"P": "lawful sharing permitted", "C": "lawful sharing with conditions"},
        ),
    }  # fmt: skip


def _default_categories() -> dict[str, list[str]]:
    return {
        "political views, associations or activities": [
            "protest", "rally", "demonstration", "protest march", "political party",
            "campaign rally", "election",
        ],
        "social views, associations or activities": ["labor union", "trade union"],
        "religious views, associations or activities": [
            "church", "mosque", "synagogue", "temple", "worship", "prayer",
        ],
        "race or ethnicity": ["ethnicity", "ethnic origin", "racial identity"],
        "citizenship or place of origin": ["citizenship", "immigration status", "country of origin"],
        "age": [],
        "disability": ["disability", "disabled"],
        "gender": ["gender identity"],
        "sexual orientation": ["sexual orientation"],
    }  # fmt: skip


class Screening(Model):
    """Information limitations (28 CFR 23.20(b)): protected categories and what a match does."""

    mode: Literal["quarantine", "refuse"] = "quarantine"
    review_hours: int = Field(72, ge=1, description="Deadline for a supervisor's decision.")
    categories: dict[str, list[str]] = Field(default_factory=_default_categories)


class EquipmentPolicy(Model):
    """Off-duty conduct and personal equipment."""

    refuse_unregistered: bool = False
    refuse_personal: bool = True


_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def allowed_host(text: str) -> str:
    """`HOST:PORT` for the allowed-origin list, normalised (names lower-case, IPv6 in [])."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} must be HOST:PORT with a port from 1 to 65535")
    bare = host.strip("[]")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        name = bare.lower().rstrip(".")
        if not _HOST_NAME.match(name):
            raise ValueError(f"{text!r}: {host!r} is not a host name or an IP address") from None
        return f"{name}:{int(port)}"
    return f"[{ip.compressed}]:{int(port)}" if ip.version == 6 else f"{ip.compressed}:{int(port)}"


class Policy(Model):
    """The agency's rules the gate applies. Values here are the agency's to change."""

    version: str = "1"
    last_reviewed: date = Field(default_factory=lambda: datetime.now(UTC).date())
    case_number_pattern: str = r"^[A-Z][A-Z0-9]{0,9}-[0-9]{2,4}-[0-9]{1,8}$"
    case_number_example: str = "HPD-2026-000123"
    predicates: list[str] = ["criminal-predicate", "public-safety-threat"]
    standards: list[str] = ["reasonable-suspicion", "probable-cause"]
    purposes: list[str] = [
        "criminal-investigation",
        "prosecution",
        "crime-analysis",
        "situational-awareness",
    ]
    retention_classes: dict[str, RetentionClass] = Field(default_factory=_default_retention)
    facts_min_length: int = Field(40, ge=1)
    facts_min_words: int = Field(6, ge=1)
    facts_placeholders: list[str] = [
        "n/a",
        "na",
        "none",
        "tbd",
        "todo",
        "test",
        "see case file",
        "see report",
        "per investigation",
        "investigation",
        "lorem ipsum",
        "facts",
        "xxx",
    ]
    authorization_default_days: int = Field(30, ge=1)
    authorization_max_days: int = Field(90, ge=1)
    allow_private_network: bool = False
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Origins (HOST:PORT) let through the private-network rule, e.g. an internal "
        "test page; `collector init --allow-host`.",
    )
    review_interval_days: int = Field(365, ge=1, description="The policy's own review cycle.")
    exigent_review_hours: int = Field(24, ge=1)
    alias_approvals: int = Field(2, ge=2, description="Distinct supervisors approving an alias.")
    alias_max_days: int = Field(180, ge=1)
    screening: Screening = Field(default_factory=Screening)
    grading_scales: dict[str, GradingScale] = Field(default_factory=_default_scales)
    default_grading_scale: str = "admiralty"
    purge_approvals: int = Field(2, ge=2, description="People (requester included) for a purge.")
    equipment: EquipmentPolicy = Field(default_factory=EquipmentPolicy)

    @field_validator("allowed_hosts")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [allowed_host(text) for text in value]

    @field_validator("case_number_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class TimestampConfig(Model):
    """RFC 3161 time-stamp authorities, tried in order, and the roots their tokens must chain to."""

    urls: list[str] = Field(default_factory=list)
    roots: list[str] = Field(
        default_factory=list, description="PEM files, relative to the store (copied at init)."
    )
    timeout_s: float = Field(10.0, gt=0)
    late_limit_s: float = Field(
        600.0, gt=0, description="A seal's stamp may be at most this long after the capture."
    )

    @property
    def configured(self) -> bool:
        return bool(self.urls)


class ClockConfig(Model):
    ntp_server: str | None = None
    warn_offset_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(2.0, gt=0)


class KeysConfig(Model):
    """How users' private keys are encrypted: PKCS#8 with scrypt (RFC 7914) over the passphrase.

    A key encrypted with a lower cost (or with PBKDF2, as earlier versions wrote) is re-wrapped
    with these settings the next time its owner unlocks it.
    """

    scrypt_n: int = Field(16384, ge=2, description="CPU/memory cost N (a power of two).")
    scrypt_r: int = Field(8, ge=1, description="Block size r.")
    scrypt_p: int = Field(3, ge=1, description="Parallelisation p.")
    backoff_after: int = Field(3, ge=1, description="Wrong passphrases in a row before waiting.")
    backoff_max_s: int = Field(900, ge=1, description="Longest wait after wrong passphrases.")

    @field_validator("scrypt_n")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("scrypt_n must be a power of two")
        return value


class LedgerConfig(Model):
    """Where the ledger lives, and checkpoints of its head (`store/checkpoints.py`)."""

    url: str | None = Field(
        None,
        description="A PostgreSQL database the agency's workstations share "
        "(postgresql://HOST[:PORT]/DB, no credentials: libpq's PGUSER/PGPASSWORD, ~/.pgpass or a "
        "service file supply them); none: ledger.sqlite in the store directory.",
    )
    app_role: str = Field(
        "collector_app",
        description="The PostgreSQL role workstations connect as: it may read, append and update "
        "what changes, never delete, truncate or own; `store upgrade` grants it what new tables "
        "need.",
    )

    checkpoint_dir: str | None = Field(
        None,
        description="A directory the store's writer cannot rewrite (write-once media, another "
        "machine's share) where every checkpoint is also written.",
    )
    checkpoint_interval_h: float = Field(
        24.0, gt=0, description="The first command after this long without one makes one."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else postgres_url(value)

    @field_validator("app_role")
    @classmethod
    def _role(cls, value: str) -> str:
        if not ROLE_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a PostgreSQL role name this tool uses")
        return value

    def location(self, root: Path) -> Location:
        """The ledger of the store at `root`."""
        return Location(url=self.url) if self.url else Location(path=root / LEDGER_FILE)


class BundlesConfig(Model):
    """Where sealed bundles live: the store's `bundles/` directory, or an S3 Object Lock bucket."""

    url: str | None = Field(
        None,
        description="s3://BUCKET: a bucket made with Object Lock (versioned); credentials from "
        "the standard AWS environment or profile, never from this file.",
    )
    endpoint: str | None = Field(None, description="The S3 endpoint, for storage other than AWS.")
    purge_profile: str | None = Field(
        None,
        description="The AWS profile (in the shared credentials file) of the privileged credential "
        "that may bypass governance retention: only the workstation where an approved two-person "
        "purge is carried out holds it; ordinary workstations never do.",
    )
    lock_years: int = Field(
        7, ge=1, le=100,
        description="Governance retention for bundles of a class kept until case disposition "
        "(classes with a period are locked for that period); extended on a `retain` review.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            bucket_of(value)
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_url(value)
            except (UsageError, Refused) as exc:
                raise ValueError(f"--s3-endpoint: {exc}") from exc
        return value


class QueueConfig(Model):
    """The capture queue of an agency store (`collector worker`, `collector jobs`)."""

    heartbeat_s: float = Field(10.0, gt=0, description="How often a worker says it is alive.")
    stalled_after_s: float = Field(
        60.0, gt=0,
        description="A running job whose worker has not said it is alive for this long is stalled "
        "(its worker died or was killed) and is put back in the queue for another worker.",
    )  # fmt: skip
    stalled_check_s: float = Field(
        60.0, gt=0, description="How often every worker looks for stalled jobs."
    )
    poll_s: float = Field(
        5.0, gt=0,
        description="Longest wait before a worker looks for new jobs (it is also told at once).",
    )  # fmt: skip


class StoreConfig(Model):
    """Everything in `collector.toml`."""

    store_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    agency: str = "Agency"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    policy: Policy = Field(default_factory=Policy)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    timestamp: TimestampConfig = Field(default_factory=TimestampConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)
    keys: KeysConfig = Field(default_factory=KeysConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    bundles: BundlesConfig = Field(default_factory=BundlesConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    agency_root_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="An agency store's root certificate, pinned where the database cannot change "
        "it: every workstation's role may write the database, so the root the vault holds is "
        "trusted only if its SHA-256 is this.",
    )


def load_config(path: Path) -> StoreConfig:
    """Read and validate the store's TOML file; a bad file is a one-line UsageError."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"no store configuration at {path}: run `collector init` first") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    try:
        return StoreConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"invalid {path.name}: {where}: {first['msg']}") from exc


def dump_config(config: StoreConfig) -> str:
    """Serialise the configuration as TOML (None values are left out)."""
    data = config.model_dump(mode="json", exclude_none=True)
    header = (
        "# collector evidence store: configuration and agency policy.\n"
        "# Edit with care: the policy version and this file's SHA-256 are stamped into bundles.\n\n"
    )
    return header + tomli_w.dumps(data)


def write_config(path: Path, config: StoreConfig) -> None:
    """Write the configuration whole: to a new file beside it, flushed to disk, then renamed over
    it, so a command or request reading it meanwhile sees the old file or the new, never part."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    try:
        with partial.open("x", encoding="utf-8") as handle:
            handle.write(dump_config(config))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
