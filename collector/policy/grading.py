"""Reliability and validity: grading a bundle on a policy scale, and corroboration links.

A grade is a signed `graded` custody event on the bundle. Its details carry the scale's
id and description and each code with the meaning it had in the policy when the grade was
given, so a later policy change cannot silently re-word an old grade.

A corroboration links two bundles: one signed `graded` event on each bundle's log,
appended in one transaction, sharing a `link_id`. Corroboration is evidence about the
credibility of the content (Admiralty "1 confirmed by other sources", UK 3x5x2
"known indirectly but corroborated"), so it belongs with the grades in the `graded`
events rather than with `reviewed` (a decision about keeping or releasing a bundle).
The two kinds of `graded` event are told apart by `details["kind"]`.

Nothing here prints or exits: bad input is a `UsageError`, a role that may not grade a
`Refused` recorded in the ledger as `denied.grade`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import computed_field

from collector.errors import UsageError
from collector.evidence.custody import CustodyEvent, EventType
from collector.evidence.model import Model, Person
from collector.store import custody_log as services
from collector.store.config import GradingScale, Policy
from collector.store.roles import Action
from collector.store.store import Actor, Store

"""Roles that may grade and corroborate: an investigative judgement, not custody or audit."""

KIND_GRADE = "grade"
KIND_CORROBORATION = "corroboration"


# --------------------------------------------------------------------- models


class GradeCodes(Model):
    """A validated grade: the scale and each code with its meaning under the policy."""

    scale: str
    scale_description: str
    source: str
    source_meaning: str
    content: str
    content_meaning: str
    handling: str | None = None
    handling_meaning: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """The compact grade, e.g. `B2` (Admiralty) or `1/B/P` (UK 3x5x2)."""
        if self.scale == "admiralty":
            return f"{self.source}{self.content}"
        parts = [self.source, self.content] + ([self.handling] if self.handling else [])
        return "/".join(parts)


class Grade(GradeCodes):
    """One grade as recorded in a bundle's custody log."""

    seq: int
    at: str
    by: Person
    note: str | None = None
    policy_version: str | None = None


class Corroboration(Model):
    """One corroboration link as recorded in a bundle's custody log."""

    seq: int
    at: str
    by: Person
    link_id: str
    other: str
    direction: Literal["outgoing", "incoming"]
    note: str


class GradeReport(Model):
    """A bundle's grading: the latest grade, every grade oldest first, and its links."""

    bundle_id: str
    latest: Grade | None
    history: list[Grade]
    corroborations: list[Corroboration]


# --------------------------------------------------------------------- validation


def _codes(axis: dict[str, str]) -> str:
    return ", ".join(f"{code} ({meaning})" for code, meaning in axis.items())


def _lookup(scale_id: str, axis_name: str, axis: dict[str, str], given: str) -> tuple[str, str]:
    """The canonical code and its meaning; letter case is forgiven when unambiguous."""
    value = given.strip()
    if value in axis:
        return value, axis[value]
    folded = [code for code in axis if code.casefold() == value.casefold()]
    if len(folded) == 1:
        return folded[0], axis[folded[0]]
    raise UsageError(
        f"invalid {axis_name} code {given!r} for scale {scale_id}: valid codes are {_codes(axis)}"
    )


def scale(policy: Policy, scale_id: str | None) -> tuple[str, GradingScale]:
    """The named scale (default: the policy's default), or a one-line UsageError."""
    name = policy.default_grading_scale if scale_id is None else scale_id.strip()
    found = policy.grading_scales.get(name)
    if found is None:
        valid = ", ".join(sorted(policy.grading_scales)) or "none configured"
        raise UsageError(f"unknown grading scale {name!r}: valid scales are {valid}")
    return name, found


def validate(
    policy: Policy,
    *,
    scale_id: str | None,
    source: str,
    content: str,
    handling: str | None = None,
) -> GradeCodes:
    """Check a grade against the policy's scale; handling is required iff the scale has it."""
    name, chosen = scale(policy, scale_id)
    source_code, source_meaning = _lookup(name, "source", chosen.source, source)
    content_code, content_meaning = _lookup(name, "content", chosen.content, content)
    handling_code: str | None = None
    handling_meaning: str | None = None
    if chosen.handling:
        if handling is None or not handling.strip():
            raise UsageError(
                f"scale {name} requires --handling: valid codes are {_codes(chosen.handling)}"
            )
        handling_code, handling_meaning = _lookup(name, "handling", chosen.handling, handling)
    elif handling is not None:
        raise UsageError(f"scale {name} has no handling code: leave out --handling")
    return GradeCodes(
        scale=name,
        scale_description=chosen.description,
        source=source_code,
        source_meaning=source_meaning,
        content=content_code,
        content_meaning=content_meaning,
        handling=handling_code,
        handling_meaning=handling_meaning,
    )


# --------------------------------------------------------------------- writing


def require_grader(store: Store, actor: Actor, subject: str, command: str) -> None:
    """Refuse (and record as `denied.grade`) anyone the permission matrix does not let grade."""
    store.require(actor, Action.grade, subject=subject)


def _known(store: Store, bundle_id: str) -> None:
    if store.ledger.bundle(bundle_id) is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")


def grade(
    store: Store,
    actor: Actor,
    bundle_id: str,
    *,
    scale_id: str | None,
    source: str,
    content: str,
    handling: str | None = None,
    note: str | None = None,
) -> CustodyEvent:
    """Grade a bundle: one signed `graded` custody event holding the scale id and meanings."""
    require_grader(store, actor, bundle_id, "grade")
    _known(store, bundle_id)
    codes = validate(
        store.config.policy, scale_id=scale_id, source=source, content=content, handling=handling
    )
    details: dict[str, Any] = {
        "kind": KIND_GRADE,
        **codes.model_dump(mode="json"),
        "note": note.strip() if note and note.strip() else None,
        "policy_version": store.config.policy.version,
    }
    return services.append(store, actor, bundle_id, EventType.graded, details)


def corroborate(
    store: Store, actor: Actor, bundle_id: str, other_id: str, note: str
) -> list[CustodyEvent]:
    """Link two distinct bundles: a signed `graded` event on each, both or neither."""
    require_grader(store, actor, bundle_id, "corroborate")
    if bundle_id == other_id:
        raise UsageError(f"a bundle cannot corroborate itself ({bundle_id})")
    _known(store, bundle_id)
    _known(store, other_id)
    text = note.strip()
    if not text:
        raise UsageError("--note must not be empty: say how the bundles corroborate each other")
    link_id = str(uuid.uuid4())

    def details(this: str, other: str) -> dict[str, Any]:
        return {
            "kind": KIND_CORROBORATION,
            "link_id": link_id,
            "corroborates": other,
            "direction": "outgoing" if this == bundle_id else "incoming",
            "note": text,
        }

    expected = {b: store.ledger.custody_head(b) for b in (bundle_id, other_id)}
    builders = [
        (this, services.custody_builder(store, actor, this, EventType.graded, details(this, other)))
        for this, other in ((bundle_id, other_id), (other_id, bundle_id))
    ]
    return store.ledger.append_custody_many(builders, expected=expected)


# --------------------------------------------------------------------- reading


def _grade(event: CustodyEvent) -> Grade:
    d = event.details
    return Grade(
        seq=event.seq,
        at=event.at,
        by=event.actor,
        scale=str(d["scale"]),
        scale_description=str(d["scale_description"]),
        source=str(d["source"]),
        source_meaning=str(d["source_meaning"]),
        content=str(d["content"]),
        content_meaning=str(d["content_meaning"]),
        handling=None if d.get("handling") is None else str(d["handling"]),
        handling_meaning=None if d.get("handling_meaning") is None else str(d["handling_meaning"]),
        note=None if d.get("note") is None else str(d["note"]),
        policy_version=None if d.get("policy_version") is None else str(d["policy_version"]),
    )


def _corroboration(event: CustodyEvent) -> Corroboration:
    d = event.details
    direction = "incoming" if d.get("direction") == "incoming" else "outgoing"
    return Corroboration(
        seq=event.seq,
        at=event.at,
        by=event.actor,
        link_id=str(d.get("link_id", "")),
        other=str(d["corroborates"]),
        direction=direction,
        note=str(d.get("note", "")),
    )


def grades(store: Store, bundle_id: str) -> GradeReport:
    """A bundle's grades (oldest first) and corroboration links, read from its custody log."""
    _known(store, bundle_id)
    history: list[Grade] = []
    links: list[Corroboration] = []
    for event in store.ledger.custody(bundle_id):
        if event.type is not EventType.graded:
            continue
        kind = event.details.get("kind")
        if kind == KIND_CORROBORATION or "corroborates" in event.details:
            links.append(_corroboration(event))
        elif kind == KIND_GRADE or "scale" in event.details:
            history.append(_grade(event))
    return GradeReport(
        bundle_id=bundle_id,
        latest=history[-1] if history else None,
        history=history,
        corroborations=links,
    )
