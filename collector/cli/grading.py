"""grading commands."""
