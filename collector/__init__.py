"""collector: capture public social-media pages as sealed, verifiable evidence bundles."""

__version__ = "0.1.0"
TOOL_NAME = "collector"
