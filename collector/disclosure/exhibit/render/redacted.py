"""What the redacted copy of a packet withholds, and the log entries that say so."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from collector.disclosure.exhibit.model import Packet
from collector.disclosure.exhibit.render.geometry import REDACTABLE_FIELDS
from collector.errors import UsageError
from collector.evidence.model import Model

# --------------------------------------------------------------------- redaction input


class RedactionEntry(Model):
    """One line of the redaction log printed in a redacted copy (the fields of
    `collector.exhibit.redact.RedactionLog`, plus the bundle); never the removed string."""

    bundle_id: str
    field: str = Field(description="Which text, e.g. 'post.text' or 'title'.")
    kind: str
    replacement: str
    rule: str
    original_sha256: str | None = None
    digest: str = "sha256"


@dataclass(frozen=True)
class RedactedView:
    """What a redacted copy shows instead of the original values (filled by redact.py).

    `replacements`: bundle id -> field (one of REDACTABLE_FIELDS, or 'post.<field>') -> the
    text shown instead.
    `strings`: literal text -> its replacement, applied to every value from the captured
    page (post fields, conflicts, media URLs, URLs, headers, step and change details).
    `withhold_screenshots`: show a statement instead of the screenshots (identifiers in an
    image cannot be found by pattern); the unredacted exhibit stays available under seal.
    `log`: the redaction log, printed as its own section.
    """

    replacements: dict[str, dict[str, str]] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)
    withhold_screenshots: bool = True
    log: list[RedactionEntry] = field(default_factory=list)

    def fields_of(self, bundle_id: str) -> dict[str, str]:
        """The bundle's replacements by plain field name ('post.text' is 'text')."""
        return {_field_name(k): v for k, v in self.replacements.get(bundle_id, {}).items()}

    def validate(self, packet: Packet) -> None:
        ids = {item.bundle_id for item in packet.items}
        for bundle_id in self.replacements:
            if bundle_id not in ids:
                raise UsageError(
                    f"redaction names bundle {bundle_id!r}, which is not in the packet"
                )
            unknown = sorted(set(self.fields_of(bundle_id)) - set(REDACTABLE_FIELDS))
            if unknown:
                raise UsageError(
                    f"redaction names field(s) {', '.join(unknown)} that cannot be replaced; "
                    f"replaceable: {', '.join(REDACTABLE_FIELDS)}"
                )
        if any(not key for key in self.strings):
            raise UsageError("redaction replaces an empty string")


def _field_name(key: str) -> str:
    if key in ("capture.title", "page.title"):
        return "page_title"
    return key.removeprefix("post.")


