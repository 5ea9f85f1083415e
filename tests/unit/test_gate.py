"""The predicate gate, as a pure function: every reason to refuse, and the allowed case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.errors import UsageError
from collector.evidence import keys
from collector.evidence.keys import SignerKey
from collector.policy import gate
from collector.store.config import Policy
from collector.store.model import Authorization, AuthStatus, Role, User

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SUPERVISOR_KEY = Ed25519PrivateKey.generate()
SUPERVISOR_PEM = keys.public_pem(SUPERVISOR_KEY.public_key()).decode()


def user(name: str = "alice", role: Role = Role.investigator) -> User:
    return User(
        name=name, full_name=name.title(), badge="1", role=role, created_at=NOW,
        key_fingerprint="f" * 64, public_key_pem="",
    )


def approved_auth(**fields: object) -> Authorization:
    """An approved authorization, signed by the supervisor over `fields`."""
    base: dict[str, object] = dict(
        id="AUTH-1", case_number="HPD-2026-000123", predicate="criminal-predicate",
        standard="reasonable-suspicion", purpose="criminal-investigation",
        facts="facts " * 10, scopes=["https://social.example/@alice/*"],
        retention_class="case-evidence", valid_days=30, investigators=["alice"],
        requested_by="alice", requested_at=NOW - timedelta(days=1), status=AuthStatus.approved,
        approved_by="bob", approved_at=NOW - timedelta(hours=1),
        valid_from=NOW - timedelta(hours=1), valid_until=NOW + timedelta(days=29),
        approver_key_fingerprint="a" * 64,
    )
    auth = Authorization.model_validate({**base, **fields})
    auth.approval_signature = keys.b64(SUPERVISOR_KEY.sign(gate.approval_payload(auth)))
    return auth


def public_resolver(host: str) -> list[str]:
    return ["93.184.216.34"]


def decide(
    url: str = "https://social.example/@alice/109876543210",
    auth: Authorization | None = None,
    who: User | None = None,
    key: SignerKey | None = None,
    policy: Policy | None = None,
    resolver: gate.Resolver = public_resolver,
    now: datetime = NOW,
    auth_id: str | None = "AUTH-1",
) -> gate.Decision:
    return gate.check(
        url_text=url,
        auth=approved_auth() if auth is None else auth,
        auth_id=auth_id,
        user=who or user(),
        approver_key=key or SignerKey("bob", SUPERVISOR_PEM, None),
        policy=policy or Policy(),
        now=now,
        resolver=resolver,
    )


def refusal_code(decision: gate.Decision) -> str:
    assert isinstance(decision, gate.Refusal), decision
    return decision.code


def test_allowed_when_everything_holds() -> None:
    decision = decide()
    assert isinstance(decision, gate.Allowed)
    assert decision.url.normalized == "https://social.example/@alice/109876543210"


def test_refused_without_authorization_id() -> None:
    assert refusal_code(decide(auth_id=None)) == "no-authorization"


def test_refused_for_unknown_authorization() -> None:
    result = gate.check(
        url_text="https://social.example/@alice/1", auth=None, auth_id="AUTH-NOPE", user=user(),
        approver_key=None, policy=Policy(), now=NOW, resolver=public_resolver,
    )
    assert refusal_code(result) == "unknown-authorization"


@pytest.mark.parametrize("status", [AuthStatus.pending, AuthStatus.denied, AuthStatus.revoked])
def test_refused_unless_approved(status: AuthStatus) -> None:
    assert refusal_code(decide(auth=approved_auth(status=status))) == "status"


def test_refused_when_validity_window_altered() -> None:
    extended = approved_auth().model_copy(update={"valid_until": NOW + timedelta(days=3650)})
    assert refusal_code(decide(auth=extended, now=NOW + timedelta(days=60))) == "approval-signature"


def test_refused_when_expired() -> None:
    assert refusal_code(decide(now=NOW + timedelta(days=30))) == "expired"


def test_refused_before_validity_starts() -> None:
    assert refusal_code(decide(now=NOW - timedelta(hours=2))) == "validity"


def test_refused_when_approval_altered_after_signing() -> None:
    altered = approved_auth().model_copy(update={"scopes": ["https://social.example/*"]})
    assert refusal_code(decide(auth=altered)) == "approval-signature"


def test_refused_when_signed_by_another_key() -> None:
    other = keys.public_pem(Ed25519PrivateKey.generate().public_key()).decode()
    assert refusal_code(decide(key=SignerKey("bob", other, None))) == "approval-signature"


def test_refused_when_key_belongs_to_someone_else() -> None:
    assert refusal_code(decide(key=SignerKey("carol", SUPERVISOR_PEM, None))) == "approval-signature"


def test_refused_when_requester_approved_own_request() -> None:
    assert refusal_code(decide(auth=approved_auth(approved_by="alice"))) == "approval-signature"


def test_refused_when_key_retired_before_approval() -> None:
    retired = SignerKey("bob", SUPERVISOR_PEM, NOW - timedelta(days=1))
    assert refusal_code(decide(key=retired)) == "approval-signature"


def test_refused_for_user_not_on_authorization() -> None:
    assert refusal_code(decide(who=user("dave"))) == "not-investigator"


def test_refused_for_supervisor_even_if_listed() -> None:
    auth = approved_auth(investigators=["alice", "bob"])
    assert refusal_code(decide(auth=auth, who=user("bob", Role.supervisor))) == "not-investigator"


@pytest.mark.parametrize(
    "url",
    [
        "https://social.example/@mallory/1",
        "https://evil.example/@alice/1",
        "http://social.example/@alice/1",
        "https://social.example:8443/@alice/1",
        "https://social.example.evil.example/@alice/1",
        "https://social.example/@alice/../@mallory/1",
    ],
)
def test_refused_outside_scope(url: str) -> None:
    assert refusal_code(decide(url=url)) == "scope"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "javascript:alert(1)", "ftp://social.example/@alice/1", "data:text/html,x"],
)
def test_refused_for_non_http_schemes(url: str) -> None:
    assert refusal_code(decide(url=url)) == "url"


def test_refused_for_credentials_in_url() -> None:
    assert refusal_code(decide(url="https://social.example@evil.example/@alice/1")) == "url"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254", "::1", "fd00::1"])
def test_refused_for_private_addresses(address: str) -> None:
    decision = decide(resolver=lambda host: [address])
    assert refusal_code(decision) == "private-network"


def test_private_addresses_allowed_when_policy_allows() -> None:
    decision = decide(resolver=lambda host: ["127.0.0.1"], policy=Policy(allow_private_network=True))
    assert isinstance(decision, gate.Allowed)


def test_refused_when_host_does_not_resolve() -> None:
    def fail(host: str) -> list[str]:
        raise UsageError(f"cannot resolve host {host}")

    assert refusal_code(decide(resolver=fail)) == "resolve"


def test_an_allowed_origin_passes_the_private_rule_and_only_that_origin() -> None:
    policy = Policy(allowed_hosts=["social.example:443"])
    assert isinstance(decide(resolver=lambda host: ["10.0.0.5"], policy=policy), gate.Allowed)
    other_port = Policy(allowed_hosts=["social.example:8443"])
    assert refusal_code(decide(resolver=lambda host: ["10.0.0.5"], policy=other_port)) == "private-network"
    by_address = Policy(allowed_hosts=["10.0.0.5:443"])
    assert isinstance(decide(resolver=lambda host: ["10.0.0.5"], policy=by_address), gate.Allowed)


def test_scope_refusal_names_an_encoded_separator() -> None:
    decision = decide(url="https://social.example/@alice%2F..%2F@mallory/1")
    assert refusal_code(decision) == "scope"
    assert isinstance(decision, gate.Refusal) and "encoded separator" in decision.reason
