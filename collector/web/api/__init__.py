"""The JSON API under `/api` (FastAPI, mounted in the application): read-only calls over the
same store functions and permission checks as the pages and the command line, for scripts
holding a per-user API token."""
