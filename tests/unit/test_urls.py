"""URL and scope parsing of hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector.errors import CollectorError, Refused, UsageError
from collector.evidence.urls import from_browser, parse_scope, parse_url
from collector.policy.addresses import non_public


def test_normalizes_case_port_and_dot_segments() -> None:
    url = parse_url("HTTPS://Social.Example:443/a/./b/../c?x=1")
    assert url.normalized == "https://social.example/a/c?x=1"
    assert url.port == 443


def test_idn_host_is_punycoded() -> None:
    assert parse_url("https://bücher.example/").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    "text", ["https://exa mple.com/", "https://example.com/\n", "https://ex\x00ample/", "https://" + "a" * 9000]
)
def test_malformed_urls_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_url(text)


def test_scheme_refused() -> None:
    with pytest.raises(Refused):
        parse_url("gopher://example.com/")


def test_wildcard_scope_matches_subdomains_not_lookalikes() -> None:
    scope = parse_scope("https://*.social.example/*")
    assert scope.matches(parse_url("https://m.social.example/x"))
    assert not scope.matches(parse_url("https://social.example/x"))
    assert not scope.matches(parse_url("https://evilsocial.example/x"))


@pytest.mark.parametrize(
    "text",
    ["ftp://example.com/*", "https://*/*", "https://ex*ample.com/*", "https://u@example.com/*", "https://*.com/*", "example.com/*"],
)
def test_bad_scopes_rejected(text: str) -> None:
    with pytest.raises(CollectorError):
        parse_scope(text)


def test_scope_with_port() -> None:
    scope = parse_scope("http://127.0.0.1:8080/mastodon/*")
    assert scope.matches(parse_url("http://127.0.0.1:8080/mastodon/status.html"))
    assert not scope.matches(parse_url("http://127.0.0.1:8081/mastodon/status.html"))


def test_non_public_addresses() -> None:
    assert non_public(["8.8.8.8", "127.0.0.1", "10.1.2.3", "2001:4860:4860::8888", "fe80::1"]) == [
        "127.0.0.1",
        "10.1.2.3",
        "fe80::1",
    ]


# ------------------------------------------------------------------ WHATWG URL test data

WPT = json.loads((Path(__file__).resolve().parents[1] / "data" / "wpt" / "urltestdata-special.json").read_text(encoding="utf-8"))
ABSOLUTE = [c for c in WPT["cases"] if c["base"] is None]


def _id(case: dict[str, Any]) -> str:
    return repr(case["input"])[:60]


@pytest.mark.parametrize("case", ABSOLUTE, ids=[_id(c) for c in ABSOLUTE])
def test_whatwg_cases_read_as_a_browser_reads_them(case: dict[str, Any]) -> None:
    """Every absolute http(s)/ws(s) case of the WHATWG URL test data (web-platform-tests):
    the URL the gate judges is the URL the standard (and so Chromium) gives."""
    if case.get("failure"):
        with pytest.raises(CollectorError):
            from_browser(case["input"])
        return
    scheme = case["protocol"].rstrip(":")
    if scheme not in ("http", "https") or case["username"] or case["password"]:
        with pytest.raises(Refused):  # ws(s) and embedded credentials are never captured
            from_browser(case["input"])
        return
    try:
        url = from_browser(case["input"])
    except UsageError:
        # a host the standard accepts but DNS cannot hold (e.g. `%` or `_` oddities) is refused
        assert not _dns_host(case["hostname"]), case
        return
    assert url.href == case["href"]
    assert (url.host, url.path, url.query) == (case["hostname"], case["pathname"], case["search"].removeprefix("?"))
    assert url.port == (int(case["port"]) if case["port"] else {"http": 80, "https": 443}[scheme])


def _dns_host(host: str) -> bool:
    """A host name DNS can hold: letter/digit/hyphen labels, none empty but a final root."""
    import re

    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels = labels[:-1]
    return all(re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", label) for label in labels)


def test_the_data_is_there_and_covers_what_matters() -> None:
    assert WPT["source"]["commit"] == "26a58e8d350aafbd8bc5f381f1fc01e2bfd1c642"
    inputs = [c["input"] for c in ABSOLUTE]
    assert len(ABSOLUTE) > 200
    assert any("\\\\" in i for i in inputs) and any("%2e" in i.lower() for i in inputs)
    assert any("\t" in i or "\n" in i for i in inputs)


@pytest.mark.parametrize(
    ("typed", "judged"),
    [
        ("http://h/@alice/%2e%2e/@mallory", "http://h/@mallory"),
        ("http://h/@alice/%2E%2E/%2E%2E/admin", "http://h/admin"),
        ("http://h/@alice/.%2e/@mallory", "http://h/@mallory"),
        ("http://h/@alice/..\\@mallory", "http://h/@mallory"),
        ("HTTP://H:80/@alice/./x", "http://h/@alice/x"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ],
)
def test_the_gate_judges_what_the_browser_loads(typed: str, judged: str) -> None:
    assert parse_url(typed).href == judged


@pytest.mark.parametrize(
    "url",
    [
        "http://h/@alice/%2e%2e/@mallory",
        "http://h/@alice/..\\@mallory",
        "http://h/@alice/%2E%2E/%2E%2E/admin",
        "http://h/@alice%2F..%2F@mallory",
        "http://h/@alice/x%5C..%5C..%5C@mallory",
        "http://h/@alice/%2e%2e%2f@mallory",
        "http://h:81/@alice/x",
        "https://h/@alice/x",
        "http://h.evil/@alice/x",
    ],
)
def test_scope_bypass_forms_are_outside_the_scope(url: str) -> None:
    scope = parse_scope("http://h/@alice/*")
    assert not scope.matches(parse_url(url))
    assert scope.matches(parse_url("http://h/@alice/status/1"))


def test_encoded_separators_pass_only_a_whole_host_scope() -> None:
    url = parse_url("http://h/share?u=x&p=a%2Fb")
    assert parse_scope("http://h/share*").matches(url)  # the query is not the path
    odd = parse_url("http://h/a%2Fb")
    assert parse_scope("http://h/*").matches(odd)
    assert "encoded separator" in (parse_scope("http://h/a*").refusal(odd) or "")
