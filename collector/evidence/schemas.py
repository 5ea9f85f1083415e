"""JSON Schema files generated from the pydantic models (kept in schemas/)."""

from __future__ import annotations

import json
from pathlib import Path

from collector.evidence.model import Metadata

SCHEMAS = {"metadata.schema.json": Metadata}


def render() -> dict[str, str]:
    """File name → schema text, deterministic."""
    out = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://collector.invalid/schemas/{name}"
        out[name] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return out


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
