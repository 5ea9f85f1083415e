"""Free text typed on the command line, held to the documented maximums before a command runs.

One table names each free-text option's maximum (`collector.evidence.text`); `checked` wraps
every command of the tree once so that a value too long or holding control characters is
refused with one line (exit 2) before anything is opened or asked. Whether an empty value will
do is each command's to say, with what the policy asks for instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collector.evidence import text


@dataclass(frozen=True)
class Rule:
    limit: int
    multiline: bool = False


NAME = Rule(text.MAX_NAME)
LINE = Rule(text.MAX_LINE)
PARAGRAPHS = Rule(text.MAX_TEXT, multiline=True)

RULES: dict[str, Rule] = {
    "--agency": NAME,
    "--recipient": NAME,
    "--name": NAME,
    "--title": NAME,
    "--jurisdiction": NAME,
    "--kind": NAME,
    "--machine-id": NAME,
    "--handle": NAME,
    "--platform": NAME,
    "--version": NAME,
    "--badge": Rule(text.MAX_BADGE),
    "--bates-prefix": Rule(text.MAX_BATES_PREFIX),
    "--number": Rule(text.MAX_EXHIBIT_NUMBER),  # and its form: text.exhibit_number
    "--redact": NAME,
    "--reason": LINE,
    "--note": LINE,
    "--description": LINE,
    "--purpose": LINE,
    "--standard": LINE,
    "--engagement": LINE,
    "--case": LINE,
    "--facts": PARAGRAPHS,
    "--nexus": PARAGRAPHS,
    "--qualifications": PARAGRAPHS,
    "--training": PARAGRAPHS,
}
"""Free-text options and their maximums, by option name (the same name means the same kind
of text in every command)."""


DEFAULTED = frozenset({"--agency"})
"""Options whose default stands for them: given empty, they are refused here."""


def checked(command: Any) -> Any:
    """Wrap every command under `command` (a Click command tree built by Typer) so that its
    free-text options are checked first; returns `command`."""
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for sub in subcommands.values():
            checked(sub)
        return command
    rules = {
        param.name: (param.opts[0], RULES[param.opts[0]])
        for param in command.params
        if param.opts and param.opts[0] in RULES
    }
    if rules and command.callback is not None:
        command.callback = _checking(command.callback, rules)
    return command


def _checking(
    callback: Callable[..., Any], rules: dict[str, tuple[str, Rule]]
) -> Callable[..., Any]:
    @functools.wraps(callback)
    def wrapper(**kwargs: Any) -> Any:
        for name, (option, rule) in rules.items():
            value = kwargs.get(name)
            if isinstance(value, str):
                kwargs[name] = _check(value, option, rule)
            elif isinstance(value, (list, tuple)):
                kwargs[name] = type(value)(
                    _check(v, option, rule) if isinstance(v, str) else v
                    for v in value
                )
        return callback(**kwargs)

    return wrapper


def _check(value: str, option: str, rule: Rule) -> str:
    """Length and characters; whether an empty value will do is the command's to say (with
    what the policy asks for instead), except for options in DEFAULTED."""
    if not value.strip() and option not in DEFAULTED:
        return value
    return text.check(value, option, rule.limit, multiline=rule.multiline)
