"""A user's own statement of title, qualifications and training, for certifications.

Only the user may state it (the acting user, with a passphrase), so a certification never
carries qualifications someone else wrote. Each statement is a `user.profile` ledger row;
the newest one is the profile. There are no defaults: without a statement there is none.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from collector.errors import Refused, UsageError
from collector.evidence.model import Model
from collector.store.actions import LedgerAction
from collector.store.store import Actor, Store

MAX_FIELD = 4000


class Profile(Model):
    """A user's own statement of title and qualifications, for certifications."""

    user: str
    title: str
    qualifications: str
    training: str | None = None
    set_at: datetime
    ledger_event: int = Field(description="Ledger event id of the `user.profile` row.")


def set_profile(
    store: Store, actor: Actor, name: str, *, title: str, qualifications: str, training: str | None
) -> Profile:
    """Record `name`'s profile; refused unless `actor` is that user."""
    if store.ledger.user(name) is None:
        raise UsageError(f"unknown user {name!r}")
    if actor.user.name != name:
        reason = "a profile states the user's own qualifications: only that user may set it"
        store.ledger.record(LedgerAction.denied_profile, "refused", actor=actor.user.name, subject=name,
                            details={"reason": reason})  # fmt: skip
        raise Refused(f"{actor.user.name}: {reason}")
    fields = {"title": title, "qualifications": qualifications, "training": training or ""}
    for key, value in fields.items():
        if key != "training" and not value.strip():
            raise UsageError(f"--{key} must not be empty")
        if len(value) > MAX_FIELD:
            raise UsageError(f"--{key} is longer than {MAX_FIELD} characters")
    event = store.ledger.record(LedgerAction.user_profile, actor=name, subject=name, details=fields)
    return _profile(name, event.seq, event.at, fields)


def profile(store: Store, name: str) -> Profile | None:
    """The user's newest profile statement, or None."""
    rows = [e for e in store.ledger.events(subject=name) if e.action == LedgerAction.user_profile and e.outcome == "ok"]
    if not rows:
        return None
    last = rows[-1]
    return _profile(name, last.seq, last.at, {k: str(v) for k, v in last.details.items()})


def _profile(name: str, seq: int, at: object, fields: dict[str, str]) -> Profile:
    return Profile.model_validate(
        {
            "user": name,
            "title": fields["title"],
            "qualifications": fields["qualifications"],
            "training": fields.get("training") or None,
            "set_at": at,
            "ledger_event": seq,
        }
    )
