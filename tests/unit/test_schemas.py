"""The committed JSON Schemas are generated from the models and must not drift."""

from __future__ import annotations

import json

from collector.evidence.schemas import render
from tests.helpers import REPO


def test_committed_schemas_match_models() -> None:
    for name, text in render().items():
        committed = (REPO / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, f"schemas/{name} is stale: run `collector schema`"


def test_metadata_schema_requires_evidence_fields() -> None:
    schema = json.loads(render()["metadata.schema.json"])
    for field in ("bundle_id", "case_number", "authorization", "operator", "capture", "artifacts"):
        assert field in schema["required"]
    artifact = schema["$defs"]["Artifact"]
    assert {"sha256", "sha512", "size", "mime_type"} <= set(artifact["required"])
