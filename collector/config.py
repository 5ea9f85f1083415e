"""The evidence store's configuration and policy file (`collector.toml`)."""

from __future__ import annotations

import re
import tomllib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import tomli_w
from pydantic import Field, ValidationError, field_validator

from collector.errors import UsageError
from collector.models import BrowserSettings, Model

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


def _default_retention() -> dict[str, RetentionClass]:
    return {
        "case-evidence": RetentionClass(
            description="Evidence in an open case: kept until disposition and the appeal "
            "window, then per the agency records schedule.",
            max_years=None,
        ),
        "criminal-intelligence": RetentionClass(
            description="Criminal intelligence under 28 CFR Part 23: reviewed or purged "
            "within five years.",
            max_years=5,
        ),
        "preliminary": RetentionClass(
            description="Information not yet meeting the criminal-intelligence standard: "
            "purged unless promoted.",
            max_years=1,
        ),
    }


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


class StoreConfig(Model):
    """Everything in `collector.toml`."""

    store_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    agency: str = "Agency"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    policy: Policy = Field(default_factory=Policy)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    timestamp: TimestampConfig = Field(default_factory=TimestampConfig)
    clock: ClockConfig = Field(default_factory=ClockConfig)


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
