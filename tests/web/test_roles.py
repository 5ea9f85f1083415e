"""Every role against every page, API call and form of the application: what the permission
matrix (`collector/store/roles.py`) and the policy's own role rules refuse is a 403 and a new
`denied.*` ledger row for that user; what they allow is not refused.

The routes are read from the application itself (its Starlette routes and the mounted API's),
so a page added without an entry in `RULES` fails `test_every_route_has_a_rule`. Requests are
plain HTTP (a session cookie from POST /login, a bearer token for /api) against one server
over this module's own store."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from starlette.routing import BaseRoute, Mount, Route

from collector import capture
from collector.disclosure.audit.model import AUDITORS
from collector.policy import aliases, check, equipment
from collector.policy.retention import model as retention_roles
from collector.store import tokens
from collector.store.model import Role
from collector.store.roles import MATRIX, Action, allowed
from collector.store.store import Store
from collector.web.app import create_app
from collector.web.settings import WebConfig
from tests.fakes import browser as fake
from tests.helpers import PASSPHRASES, USERS, Cli, make_store, sealed_capture
from tests.web.conftest import Server, serving

AUDITOR = ("aaron", "aaron-passphrase")
PEOPLE = {role: name for name, role, _, _ in reversed(USERS)} | {"auditor": AUDITOR[0]}
"""One user of each role a person can hold (the first of each role in tests/helpers.py)."""
SECRETS = {**PASSPHRASES, AUDITOR[0]: AUDITOR[1]}
HUMAN_ROLES = [r for r in Role if r not in (Role.system, Role.capture_system)]

PUBLIC = "public"
"""Served to anyone, logged in or not (the log-in form, static files, the OpenAPI description)."""
ANYONE = "anyone logged in"
"""Every logged-in user, whatever the role (their own session, their own tokens)."""
WATCH_STOPPERS = frozenset({Role.supervisor, Role.investigator})
"""`watch.timeline.stop`: a supervisor, or the user who started the watch (here alice, an investigator)."""
ALIAS_RETIRERS = aliases.DECIDERS | {Role.investigator}
"""`aliases.retire`: a supervisor, or the alias's requester (here alice, an investigator)."""

Rule = Action | frozenset[Role] | str
RULES: dict[tuple[str, str], Rule] = {
    # pages
    ("GET", "/login"): PUBLIC,
    ("GET", "/static/{path:path}"): PUBLIC,
    ("GET", "/"): Action.read,
    ("GET", "/authorizations"): Action.read,
    ("GET", "/authorizations/new"): Action.auth_request,
    ("GET", "/authorizations/{auth_id}"): Action.read,
    ("GET", "/authorizations/{auth_id}/decision"): Action.auth_decide,
    ("GET", "/bundles"): Action.read,
    ("GET", "/bundles/{bundle_id}"): Action.read,
    ("GET", "/bundles/{bundle_id}/files/{path:path}"): Action.read,
    ("GET", "/bundles/{bundle_id}/screenshot"): Action.read,
    ("GET", "/bundles/{bundle_id}/screenshot/tiles/{number:int}"): Action.read,
    ("GET", "/bundles/{bundle_id}/images/{path:path}"): Action.read,
    ("GET", "/bundles/{bundle_id}/wacz"): Action.export,
    ("GET", "/exports/new"): Action.export,
    ("GET", "/exhibits/new"): Action.export,
    ("GET", "/downloads"): Action.export,
    ("GET", "/downloads/{download_id}"): Action.export,
    ("GET", "/downloads/{download_id}/files/{name}"): Action.export,
    ("GET", "/reviews"): Action.auth_decide,
    ("GET", "/retention"): Action.read,
    ("GET", "/capture"): Action.capture,
    ("GET", "/capture/{batch_id}"): Action.read,
    ("GET", "/watches"): Action.read,
    ("GET", "/watches/{watch_id}"): Action.read,
    ("GET", "/aliases"): Action.read,
    ("GET", "/aliases/new"): aliases.REQUESTERS,
    ("GET", "/aliases/{alias}"): Action.read,
    ("GET", "/tokens"): Action.read,
    ("GET", "/policy"): Action.read,
    ("GET", "/audit"): AUDITORS,
    ("GET", "/admin/users"): Action.user_admin,
    ("GET", "/admin/equipment"): Action.read,
    ("GET", "/timestamps"): Action.read,
    ("GET", "/keys"): Action.read,
    ("GET", "/keys/lists/{download_id}"): Action.read,
    ("GET", "/keys/lists/{download_id}/file"): Action.read,
    ("GET", "/ledger"): Action.read,
    ("GET", "/ledger/verify"): Action.read,
    ("GET", "/ledger/checkpoint"): Action.read,
    ("GET", "/store"): Action.read,
    # the JSON API (the token's scope is the same matrix row: tokens.SCOPES)
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/bundles"): Action.read,
    ("GET", "/api/bundles/{bundle_id}"): Action.read,
    ("GET", "/api/bundles/{bundle_id}/verify"): Action.verify,
    ("GET", "/api/authorizations"): Action.read,
    ("GET", "/api/authorizations/{auth_id}"): Action.read,
    ("GET", "/api/custody/{bundle_id}"): Action.read,
    ("GET", "/api/captures/{batch_id}"): Action.read,
    ("POST", "/api/captures"): Action.capture,
    # forms
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ANYONE,
    ("POST", "/authorizations"): Action.auth_request,
    ("POST", "/authorizations/{auth_id}/approve"): Action.auth_decide,
    ("POST", "/authorizations/{auth_id}/deny"): Action.auth_decide,
    ("POST", "/authorizations/{auth_id}/revoke"): Action.auth_decide,
    ("POST", "/bundles/{bundle_id}/review"): Action.custody,
    ("POST", "/capture/exigent"): Action.capture,
    ("POST", "/bundles/{bundle_id}/viewed"): Action.read,
    ("POST", "/bundles/{bundle_id}/corroborate"): Action.grade,
    ("POST", "/bundles/{bundle_id}/transfer"): Action.custody,
    ("POST", "/bundles/{bundle_id}/hold"): retention_roles.HOLDERS,
    ("POST", "/bundles/{bundle_id}/release"): retention_roles.HOLDERS,
    ("POST", "/bundles/{bundle_id}/grade"): Action.grade,
    ("POST", "/bundles/{bundle_id}/purge"): retention_roles.PURGE_REQUESTERS,
    ("POST", "/exports"): Action.export,
    ("POST", "/bundles/{bundle_id}/wacz"): Action.export,
    ("POST", "/exhibits"): Action.export,
    ("POST", "/reviews/exigent/{auth_id}"): Action.auth_decide,
    ("POST", "/reviews/protected/{bundle_id}"): Action.auth_decide,
    ("POST", "/retention/{bundle_id}/review"): retention_roles.REVIEWERS,
    ("POST", "/retention/purges/{request_id}/approve"): retention_roles.PURGE_APPROVERS,
    ("POST", "/capture"): Action.capture,
    ("POST", "/watches"): Action.capture,
    ("POST", "/watches/{watch_id}/stop"): WATCH_STOPPERS,
    ("POST", "/aliases"): aliases.REQUESTERS,
    ("POST", "/aliases/{alias}/approve"): aliases.DECIDERS,
    ("POST", "/aliases/{alias}/deny"): aliases.DECIDERS,
    ("POST", "/aliases/{alias}/retire"): ALIAS_RETIRERS,
    ("POST", "/tokens"): Action.read,
    ("POST", "/tokens/{token_id}/revoke"): ANYONE,  # one's own tokens only: not a role's right
    ("POST", "/policy/review"): check.REVIEWERS,
    ("POST", "/audit"): AUDITORS,
    ("POST", "/admin/users"): Action.user_admin,
    ("POST", "/admin/users/{name}/retire"): Action.user_admin,
    ("POST", "/admin/users/{name}/role"): Action.user_admin,
    ("POST", "/admin/equipment"): equipment.REGISTRARS,
    ("POST", "/timestamps/retry"): Action.timestamp,
    ("POST", "/keys/export"): Action.read,
    ("POST", "/ledger/checkpoint"): Action.read,
    ("POST", "/ledger/verify"): Action.read,
    ("POST", "/downloads/{download_id}/remove"): Action.export,
}

FORMS: dict[str, dict[str, str]] = {
    "/authorizations": {"case": "HPD-2026-000999", "predicate": "criminal-predicate",
                        "standard": "reasonable-suspicion", "purpose": "criminal-investigation",
                        "facts": "Facts enough for a request.", "scopes": "https://example.org/*",
                        "retention": "case-evidence"},
    "/authorizations/{auth_id}/deny": {"reason": "not enough facts"},
    "/authorizations/{auth_id}/revoke": {"reason": "the case closed"},
    "/bundles/{bundle_id}/review": {"note": "looked at it"},
    "/bundles/{bundle_id}/viewed": {},
    "/bundles/{bundle_id}/corroborate": {"other": "B-20261205T000000Z-00000000", "note": "same seller"},
    "/bundles/{bundle_id}/transfer": {"to": "erin", "reason": "to the evidence room"},
    "/bundles/{bundle_id}/hold": {"reason": "civil suit HPD-2026-CV-99"},
    "/bundles/{bundle_id}/release": {"reason": "the suit settled"},
    "/bundles/{bundle_id}/grade": {"source": "B", "content": "2", "note": "corroborated"},
    "/bundles/{bundle_id}/purge": {"reason": "no longer needed for the case"},
    "/exports": {"recipient": "ADA Jane Roe", "reason": "discovery", "format": "bags"},
    "/exhibits": {"number": "1", "recipient": "ADA Jane Roe", "reason": "trial", "declarant": "erin"},
    "/reviews/exigent/{auth_id}": {"decision": "approve", "reason": "an imminent threat was shown"},
    "/reviews/protected/{bundle_id}": {"decision": "reject", "reason": "no nexus to the case"},
    "/retention/{bundle_id}/review": {"decision": "retain",
                                      "reason": "still needed for the open case HPD-2026-000123"},
    "/capture": {"urls": fake.url("/index.html")},
    "/capture/exigent": {"exigent_url": fake.url("/index.html"), "case": "HPD-2026-000123",
                         "facts": "A post names a school and a time for an attack today."},
    "/watches": {"url": fake.url("/index.html"), "every": "6h"},
    "/watches/{watch_id}/stop": {"reason": "enough seen"},
    "/aliases": {"name": "second-watcher", "platform": "mastodon", "handle": "@second_watcher",
                 "reason": "Observe the closed group that sells stolen bikes."},
    "/aliases/{alias}/deny": {"reason": "not needed for the case"},
    "/aliases/{alias}/retire": {"reason": "the operation ended"},
    "/policy/review": {"reason": "Annual review: all areas read, no change."},
    "/audit": {"format": "json", "disposition": "attachment"},
    "/admin/users": {"name": "mallory", "role": "admin", "full_name": "Mallory", "badge": "X-1",
                     "new_passphrase": "mallory-passphrase", "new_passphrase_again": "mallory-passphrase",
                     "admin_passphrase": "agency-admin-passphrase"},
    "/admin/users/{name}/retire": {"admin_passphrase": "agency-admin-passphrase"},
    "/admin/users/{name}/role": {"role": "admin", "admin_passphrase": "agency-admin-passphrase"},
    "/timestamps/retry": {"bundle": "all"},
    "/admin/equipment": {"id": "MINE-1", "kind": "personal", "description": "my phone",
                         "machine_id": "cd" * 32},
}  # fmt: skip
"""What a refused form carries besides its CSRF token and the user's own passphrase: enough to
pass any check of the input made before the role's, so the refusal is the role's."""


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes
            if inner:
                yield from _walk(list(inner), prefix + route.path)
            else:  # an app of its own (static files): one route for everything under it
                yield "GET", prefix + route.path + "/{path:path}"
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path
        else:
            raise AssertionError(f"a route of a kind this test does not know: {route!r}")


def application_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the application serves, the API's included."""
    app = create_app(WebConfig(store_path=Path("/nonexistent-store")))
    try:
        return sorted(set(_walk(list(app.routes))))
    finally:
        shutil.rmtree(app.state.tiles, ignore_errors=True)


ROUTES = application_routes()


def may(role: Role, rule: Rule) -> bool:
    if isinstance(rule, Action):
        return allowed(role, rule)
    if isinstance(rule, frozenset):
        return role in rule
    return True


def test_every_route_has_a_rule() -> None:
    """A page, API call or form added to the application must say here who may use it."""
    assert [r for r in ROUTES if r not in RULES] == []
    assert [r for r in RULES if r not in ROUTES] == []  # nor may a rule outlive its route
    assert {a for a in RULES.values() if isinstance(a, Action)} <= set(MATRIX)
    assert set(PEOPLE) == {r.value for r in HUMAN_ROLES}


def test_every_role_is_refused_somewhere_and_allowed_somewhere() -> None:
    """The matrix really is exercised: each role meets at least one refusal and one page it may see."""
    for role in HUMAN_ROLES:
        outcomes = {may(role, rule) for (method, _), rule in RULES.items() if method == "GET" and rule != PUBLIC}
        assert outcomes == {True, False}, role


# --------------------------------------------------------------------- the store and the server


@pytest.fixture(scope="module")
def roles_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Users of every role, a bundle in erin's custody, another with a pending purge request, a
    batch, a watch, an alias alice requested and one API token per user with every scope the
    role allows."""
    player = fake.FakeBrowser()
    with (mock.patch.object(capture, "browser_capture", player),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(player))):  # fmt: skip
        template = make_store(tmp_path_factory.mktemp("roles-template"))
        made = sealed_capture(template, tmp_path_factory.mktemp("roles") / "store", fake.url)
        cli: Cli = made["cli"]
        auth_id = made["auth"]
        second = cli.json("capture", fake.url("/index.html"), "--auth", auth_id, as_user="alice")
        listed = tmp_path_factory.mktemp("roles-list") / "urls.txt"
        listed.write_text(fake.url("/index.html") + "\n")
        lines = cli.run("capture", "--from", str(listed), "--auth", auth_id, "--json", as_user="alice").stdout
        batch_id = json.loads(lines.splitlines()[0])["batch"]
    name, passphrase = AUDITOR
    cli.ok("user", "add", name, "--role", "auditor", "--name", "Aaron Auditor", "--badge", "AU-501",
           new_passphrase=passphrase)  # fmt: skip
    bundle_id = made["result"]["bundle_id"]
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    cli.ok("custody", "transfer", second["bundle_id"], "--to", "erin", "--reason", "evidence room", as_user="alice")
    purge = cli.json("purge", "request", second["bundle_id"], "--reason", "a duplicate of the case's capture",
                     as_user="erin")  # fmt: skip
    watch = cli.run("watch", fake.url("/index.html"), "--auth", auth_id, "--every", "6h", as_user="alice")
    found = re.search(r"watch (W-[0-9A-Z-]+)", watch.stdout)
    assert found, watch.stdout + watch.stderr
    cli.ok("alias", "request", "river-watcher", "--platform", "mastodon", "--handle", "@river_watcher",
           "--reason", "Observe the closed group that sells bikes stolen on the river trail.",
           as_user="alice")  # fmt: skip
    store = Store.open(cli.store)
    try:
        bearer: dict[str, str] = {}
        token_id = ""
        for role, user in PEOPLE.items():
            actor = store.authenticate(user, SECRETS[user])
            scopes = [s for s, action in tokens.SCOPES.items() if allowed(Role(role), action)]
            made_token, bearer[user] = tokens.create(store, actor, label="role matrix", scopes=scopes)
            token_id = made_token.id
    finally:
        store.close()
    return {"cli": cli, "bundle": bundle_id, "params": {
        "auth_id": auth_id, "bundle_id": bundle_id, "batch_id": batch_id, "watch_id": found.group(1),
        "request_id": purge["id"], "token_id": token_id, "name": "dave", "number": "1",
        "path": "screenshot.png", "alias": "river-watcher"}, "bearer": bearer}  # fmt: skip


@dataclass
class Session:
    """One user's plain-HTTP session: the cookie the server set, no browser."""

    base: str
    cookie: str = ""
    csrf: str = ""
    history: list[str] = field(default_factory=list)

    def send(self, method: str, path: str, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:  # fmt: skip
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        sent = {**(headers or {}), **({"Cookie": self.cookie} if self.cookie else {})}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=120) as response:
                status, body, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, got = exc.code, exc.read(), exc.headers
        for value in got.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return status, body.decode("utf-8", "replace"), dict(got)

    def log_in(self, user: str) -> None:
        _, body, _ = self.send("GET", "/login")
        status, _, headers = self.send("POST", "/login", {"csrf_token": csrf_of(body), "user": user,
                                                          "passphrase": SECRETS[user], "next": "/"})  # fmt: skip
        assert status == 303 and headers["location"] == "/", (user, status)
        _, page, _ = self.send("GET", "/tokens")  # a page every role may see
        self.csrf = csrf_of(page)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


@pytest.fixture(scope="module")
def roles_server(roles_store: dict[str, Any]) -> Iterator[Server]:
    with serving(roles_store["cli"], info=roles_store) as running:
        erin = Session(running.url)
        erin.log_in("erin")
        status, _, headers = erin.send("POST", "/exports", {
            "csrf_token": erin.csrf, "bundle": roles_store["bundle"], "recipient": "ADA Jane Roe",
            "reason": "discovery", "format": "bags", "passphrase": SECRETS["erin"]})  # fmt: skip
        assert status == 303, status
        download_id = headers["location"].rsplit("/", 1)[1]
        record = roles_store["cli"].store / "work" / "downloads" / download_id / "download.json"
        roles_store["params"].update(download_id=download_id, file=json.loads(record.read_text())["file"])
        yield running


def fill(path: str, params: dict[str, str]) -> str:
    values = dict(params)
    if path.startswith("/downloads/"):
        values["name"] = params["file"]  # the download's file, not a user
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: urllib.parse.quote(values[m.group(1)]), path)


def denials(server: Server, user: str, after: int) -> list[dict[str, Any]]:
    """`denied.*` rows for `user` after ledger sequence number `after` (read from the ledger file
    the server writes; the Cli helper's `ledger show` reads the same rows, but slower)."""
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    try:
        rows = db.execute("SELECT seq, action, subject, details FROM events WHERE seq > ? AND actor = ? "
                          "AND action LIKE 'denied.%' ORDER BY seq", (after, user)).fetchall()  # fmt: skip
    finally:
        db.close()
    return [{"seq": s, "action": a, "subject": subj, "details": json.loads(d)} for s, a, subj, d in rows]


def last_seq(server: Server) -> int:
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    try:
        return int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
    finally:
        db.close()


def _checked(server: Server, user: str, method: str, path: str, rule: Rule, role: Role,
             status: int, before: int, problems: list[str]) -> None:  # fmt: skip
    new = denials(server, user, before)
    if may(role, rule):
        if status == 403 or status >= 500 or new:
            problems.append(f"{role.value} {user}: {method} {path} allowed by {rule} but {status}, {new}")
    elif status != 403 or len(new) != 1:
        problems.append(f"{role.value} {user}: {method} {path} refused by {rule} but {status}, denied rows {new}")


@pytest.mark.parametrize("role", HUMAN_ROLES, ids=lambda r: r.value)
def test_each_role_is_refused_exactly_the_pages_the_matrix_refuses(roles_server: Server, role: Role) -> None:
    user, params = PEOPLE[role.value], roles_server.info["params"]
    person = Session(roles_server.url)
    person.log_in(user)
    problems: list[str] = []
    for method, path in ROUTES:
        rule = RULES[(method, path)]
        if method != "GET" or path.startswith("/api/") or rule == PUBLIC:
            continue
        before = last_seq(roles_server)
        status, _, _ = person.send("GET", fill(path, params))
        _checked(roles_server, user, method, path, rule, role, status, before, problems)
    assert problems == []


@pytest.mark.parametrize("role", HUMAN_ROLES, ids=lambda r: r.value)
def test_each_roles_token_is_refused_exactly_the_api_calls_the_matrix_refuses(
    roles_server: Server, role: Role
) -> None:
    user, params = PEOPLE[role.value], roles_server.info["params"]
    caller = Session(roles_server.url)  # no cookie: the API reads none
    token = {"Authorization": f"Bearer {roles_server.info['bearer'][user]}"}
    problems: list[str] = []
    for method, path in ROUTES:
        rule = RULES[(method, path)]
        if not path.startswith("/api/") or rule == PUBLIC:
            continue
        before = last_seq(roles_server)
        status, _, _ = caller.send(method, fill(path, params), headers=token)
        _checked(roles_server, user, method, path, rule, role, status, before, problems)
        if not may(role, rule) and status == 403:
            assert not caller.cookie, "the API sets no cookie"
    assert problems == []


@pytest.mark.parametrize("role", HUMAN_ROLES, ids=lambda r: r.value)
def test_each_role_is_refused_every_form_the_matrix_refuses_it(roles_server: Server, role: Role) -> None:
    """Posted with the session's CSRF token and the user's own passphrase, so nothing refuses it
    but the role; nothing is done."""
    user, params = PEOPLE[role.value], roles_server.info["params"]
    person = Session(roles_server.url)
    person.log_in(user)
    refused = [(m, p) for m, p in ROUTES
               if m == "POST" and not p.startswith("/api/") and not may(role, RULES[(m, p)])]  # fmt: skip
    assert refused, f"{role.value} may post every form"
    problems: list[str] = []
    for method, path in refused:
        form = {"csrf_token": person.csrf, "passphrase": SECRETS[user], "auth": params["auth_id"],
                "bundle": params["bundle_id"], **FORMS.get(path, {})}  # fmt: skip
        before = last_seq(roles_server)
        status, _, _ = person.send("POST", fill(path, params), form)
        _checked(roles_server, user, method, path, RULES[(method, path)], role, status, before, problems)
        done = [e for e in _events_after(roles_server, before) if not e[1].startswith("denied.")
                and e[1] not in ("auth.login", "bundle.verify")]  # fmt: skip
        if done:
            problems.append(f"{role.value} {user}: POST {path} refused, yet recorded {done}")
    assert problems == []


def _events_after(server: Server, after: int) -> list[tuple[int, str, str | None]]:
    db = sqlite3.connect(server.cli.store / "ledger.sqlite")
    try:
        return list(db.execute("SELECT seq, action, actor FROM events WHERE seq > ? ORDER BY seq", (after,)))
    finally:
        db.close()


def test_the_denials_are_the_ledger_rows_the_command_line_shows(roles_server: Server) -> None:
    """The rows counted above through the ledger file are those `collector ledger show` prints."""
    admin = Session(roles_server.url)
    admin.log_in(PEOPLE["admin"])
    assert admin.send("GET", "/capture")[0] == 403
    shown = [e for e in roles_server.cli.events() if e["action"].startswith("denied.")]
    counted = denials(roles_server, PEOPLE["investigator"], 0) + denials(roles_server, PEOPLE["admin"], 0)
    assert counted and counted[-1]["action"] == "denied.capture"
    by_seq = {e["seq"]: e for e in shown}
    assert all(by_seq[row["seq"]]["action"] == row["action"] for row in counted)
