"""The consent rule list: shipped rules load and refuse; broken rule files are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector.browser.consent import ConsentRulesError, load_rules, parse_rules

SHIPPED = load_rules()
ACCEPTING = re.compile(
    r"accept[-_ ]?all|allow[-_ ]?all|\bagree\b|accept[-_]btn|^accept|^allow all|^ok$", re.I
)

GOOD = """
version = "test"

[[rules]]
name = "one"
description = "a test rule"
hosts = ["*"]
overlay = "#banner"
reject = ["#reject"]
"""


def test_shipped_rules_cover_the_common_platforms() -> None:
    names = {r.name for r in SHIPPED.rules.rules}
    assert {
        "onetrust",
        "cookiebot",
        "didomi",
        "quantcast",
        "trustarc",
        "facebook",
        "instagram",
        "google",
        "youtube",
        "x",
        "reddit",
        "tiktok",
    } <= names
    assert len(SHIPPED.sha256) == 64 and SHIPPED.rules.version


def test_shipped_rules_only_ever_refuse() -> None:
    for rule in SHIPPED.rules.rules:
        assert rule.reject or rule.reject_texts, rule.name
        for label in rule.reject_texts:
            assert not ACCEPTING.search(label), (rule.name, label)
            assert re.search(
                r"reject|refuse|decline|deny|disagree|necessary|essential|required|without|do not",
                label,
                re.I,
            ), (rule.name, label)
        for selector in rule.reject:
            assert not ACCEPTING.search(selector), (rule.name, selector)


def test_onetrust_prefers_reject_all() -> None:
    rule = next(r for r in SHIPPED.rules.rules if r.name == "onetrust")
    assert rule.reject[0] == "#onetrust-reject-all-handler"
    assert rule.matches_host("www.example.org")


@pytest.mark.parametrize(
    ("host", "included", "excluded"),
    [
        ("www.facebook.com", {"facebook", "onetrust"}, {"instagram", "youtube"}),
        ("facebook.com", {"facebook"}, {"x"}),
        ("facebook.com.evil.example", {"onetrust"}, {"facebook"}),
        ("WWW.YouTube.com", {"youtube"}, {"facebook"}),
        ("x.com", {"x"}, {"reddit"}),
        ("www.google.de", {"google"}, {"youtube"}),
        ("old.reddit.com", {"reddit"}, {"tiktok"}),
    ],
)
def test_rules_apply_by_host(host: str, included: set[str], excluded: set[str]) -> None:
    names = {r.name for r in SHIPPED.for_host(host)}
    assert included <= names and not (excluded & names)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('reject = ["#reject"]', ""), "names no button"),
        (GOOD + GOOD.split("version", 1)[1].split("\n", 1)[1], "used twice"),
        (GOOD.replace('overlay = "#banner"', 'overlay = ""'), "overlay"),
        (GOOD.replace('hosts = ["*"]', 'hosts = ["https://x.com/"]'), "host glob"),
        (GOOD.replace('hosts = ["*"]', 'hosts = ["X.com"]'), "host glob"),
        (GOOD.replace('hosts = ["*"]', "hosts = []"), "hosts"),
        (GOOD.replace('name = "one"', 'name = "One Rule"'), "name"),
        (GOOD.replace('reject = ["#reject"]', 'reject = ["  "]'), "empty selector"),
        (GOOD + "click_everything = true\n", "click_everything"),
        ('version = "x"\nrules = []\n', "rules"),
        ("[[rules]\n", "not a TOML file"),
    ],
)
def test_invalid_rule_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConsentRulesError, match=message) as info:
        parse_rules(text.encode(), "test.toml")
    assert str(info.value).startswith("test.toml") and "\n" not in str(info.value)


def test_rules_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD)
    rules = load_rules(path)
    assert [r.name for r in rules.rules.rules] == ["one"] and rules.source == str(path)
