"""Typed errors. Below the CLI nothing prints or exits: it raises one of these.

Each error class carries the process exit code the CLI maps it to.
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 4

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CollectorError):
    """Bad input from the user: a malformed URL, an unknown option value, a missing store."""

    exit_code = 2


class ReadOnlyStore(UsageError):
    """The store is on read-only media: what would have been recorded cannot be."""


class DamagedStore(UsageError):
    """A store file is missing or is not what it should be (a truncated or corrupt ledger)."""


class Refused(CollectorError):
    """The gate, a permission or an authentication said no. Recorded in the ledger."""

    exit_code = 3


class NavigationRefused(Refused):
    """The page led the browser outside what the capture may reach (scope, private network).

    Raised by the browser before anything is sealed; the capture records it as a refusal.
    """


class Interrupted(CollectorError):
    """Ctrl-C or SIGTERM during a command; the message says what was left behind."""

    exit_code = 130


class CaptureFailed(CollectorError):
    """A technical failure during capture or sealing; nothing was sealed."""

    exit_code = 4


class IntegrityError(CollectorError):
    """A hash, signature or chain did not check out."""

    exit_code = 1


class SigningInputError(UsageError):
    """A PDF or signing certificate that cannot be used: unreadable PDF, not PKCS#12,
    wrong passphrase, expired or not-for-signing certificate, an existing output file."""


EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_TECHNICAL = 4
EXIT_PURGED = 5  # verify: the bundle was purged under policy (tombstone and custody log intact)
