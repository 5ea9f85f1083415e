"""The ledger: users, keys, authorizations, bundles and the hash-chained event log."""

from collector.ledger.db import Ledger

__all__ = ["Ledger"]
