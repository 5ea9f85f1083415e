"""policy commands."""
