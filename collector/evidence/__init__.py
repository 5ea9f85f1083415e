"""The evidence itself: the bundle format, its seal and verification, custody events, time.

Depends on nothing else in the package (but `collector.errors`), so anyone can read and
check a bundle with this folder alone.
"""
