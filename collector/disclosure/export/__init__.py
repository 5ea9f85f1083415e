"""Exports for a recipient: building the signed zip, and verifying it with no store."""
