"""Redaction of an alias's credentials: the pure functions, no browser."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.browser.redaction import (
    CREDENTIAL_PARAMS,
    DIGEST_PREFIX,
    AliasSession,
    Redactor,
    is_credential_name,
    keyed_digest,
    stored_secrets,
)
from collector.errors import UsageError
from collector.evidence.model import BrowserInfo, CaptureRecord, Egress, Header, NetworkSummary
from collector.policy.aliases import load_profile

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SESSION = "s3ss10n-VALUE-0123456789abcdef"
LOCAL = "eyJhbGciOiJIUzI1NiJ9.local.token"
STATE = {
    "cookies": [
        {"name": "_social_session", "value": SESSION, "domain": "127.0.0.1", "path": "/"},
        {"name": "lang", "value": "en", "domain": "127.0.0.1", "path": "/"},
    ],
    "origins": [
        {
            "origin": "http://127.0.0.1:8000",
            "localStorage": [
                {"name": "access", "value": LOCAL},
                {"name": "seen", "value": "1700000000000"},
                {"name": "auth", "value": json.dumps({"user": "river", "refresh_token": "R" * 20})},
            ],
        }
    ],
}


def d(value: str, key: bytes = KEY) -> str:
    """The expected digest, computed independently of the code under test."""
    return DIGEST_PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture
def red() -> Redactor:
    return Redactor.for_storage_state(KEY, STATE)


# ------------------------------------------------------------------ the keyed digest


def test_digest_is_keyed_deterministic_and_short() -> None:
    assert keyed_digest(KEY, SESSION) == keyed_digest(KEY, SESSION) == d(SESSION)
    assert keyed_digest(KEY, SESSION.encode()) == d(SESSION)
    assert keyed_digest(OTHER_KEY, SESSION) == d(SESSION, OTHER_KEY) != d(SESSION)
    assert keyed_digest(KEY, SESSION + "x") != d(SESSION)
    assert len(d(SESSION)) == len(DIGEST_PREFIX) + 16
    # without the key, a plain hash of the secret does not give the digest away
    assert hashlib.sha256(SESSION.encode()).hexdigest()[:16] not in d(SESSION)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        Redactor(b"short")
    with pytest.raises(ValueError):
        AliasSession(storage_state=STATE, redaction_key=b"short")


def test_alias_session_never_shows_its_secrets() -> None:
    session = AliasSession(storage_state=STATE, redaction_key=KEY)
    assert SESSION not in repr(session) and KEY.hex() not in repr(session)
    assert "2 cookie(s), 1 origin(s) with 3 localStorage entries" in session.describe()


# ------------------------------------------------------------------ headers


def test_cookie_header_values_replaced_names_kept(red: Redactor) -> None:
    out = red.headers(
        [("Cookie", f"_social_session={SESSION}; lang=en"), ("Accept", "text/html")],
        artifact="traffic.warc.gz", url="http://127.0.0.1/", where="request header",
    )  # fmt: skip
    assert out == [
        ("Cookie", f"_social_session={d(SESSION)}; lang={d('en')}"),
        ("Accept", "text/html"),
    ]
    kinds = {(r.name, r.kind, r.where) for r in red.redactions}
    assert kinds == {
        ("_social_session", "cookie", "request header Cookie"),
        ("lang", "cookie", "request header Cookie"),
    }
    assert all(r.url == "http://127.0.0.1/" and r.count == 1 for r in red.redactions)


def test_authorization_headers_keep_the_scheme(red: Redactor) -> None:
    out = dict(
        red.headers(
            [
                ("Authorization", "Bearer abc.def.ghi"),
                ("proxy-authorization", "Basic dXNlcjpwYXNz"),
                ("X-Auth-Token", "tok-123"),
                ("X-Api-Key", "k-456"),
            ],
            artifact="w",
            url=None,
            where="request header",
        )
    )
    assert out["Authorization"] == f"Bearer {d('abc.def.ghi')}"
    assert out["proxy-authorization"] == f"Basic {d('dXNlcjpwYXNz')}"
    assert out["X-Auth-Token"] == d("tok-123") and out["X-Api-Key"] == d("k-456")
    assert {r.kind for r in red.redactions} == {"authorization", "credential-header"}


def test_set_cookie_value_replaced_attributes_kept(red: Redactor) -> None:
    value = "sid=31d4d96e407aad42; Path=/; Secure; HttpOnly; Expires=Wed, 09 Jun 2027 10:18:14 GMT"
    (_, out), (_, two) = red.headers(
        [("Set-Cookie", value), ("set-cookie", "a=1; Path=/\nb=two; SameSite=Lax")],
        artifact="w", url="u", where="response header",
    )  # fmt: skip
    assert out == (
        f"sid={d('31d4d96e407aad42')}; Path=/; Secure; HttpOnly; Expires=Wed, 09 Jun 2027 10:18:14 GMT"
    )
    assert two == f"a={d('1')}; Path=/\nb={d('two')}; SameSite=Lax"
    assert [r.kind for r in red.redactions] == ["set-cookie"] * 3


def test_other_headers_only_lose_url_credentials_and_stored_values(red: Redactor) -> None:
    out = dict(
        red.headers(
            [
                ("Referer", "http://127.0.0.1/feed?page=2&access_token=abc&q=bikes"),
                ("Location", "/next#sig=zz&x=1"),
                ("X-Trace", f"session {SESSION}"),
                ("Host", "127.0.0.1:8000"),
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "max-age=0"),
            ],
            artifact="w",
            url=None,
            where="request header",
        )
    )
    assert out["Referer"] == f"http://127.0.0.1/feed?page=2&access_token={d('abc')}&q=bikes"
    assert out["Location"] == f"/next#sig={d('zz')}&x=1"
    assert out["X-Trace"] == f"session {d(SESSION)}"
    assert out["Host"] == "127.0.0.1:8000"
    assert out["Content-Type"] == "text/html; charset=utf-8"
    assert out["Cache-Control"] == "max-age=0"


def test_redacting_twice_changes_nothing_more(red: Redactor) -> None:
    headers = [
        ("Cookie", f"_social_session={SESSION}"),
        ("Authorization", "Bearer abc"),
        ("Set-Cookie", "sid=xyz; Path=/"),
        ("X-Auth-Token", "t"),
        ("Referer", "http://x/?token=1"),
    ]
    once = red.headers(headers, artifact="w", url=None, where="request header")
    count = len(red.redactions)
    assert red.headers(once, artifact="w", url=None, where="request header") == once
    url = red.url("http://x/a?access_token=1#sig=2", artifact="w")
    assert red.url(url, artifact="w") == url
    assert len(red.redactions) == count + 2


# ------------------------------------------------------------------ URLs


def test_url_credential_parameters_replaced(red: Redactor) -> None:
    url = "https://social.example/api/v1/timeline?max_id=99&Access_Token=a%2Fb&TOKEN=t&key=k&page=3"
    out = red.url(url, artifact="traffic.warc.gz")
    assert out == (
        "https://social.example/api/v1/timeline?max_id=99"
        f"&Access_Token={d('a/b')}&TOKEN={d('t')}&key={d('k')}&page=3"
    )
    assert {r.name for r in red.redactions} == {"Access_Token", "TOKEN", "key"}
    assert all(r.url == out and r.where == "target URI" for r in red.redactions)


@pytest.mark.parametrize(
    "name", ["token", "access_token", "auth", "session", "sid", "key", "api_key", "password",
             "sig", "signature", "PASSWORD", "oauth_token", "X-Amz-Signature", "sessionId",
             "auth[token]", "apiKey"],
)  # fmt: skip
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name", ["page", "q", "id", "max_id", "keyword", "monkey", "signed", "lang", "sort", "n"]
)
def test_non_credential_names(name: str) -> None:
    assert not is_credential_name(name)


def test_non_credential_parameters_untouched(red: Redactor) -> None:
    url = "http://127.0.0.1:8000/context?page=2&q=stolen+bikes&keyword=x&n=1#top"
    assert red.url(url, artifact="w") == url
    assert red.redactions == []
    assert {"token", "access_token", "password", "signature"} <= CREDENTIAL_PARAMS


def test_stored_values_in_url_paths_are_replaced_but_not_hosts() -> None:
    red = Redactor(KEY, stored_secrets({"cookies": [{"name": "h", "value": "127.0.0.1:8000"}]}))
    assert red.url("http://127.0.0.1:8000/u/127.0.0.1:8000", artifact="w") == (
        f"http://127.0.0.1:8000/u/{d('127.0.0.1:8000')}"
    )


# ------------------------------------------------------------------ stored values in bodies


def test_stored_values_found_in_every_spelling(red: Redactor) -> None:
    secret = 'p@ss/w"rd&x=1 ok'
    red = Redactor(KEY, stored_secrets({"cookies": [{"name": "c", "value": secret}]}))
    from html import escape
    from urllib.parse import quote

    body = " | ".join(
        [secret, quote(secret, safe=""), escape(secret), json.dumps(secret)[1:-1]]
    ).encode()
    out = red.body(body, artifact="page.html", url=None, where="file")
    assert out == " | ".join([d(secret)] * 4).encode()
    assert red.redactions[0].count == 4 and red.redactions[0].kind == "stored-cookie"


def test_which_storage_values_are_searched() -> None:
    found = {s.name: s for s in stored_secrets(STATE)}
    assert found["_social_session"].value == SESSION
    assert found["access"].kind == "stored-local-storage"
    assert found["auth.refresh_token"].value == "R" * 20  # inside a JSON value
    assert "lang" not in found  # shorter than 8 characters
    assert "seen" not in found  # a number, not a secret


def test_body_replacement_is_exact_and_recorded(red: Redactor) -> None:
    body = f"<p>hello {SESSION}</p><script>t='{LOCAL}'; t2='{LOCAL}'</script>".encode()
    out = red.body(body, artifact="traffic.warc.gz", url="http://x/", where="response body")
    assert out == f"<p>hello {d(SESSION)}</p><script>t='{d(LOCAL)}'; t2='{d(LOCAL)}'</script>".encode()
    counts = {r.name: r.count for r in red.redactions}
    assert counts == {"_social_session": 1, "access": 2}
    assert red.body(b"nothing here", artifact="a", url=None, where="b") == b"nothing here"


def test_mhtml_quoted_printable_soft_breaks(red: Redactor) -> None:
    split = SESSION[:10] + "=\r\n" + SESSION[10:]
    qp_coded = SESSION.replace("-", "=2D")
    data = f"<p>{split}</p>\r\n<i>{qp_coded}</i> {SESSION}".encode()
    out = red.mhtml(data, artifact="page.mhtml")
    assert out == f"<p>{d(SESSION)}</p>\r\n<i>{d(SESSION)}</i> {d(SESSION)}".encode()
    assert red.redactions[0].count == 3


def test_form_body(red: Redactor) -> None:
    body = f"user=river&password=hunter22&next=%2Fhome&x={SESSION}".encode()
    out = red.form_body(body, artifact="w", url="u", where="request body")
    assert out == f"user=river&password={d('hunter22')}&next=%2Fhome&x={d(SESSION)}".encode()


def test_capture_record_is_redacted_everywhere(red: Redactor) -> None:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    record = CaptureRecord(
        requested_url="http://127.0.0.1/feed?token=abc", final_url="http://127.0.0.1/feed?token=abc",
        status=200, redirects=[], server=None, tls=None, title="t", started_at=at, ended_at=at,
        request_headers=[Header(name="Cookie", value=f"_social_session={SESSION}")],
        response_headers=[Header(name="Set-Cookie", value="sid=zzzz; Path=/")],
        browser=BrowserInfo(name="chromium", version="1", executable_path="/c", headless=True,
                            user_agent="ua", user_agent_overridden=False, navigator_webdriver=None,
                            launch_args=[]),
        viewport={"width": 1, "height": 1}, locale="en", timezone_id="UTC", egress=Egress(),
        page_width=1, page_height=1, steps=[], changes=[], warc_rewrites=[],
        network=NetworkSummary(), artifacts=[],
    )  # fmt: skip
    out = red.record(record)
    text = out.model_dump_json()
    assert SESSION not in text and "token=abc" not in text and "zzzz" not in text
    assert out.final_url == f"http://127.0.0.1/feed?token={d('abc')}"
    assert out.request_headers[0].value == f"_social_session={d(SESSION)}"
    assert {r.where for r in out.redactions} >= {"requested_url", "final_url"}
    assert all(r.artifact == "capture-record" for r in out.redactions)


# ------------------------------------------------------------------ the profile file


def test_load_profile_accepts_a_storage_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(STATE))
    state = load_profile(path)
    assert state["cookies"][0] == {
        "name": "_social_session", "value": SESSION, "domain": "127.0.0.1", "path": "/",
        "expires": -1, "httpOnly": False, "secure": False, "sameSite": "Lax",
    }  # fmt: skip
    assert state["origins"][0]["localStorage"][0] == {"name": "access", "value": LOCAL}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100000, "not JSON"),
        (b"[]", "not a storage state"),
        (b'{"cookies": [], "origins": [], "extra": 1}', "unexpected field"),
        (b'{"cookies": {}, "origins": []}', "must be lists"),
        (b'{"cookies": [], "origins": []}', "nothing to log in with"),
        (b'{"cookies": [{"name": "a", "value": 1, "domain": "x"}]}', "value must be a string"),
        (b'{"cookies": [{"name": "a", "value": "v", "domain": "x", "sameSite": "no"}]}', "sameSite"),
        (b'{"origins": [{"origin": "file:///etc", "localStorage": []}]}', "http(s)"),
    ],
)
def test_load_profile_refuses_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_profile(path)
    assert "\n" not in str(info.value)


def test_load_profile_size_limit_and_missing_file(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(5 * 1024 * 1024 + 1)
    with pytest.raises(UsageError, match="larger than 5 MiB"):
        load_profile(big)
    with pytest.raises(UsageError, match="no such file"):
        load_profile(tmp_path / "missing.json")
    with pytest.raises(UsageError, match="is a directory, not a regular file"):
        load_profile(tmp_path)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="is a FIFO, not a regular file"):
        load_profile(fifo)


def test_load_profile_never_echoes_values(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"cookies": [{"name": "sid", "value": SESSION, "domain": ""}]}))
    with pytest.raises(UsageError) as info:
        load_profile(path)
    assert SESSION not in str(info.value) and "'sid'" in str(info.value)
