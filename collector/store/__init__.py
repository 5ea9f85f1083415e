"""One evidence store: configuration, the ledger and its schema, users and roles, bundles."""
