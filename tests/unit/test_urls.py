"""URL and scope parsing of hostile input."""

from __future__ import annotations

import pytest

from collector.errors import CollectorError, Refused, UsageError
from collector.policy.urls import non_public, parse_scope, parse_url


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
