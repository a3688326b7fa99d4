"""JSON Schemas of every message, committed under protocol/schemas/ for other implementers.

A unit test regenerates them in memory and fails when the committed files differ, so a model
change cannot land without its schema.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from protocol.envelope import PROTOCOL_VERSION, Envelope
from protocol.messages import PAYLOAD_MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render_schemas() -> dict[str, str]:
    """File name -> JSON text, deterministic (sorted keys, trailing newline)."""
    out: dict[str, str] = {}
    models: list[tuple[str, type[BaseModel]]] = [("envelope", Envelope)]
    models += [(str(m.model_fields["type"].default), m) for m in PAYLOAD_MODELS]
    for name, model in models:
        schema = model.model_json_schema()
        schema["$comment"] = f"fengqiao protocol {PROTOCOL_VERSION}; generated, do not edit"
        out[f"{name}.schema.json"] = json.dumps(schema, ensure_ascii=False, indent=2,
                                                sort_keys=True) + "\n"
    return out


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
