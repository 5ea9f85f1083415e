"""The alias registry in a real browser: an investigator requests an alias, two different
supervisors approve it (the same supervisor approving twice is refused and shown), it shows
active, a supervisor retires it; a custodian's approval is refused and recorded; axe-core on
every alias page. Each test runs its own server over a copy of the web store."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from tests.helpers import PASSPHRASES
from tests.web.conftest import Server, Visitor, _visitor, serving

NAME = "river-watcher"
REASON = "Observe the closed group that sells bikes stolen on the river trail."


def _csrf(person: Visitor) -> str:
    return person.page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def _denied(server: Server, actor: str) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["action"] == "denied.alias" and e["actor"] == actor]


@contextlib.contextmanager
def _people(browser: Browser, server: Server, *names: str) -> Iterator[dict[str, Visitor]]:
    """One logged-in browser context for each user named."""
    with contextlib.ExitStack() as stack:
        people = {}
        for name in names:
            made = stack.enter_context(contextlib.closing(_visitor(browser, server)))
            people[name] = next(made)
            people[name].log_in(name)
        yield people


def _request(alice: Visitor) -> None:
    alice.go("/aliases")
    alice.page.get_by_role("link", name="Request an alias").first.click()
    alice.page.wait_for_url(re.compile(r".*/aliases/new$"))
    alice.check("alias-request")
    page = alice.page
    page.get_by_label("Alias name").fill(NAME)
    page.get_by_label("Platform", exact=True).fill("mastodon")
    page.get_by_label("Handle: the alias's user name on the platform").fill("@river_watcher")
    page.get_by_label("Why the alias is needed").fill(REASON)
    page.get_by_label("Days it stays active once approved").fill("30")
    page.get_by_label("Your passphrase").fill(PASSPHRASES["alice"])
    page.get_by_role("button", name="Request").click()
    page.wait_for_url(alice.base + f"/aliases/{NAME}")


def _approve(person: Visitor, name: str) -> None:
    person.page.get_by_label("Your passphrase").first.fill(PASSPHRASES[name])
    with person.page.expect_navigation():
        person.page.get_by_role("button", name="Approve and sign").click()


def test_two_different_supervisors_approve_an_alias_and_a_supervisor_retires_it(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    with serving(server.cli.copy(tmp_path / "store")) as own, _people(browser, own, "alice", "bob", "carol") as p:
        alice, bob, carol = p["alice"], p["bob"], p["carol"]
        _request(alice)
        assert alice.page.locator("#status").inner_text() == "pending"
        assert alice.page.locator("#state").inner_text() == "pending (0 of 2 approvals)"
        assert alice.page.get_by_role("button", name="Approve and sign").count() == 0  # her own
        alice.check("alias-pending")

        bob.go("/")
        assert bob.page.locator("#aliases-to-approve").get_by_role("link", name=NAME).count() == 1
        stale = bob.context.new_page()  # a second tab, opened before he approves
        stale.goto(own.url + f"/aliases/{NAME}")
        bob.page.locator("#aliases-to-approve").get_by_role("link", name=NAME).click()
        bob.page.wait_for_url(own.url + f"/aliases/{NAME}")
        bob.check("alias-decision")
        _approve(bob, "bob")
        assert bob.page.url == own.url + f"/aliases/{NAME}"
        assert bob.page.locator("#state").inner_text() == "pending (1 of 2 approvals)"
        assert bob.page.get_by_role("button", name="Approve and sign").count() == 0  # approved once
        bob.go("/")
        assert bob.page.locator("#aliases-to-approve").count() == 0  # no longer owed by him

        # the same supervisor again, from the page opened before: refused and shown
        stale.get_by_label("Your passphrase").first.fill(PASSPHRASES["bob"])
        with stale.expect_response(f"{own.url}/aliases/{NAME}/approve") as answer:
            stale.get_by_role("button", name="Approve and sign").click()
        assert answer.value.status == 403
        assert "bob has already approved alias river-watcher" in stale.get_by_role("alert").inner_text()
        assert [e["details"]["reason"] for e in _denied(own, "bob")] == [
            "bob has already approved alias river-watcher: another supervisor must approve it"
        ]
        stale.close()

        carol.go("/")
        carol.page.locator("#aliases-to-approve").get_by_role("link", name=NAME).click()
        carol.page.wait_for_url(own.url + f"/aliases/{NAME}")
        _approve(carol, "carol")
        assert carol.page.locator("#status").inner_text() == "active"
        assert carol.page.locator("#state").inner_text().startswith("active until ")
        approvals = carol.page.locator("#approval-list li").all_inner_texts()
        assert [a.split(" at ")[0] for a in approvals] == ["bob", "carol"]
        assert all("signature valid" in a for a in approvals)
        carol.check("alias-active")

        alice.go("/aliases")
        row = alice.page.get_by_role("row").filter(has_text=NAME)
        assert "active until" in row.inner_text() and "2 of 2: bob, carol" in row.inner_text()
        alice.check("aliases")

        carol.page.get_by_label("Why it is retired").fill("The operation ended; the account is closed.")
        carol.page.locator("#retire-passphrase").fill(PASSPHRASES["carol"])
        carol.page.get_by_role("button", name="Retire").click()
        carol.page.wait_for_url(own.url + f"/aliases/{NAME}")
        assert carol.page.locator("#status").inner_text() == "retired"
        assert "by carol" in carol.page.locator("#closed").inner_text()
        assert carol.page.get_by_role("button", name="Retire").count() == 0
        carol.check("alias-retired")

        shown = own.cli.json("alias", "show", NAME)
        assert shown["status"] == "retired" and shown["closed_by"] == "carol"
        decided = [(e["action"], e["actor"]) for e in own.events() if e["subject"] == NAME
                   and e["action"].startswith("alias.")]  # fmt: skip
        assert decided == [("alias.request", "alice"), ("alias.approve", "bob"),
                           ("alias.approve", "carol"), ("alias.retire", "carol")]  # fmt: skip


def test_a_custodians_approval_is_refused_and_recorded(browser: Browser, server: Server, tmp_path: Path) -> None:
    with serving(server.cli.copy(tmp_path / "store")) as own, _people(browser, own, "alice", "erin") as p:
        alice, erin = p["alice"], p["erin"]
        _request(alice)
        erin.go("/aliases/new")  # an investigator requests an alias: refused and recorded
        assert "may not request an alias" in erin.page.get_by_role("main").inner_text()
        erin.go(f"/aliases/{NAME}")
        assert erin.page.locator("#status").inner_text() == "pending"
        assert erin.page.get_by_role("button", name="Approve and sign").count() == 0
        erin.check("alias-custodian")
        before = len(_denied(own, "erin"))
        posted = erin.context.request.post(f"{own.url}/aliases/{NAME}/approve", form={
            "csrf_token": _csrf(erin), "passphrase": PASSPHRASES["erin"]})  # fmt: skip
        assert posted.status == 403
        assert "may not approve an alias" in posted.text()
        refused = _denied(own, "erin")[before:]
        assert [(e["subject"], e["outcome"]) for e in refused] == [(NAME, "refused")]
        assert "may not approve an alias" in refused[0]["details"]["reason"]
        assert own.cli.json("alias", "show", NAME)["approvals"] == []
