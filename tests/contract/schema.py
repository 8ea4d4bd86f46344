"""Visma's published response schemas (the vendored subset), made strict, as validators."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import jsonschema_rs

SPEC = json.loads((Path(__file__).parent / "visma_openapi" / "visma-erp-subset.json").read_text())


def _strict(schema):
    """The schema with additionalProperties: false on every object that declares properties
    (placeholders the subset does not expand, ``x-subset-note``, accept any object)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


COMPONENTS = _strict(SPEC["components"])


@cache
def validator(path: str):
    """A validator of the 200 answer of GET ``path``: no field, type or enum outside Visma's."""
    response = SPEC["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return jsonschema_rs.Draft202012Validator({**response["schema"], "components": COMPONENTS})


def problems(path: str, body) -> list[str]:
    """Where ``body`` breaks the schema (empty when it conforms), at most 15."""
    return [f"{'/'.join(map(str, error.instance_path)) or '(root)'}: {error.message}"
            for error in validator(path).iter_errors(body)][:15]


def required_params(path: str) -> list[str]:
    """The query parameters Visma marks required on GET ``path``."""
    return [p["name"] for p in SPEC["paths"][path]["get"].get("parameters", [])
            if p.get("required")]
