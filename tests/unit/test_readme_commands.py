"""The README's command reference is the command line: every command and option documented,
nothing documented that does not exist, and `--json` exactly where the README says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from collector.cli import app
from tests.helpers import REPO

README = REPO / "README.md"
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
SHORTHANDS = {"purge": "purge request"}  # `collector purge ID --reason …`


def _commands() -> dict[str, set[str]]:
    """Every command path of the app and its long options (primary names, no --help)."""

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), cmd

    found = {}
    for path, cmd in walk(typer.main.get_command(app), []):
        found[path] = {
            name for p in cmd.params if p.param_type_name == "option" for name in p.opts
            if name.startswith("--") and name != "--help"
        }  # fmt: skip
    return found


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _documented(known: set[str]) -> dict[str, set[str]]:
    """Command path → options, from the first column of the README's command table."""
    documented: dict[str, set[str]] = {}
    for line in _section("Commands").splitlines():
        if not line.startswith("| `collector "):
            continue
        first = line.split(" | ")[0]
        for form in re.findall(r"`([^`]+)`", first):
            words = form.removeprefix("collector ").split()
            path = next(
                (" ".join(words[:n]) for n in (2, 1) if " ".join(words[:n]) in known),
                SHORTHANDS.get(words[0]),
            )
            assert path is not None, f"README documents an unknown command: {form!r}"
            documented.setdefault(path, set()).update(OPTION.findall(form))
    return documented


def test_every_command_is_documented_and_every_documented_command_exists() -> None:
    commands = _commands()
    documented = _documented(set(commands))
    assert sorted(set(commands) - set(documented)) == []
    assert len(documented) > 40


@pytest.mark.parametrize("path", sorted(_commands()))
def test_every_option_is_documented_and_exists(path: str) -> None:
    commands = _commands()
    documented = _documented(set(commands)).get(path, set())
    options = commands[path] - {"--json"}
    assert sorted(options - documented) == [], f"undocumented options of `{path}`"
    assert sorted(documented - commands[path]) == [], f"README options `{path}` does not have"


def test_json_is_where_the_readme_says() -> None:
    sentence = re.search(r"Every command takes `--json` except ([^.]+)\.", _section("Commands"))
    assert sentence is not None
    said_without = set(re.findall(r"`([a-z ]+)`", sentence.group(1)))
    without = {path for path, options in _commands().items() if "--json" not in options}
    assert said_without == without
