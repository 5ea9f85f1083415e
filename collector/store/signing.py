"""Who signs each ledger event (from schema 0003).

Every event is signed over its hash (which covers its content and the previous event's hash)
by the key of its actor when that actor proved who they are in this process, else by the
store's own key (`keys/system.key.pem`: refusals, recovery, administration without an acting
user). An event that says a person did something (outcome `ok`, a named actor) must carry that
person's signature; only refusals and failures may be attested by the store's key. The store's
key is a file in the store, so it is only as strong as the store's permissions: whoever can
write the store can sign as it, but not as any person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.errors import CollectorError
from collector.evidence import keys

EVENT_DOMAIN = "collector-ledger-event/1:"
SYSTEM_USER = "system"
BEGINS = "begins"
"""`details.ledger_signing` of the event from which every event is signed (store.init, or the
store.upgrade that brought the schema to 0003)."""


def event_message(event_hash: str) -> bytes:
    """What an event's signature covers."""
    return (EVENT_DOMAIN + event_hash).encode("ascii")


@dataclass(frozen=True)
class SigningKey:
    fingerprint: str
    key: Ed25519PrivateKey

    @classmethod
    def of(cls, key: Ed25519PrivateKey) -> SigningKey:
        return cls(keys.fingerprint(keys.public_pem(key.public_key())), key)

    def sign(self, event_hash: str) -> str:
        return keys.b64(keys.sign(self.key, event_message(event_hash)))


@dataclass
class EventSigners:
    """The keys this process may sign ledger events with."""

    system: SigningKey | None = None
    people: dict[str, SigningKey] = field(default_factory=dict)

    def for_actor(self, actor: str | None) -> SigningKey:
        if actor is not None and actor in self.people:
            return self.people[actor]
        if self.system is None:
            raise CollectorError(
                "this store's own key (keys/system.key.pem) is missing: ledger events cannot be "
                "signed; restore it from a backup of the store"
            )
        return self.system


def must_be_signed_by_actor(actor: str | None, outcome: str) -> bool:
    """An event saying a person did something is that person's statement."""
    return outcome == "ok" and actor is not None and actor != SYSTEM_USER
