"""retention commands."""
