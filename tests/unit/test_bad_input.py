"""Bad input from a careless user or a hostile one: one clear line naming the bad value and
exit 2, before anything runs; never an internal error, a traceback or a prompt first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.cli.limits import RULES
from collector.evidence import text
from collector.evidence.post import PlatformId
from collector.platforms.draft import Draft
from tests.helpers import FACTS, Cli

LONG = "A" * 120_000
ESC = "\x1b[2J\x07\r"


def _refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit 2, one line on stderr that names the problem, nothing on stdout."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("collector: ")
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert len(lines[0]) < 1_100
    for part in expected:
        assert part in lines[0], lines[0]


def _request(*extra: str) -> list[str]:
    return [
        "auth", "request", "--case", "HPD-2026-000123", "--predicate", "criminal-predicate",
        "--standard", "reasonable-suspicion", "--purpose", "criminal-investigation",
        "--facts", FACTS, "--retention", "case-evidence", *extra,
    ]  # fmt: skip


STORE_CASES: list[tuple[str, list[str], str | None, tuple[str, ...]]] = [
    ("scope-port", _request("--scope", "https://social.example:99999/@a/*"), "alice", ("scope",)),
    ("scope-no-path", _request("--scope", "https://social.example"), "alice", ("must name a path",)),
    ("scope-huge", _request("--scope", "https://social.example/" + LONG), "alice", ("too long",)),
    ("facts-huge", [*_request("--scope", "https://social.example/*"), "--facts", LONG], "alice",
     ("--facts is 120000 characters long; the most is 20000",)),
    ("facts-escape", [*_request("--scope", "https://social.example/*"), "--facts", FACTS + ESC],
     "alice", ("--facts holds control characters",)),
    ("name-escape", ["user", "add", "mallory", "--role", "investigator", "--name", "M" + ESC,
                     "--badge", "1"], None, ("--name holds control characters",)),
    ("badge-long", ["user", "add", "mallory", "--role", "investigator", "--name", "Mallory",
                    "--badge", "9" * 65], None, ("--badge is 65 characters long; the most is 64",)),
    ("reason-empty", ["auth", "deny", "A-1", "--reason", "  "], "bob", ("--reason must not be empty",)),
    ("reason-line-break", ["auth", "deny", "A-1", "--reason", "one\ntwo"], "bob",
     ("--reason holds control characters or line breaks",)),
    ("exhibit-negative", ["exhibit", "X", "--number", "-5", "--declarant", "erin", "--out", "x.pdf"],
     "erin", ("--number '-5' is not an exhibit number",)),
    ("exhibit-20-digits", ["exhibit", "X", "--number", "1" * 20, "--declarant", "erin", "--out",
                           "x.pdf"], "erin", ("is not an exhibit number",)),
    ("bates-prefix-huge", ["exhibit", "X", "--number", "12", "--bates-prefix", LONG, "--declarant",
                           "erin", "--out", "x.pdf"], "erin", ("--bates-prefix",)),
    ("bates-start-zero", ["exhibit", "X", "--number", "12", "--bates-start", "0", "--declarant",
                          "erin", "--out", "x.pdf"], "erin", ("--bates-start must be 1 to",)),
    ("sign-missing", ["exhibit", "X", "--number", "12", "--declarant", "erin", "--out", "x.pdf",
                      "--sign", "/nonexistent.p12"], "erin", ("--sign", "/nonexistent.p12")),
    ("profile-nobody", ["user", "profile", "nobody"], None, ("nobody",)),
    ("keys-out-missing-dir", ["keys", "export", "--out", "/nonexistent-dir/keys.json"], None,
     ("/nonexistent-dir",)),
    ("export-out-missing-dir", ["export", "X", "--recipient", "DA", "--reason", "discovery",
                                "--out", "/nonexistent-dir/x.zip"], "erin", ("/nonexistent-dir",)),
    ("as-of-not-a-date", ["retention", "due", "--as-of", "yesterday"], "erin", ("--as-of",)),
    ("retire-not-a-date", ["user", "retire", "dave", "--compromised-since", "2026-13-40"], None,
     ("--compromised-since",)),
    ("capture-javascript", ["capture", "javascript:alert(1)", "--auth", "A-1"], "alice", ()),
]


@pytest.mark.parametrize(("args", "as_user", "expected"), [c[1:] for c in STORE_CASES],
                         ids=[c[0] for c in STORE_CASES])  # fmt: skip
def test_bad_input_to_a_store_is_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
    as_user: str | None, expected: tuple[str, ...],
) -> None:
    before = (cli.store / "ledger.sqlite").read_bytes()
    monkeypatch.chdir(tmp_path)
    result = cli.run(*args, as_user=as_user)
    if args[:2] == ["capture", "javascript:alert(1)"]:  # refused as a scheme: exit 3, one line
        assert result.returncode == 3 and "scheme 'javascript'" in result.stderr
        return
    _refused(result, *expected)
    if (cli.store / "ledger.sqlite").read_bytes() != before:
        # A request refused by the policy is a decision and is recorded; text refused before
        # the store is opened (too long, control characters) is not.
        assert args[:2] == ["auth", "request"], "bad input changed the ledger"
        last = cli.events()[-1]
        assert (last["action"], last["outcome"]) == ("auth.request", "refused")
        assert "--facts" not in args[-2:]
    assert not (tmp_path / "x.pdf").exists()


INIT_CASES: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("agency-empty", ["--agency", ""], ("--agency must not be empty",)),
    ("agency-long", ["--agency", "A" * 201], ("--agency is 201 characters long; the most is 200",)),
    ("agency-escape", ["--agency", "PD" + ESC], ("--agency holds control characters",)),
    ("ntp-colons", ["--ntp-server", "::::"], ("::::",)),
    ("ntp-port", ["--ntp-server", "pool.ntp.org:99999"], ("99999",)),
    ("tsa-root-missing", ["--tsa-root", "/nonexistent.pem"], ("/nonexistent.pem",)),
    ("tsa-root-device", ["--tsa-root", "/dev/zero"], ("/dev/zero",)),
    ("tsa-url-without-root", ["--tsa-url", "http://127.0.0.1:1/"], ("--tsa-root",)),
    ("tsa-url-port", ["--tsa-url", "http://127.0.0.1:99999/", "--tsa-root", "/dev/null"],
     ("--tsa-url", "99999")),
    ("tsa-url-scheme", ["--tsa-url", "ftp://tsa.example/", "--tsa-root", "/dev/null"],
     ("scheme 'ftp' is not allowed",)),
    ("chromium-missing", ["--chromium", "/nonexistent/chromium"], ("is not an executable file",)),
    ("allow-host-bad", ["--allow-host", "exa mple"], ("--allow-host",)),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in INIT_CASES],
                         ids=[c[0] for c in INIT_CASES])  # fmt: skip
def test_bad_init_is_refused_before_anything_is_made(
    tmp_path: Path, args: list[str], expected: tuple[str, ...]
) -> None:
    target = tmp_path / "new-store"
    result = Cli(target).run("init", *args)
    _refused(result, *expected)
    assert not target.exists(), "a refused init left a store behind"


@pytest.mark.parametrize("where", ["file", "proc"])
def test_init_where_no_store_can_be_is_one_line(tmp_path: Path, where: str) -> None:
    if where == "file":
        target = tmp_path / "a-file"
        target.write_text("not a directory")
    else:
        target = Path("/proc/self/new-store")
    _refused(Cli(target).run("init", "--agency", "Test PD"), str(target))


def test_a_passphrase_openssl_would_truncate_is_refused(cli: Cli) -> None:
    """Over 1 023 bytes OpenSSL's PEM reader silently cuts a passphrase; the key could never be
    unlocked again with what was typed, so it is refused when it is set."""
    result = cli.run("user", "add", "mallory", "--role", "investigator", "--name", "Mallory",
                     "--badge", "M-1", new_passphrase="p" * 1024)  # fmt: skip
    _refused(result, "1023")
    assert "mallory" not in cli.ok("user", "list").stdout


def test_output_onto_a_file_or_into_nothing_is_refused(cli: Cli, tmp_path: Path) -> None:
    a_file = tmp_path / "schemas"
    a_file.write_text("keep me")
    _refused(cli.run("schema", "--out", str(a_file)), str(a_file))
    assert a_file.read_text() == "keep me"
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_text("keep me")
    _refused(cli.run("ledger", "checkpoint", "--out", str(checkpoint), "--new"), "never overwritten")
    assert checkpoint.read_text() == "keep me"


def test_page_text_is_escaped_and_cut_when_shown(sealed: dict[str, Any], tmp_path: Path) -> None:
    """A bundle from outside may hold anything: `show` prints escapes, never the control
    characters, and long values cut with their length."""
    store = tmp_path / "store"
    shutil.copytree(sealed["cli"].store, store)
    bundle = next(p for p in (store / "bundles").iterdir() if p.name == sealed["result"]["bundle_id"])
    metadata = bundle / "data" / "metadata.json"
    os.chmod(metadata.parent, 0o755)
    os.chmod(metadata, 0o644)
    data = json.loads(metadata.read_text())
    data["capture"]["title"] = "T" * 50_000 + ESC
    data["capture"]["post"]["text"] = "\x1b]0;owned\x07" + "x" * 50_000
    metadata.write_text(json.dumps(data))
    out = Cli(store).ok("show", sealed["result"]["bundle_id"], as_user="erin").stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b" in out
    assert max(len(line) for line in out.splitlines()) < 1_200
    assert "(50003 characters)" in out or "characters)" in out


def test_overlong_post_fields_are_cut_in_metadata_with_a_note() -> None:
    draft = Draft()
    draft.offer("title", "T" * 10_000, "og:title", 1)
    draft.offer("text", "w " * 80_000, "article", 1)
    post = draft.finish(PlatformId(basis="none", evidence="test"), "generic")
    assert post.title is not None and len(post.title) == text.MAX_PAGE_FIELD
    assert post.text is not None and len(post.text) <= text.MAX_POST_TEXT
    assert any("title from og:title: 10000 characters long; the first 2000 kept" in n for n in post.notes)


def test_short_values_are_not_cut() -> None:
    assert text.cut("abc", 3) == ("abc", None)
    assert text.brief("a\x1bb\nc") == "a\\x1bb c"
    assert text.for_terminal("\u202eevil") == "\\u202eevil"


FREE_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", " ", "\x00", ESC, "\u202e", "a" * 2_001, "x\ny"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=FREE_TEXT)
def test_any_reason_is_judged_and_never_an_internal_error(cli: Cli, reason: str) -> None:
    result = cli.run("auth", "deny", "A-999", "--reason", reason, as_user="bob")
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    line = result.stderr.strip()
    try:
        text.check(reason, "--reason", text.MAX_LINE)
    except Exception:
        assert "--reason" in line
    else:
        assert "A-999" in line  # the text was fine: the unknown authorization is what is wrong


URLISH = st.one_of(
    st.text(max_size=120),
    st.builds(
        lambda host, port, path: f"https://{host}:{port}/{path}",
        st.text(max_size=30), st.integers(-5, 200_000), st.text(max_size=40),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scope=URLISH)
def test_any_scope_is_judged_and_never_an_internal_error(cli: Cli, scope: str) -> None:
    result = cli.run(*_request("--scope", scope), "--json", as_user="alice")
    assert result.returncode in (0, 2, 3), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if result.returncode:
        assert len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=URLISH)
def test_any_url_to_capture_is_judged_before_the_browser(cli: Cli, url: str) -> None:
    result = cli.run("capture", url, "--auth", "A-999", as_user="alice")
    assert result.returncode in (2, 3), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(when=st.text(max_size=40))
def test_any_date_is_judged(cli: Cli, when: str) -> None:
    result = cli.run("retention", "due", "--as-of", when, "--json", as_user="erin")
    assert result.returncode in (0, 2), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------- every command


def _leaves() -> list[tuple[str, Any]]:
    """(path, command) for every command of the tree the entry point runs."""
    from collector.cli import _command

    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            found.append((" ".join(path), command))
            return
        for name, sub in sorted(subcommands.items()):
            walk(sub, [*path, name])

    walk(_command(), [])
    return found


def _plausible(annotation: Any, name: str, where: Path) -> str:
    """A value of the annotated type that names nothing in any store."""
    import enum
    import types
    import typing
    from datetime import datetime

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (list, typing.Union):
        return _plausible(args[0], name, where)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str(next(iter(annotation)).value)
    if annotation in (int, float):
        return "1"
    if annotation is datetime:
        return "2026-01-01"
    if annotation is Path:
        return str(where / f"out-{name}")
    if name == "url":
        return "https://social.example/@nobody/1"
    return f"X-{name}"


def _filled(command: Any, path: str, where: Path, skip: str | None = None) -> list[str]:
    """A command line that names every required argument and option, with plausible values
    of the right type that name nothing in the store."""
    args = path.split()
    for param in command.params:
        if param.opts and param.opts[0] == skip:
            continue
        value = _plausible(param.type_descriptor.annotation, param.name, where)
        if param.param_type_name == "argument":
            args.append(value)
        elif param.required and not getattr(param, "is_flag", False):
            args += [param.opts[0], value]
    return args


FREE_TEXT_OPTIONS = [
    (path, param.opts[0])
    for path, command in _leaves()
    for param in command.params
    if param.opts and param.opts[0] in RULES
]


def test_the_sweep_covers_the_free_text_of_many_commands() -> None:
    assert len({path for path, _ in FREE_TEXT_OPTIONS}) >= 23
    assert len(FREE_TEXT_OPTIONS) >= 46
    assert len(_leaves()) >= 59


@pytest.mark.parametrize(("path", "option"), FREE_TEXT_OPTIONS, ids=[f"{p}:{o}" for p, o in FREE_TEXT_OPTIONS])
def test_every_free_text_option_is_bounded_before_the_command_runs(
    tmp_path: Path, path: str, option: str
) -> None:
    command = dict(_leaves())[path]
    for value, problem in ((LONG, "characters long; the most is"), ("x" + ESC, "control characters")):
        args = [*_filled(command, path, tmp_path, skip=option), option, value]
        result = Cli(tmp_path / "no-store").run(*args, as_user="erin")
        _refused(result, option, problem)
    assert not (tmp_path / "no-store").exists()


SERVES_UNTIL_STOPPED = {"serve"}
"""Commands that, given values that are merely plausible, serve until stopped: their bad input
is tested on its own (tests/web/test_tls.py, `test_serve_refuses_bad_values_in_one_line`)."""


def test_serve_refuses_bad_values_in_one_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "no-store")
    for args, problem in (
        (["serve", "--tls-cert", str(tmp_path / "none.pem")], "--tls-cert and --tls-key"),
        (["serve", "--port", "70000"], "port"),
    ):
        result = cli.run(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and problem in result.stderr, result.stderr


@pytest.mark.parametrize("path", [p for p, _ in _leaves() if p not in SERVES_UNTIL_STOPPED])
def test_every_command_with_values_that_name_nothing_is_one_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Run by an investigator, a supervisor, a custodian and an admin, so that each command
    gets past its permission check for someone."""
    monkeypatch.chdir(tmp_path)
    command = dict(_leaves())[path]
    codes = set()
    for user in ("alice", "bob", "erin", "root"):
        (tmp_path / user).mkdir()
        result = cli.run(*_filled(command, path, tmp_path / user), as_user=user,
                         new_passphrase="a-new-passphrase")  # fmt: skip
        assert result.returncode != 4 and "internal error" not in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        if result.returncode:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        codes.add(result.returncode)
    if path not in ("capture", "watch start"):  # an unknown authorization is the gate's refusal (exit 3), recorded
        assert codes != {3}, f"`{path}` was refused to everyone: the sweep judged nothing"


def test_paths_that_cannot_be_and_names_that_are_not_are_one_line(cli: Cli, tmp_path: Path) -> None:
    long = str(tmp_path / ("a" * 5_000))
    _refused(Cli(Path(long)).run("ledger", "show"), "no evidence store at", "File name too long")
    _refused(Cli(Path(long)).run("init"), "cannot create a store at", "File name too long")
    _refused(cli.run("verify", long), "File name too long")
    _refused(cli.run("verify", long + ".zip"), "File name too long")
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    _refused(cli.run("verify", str(tmp_path / "loop-a")), "neither a bundle directory")
    _refused(cli.run("--as", "x\x1b[31m", "ledger", "show"), "is not a user name", "\\x1b")
