"""Audits: one report, over any period, of what the agency policy asks an auditor to see.

`build_report(store, start, end)` is pure: it reads the ledger, the custody logs and each
bundle's sealed `data/metadata.json` and returns an `AuditReport` (a pydantic model) of
fourteen sections. `render(report, fmt)` turns it into Markdown, JSON, CSV or a single
self-contained HTML file. `run_report(...)` is the command: it checks the role (an
auditor, supervisor or admin; anyone else is refused and recorded as `denied.audit`),
builds, renders, writes, and records the run as an `audit.report` ledger event.

The period is inclusive and in UTC dates; either end may be open. Event sections hold the
events whose ledger (or custody) time falls in the period. Owed reviews that are overdue
when the report is made are listed whatever the period (marked `in_period: false`), so a
narrow period never hides one. Retention, policy review and integrity describe the store as
it is when the report is made.

Values come from hostile web pages (titles) and from users (notes, reasons): the HTML is
rendered by Jinja2 with autoescaping and a Content-Security-Policy that allows no script
and no request; Markdown and CSV cells are escaped for their formats (CSV cells that a
spreadsheet would run as a formula are prefixed with `'`). The title and note of a bundle
quarantined for protected-content review are withheld, and screening excerpts are never
shown: matches describe the page's text, never a person.

Modules: `model` (the report), `facts` (reading the store), `sections` (building each
section), `render` (the four formats), `run` (the command).
"""

from __future__ import annotations

from collector.disclosure.audit.model import FORMATS, AuditReport
from collector.disclosure.audit.render import render
from collector.disclosure.audit.run import parse_date, run_report
from collector.disclosure.audit.sections import build_report

__all__ = ["FORMATS", "AuditReport", "build_report", "parse_date", "render", "run_report"]
