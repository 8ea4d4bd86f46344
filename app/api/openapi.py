"""The OpenAPI 3.1 document of /api/v1, built from the same parameter lists the views parse
with (`resources.endpoints()`), so documented and accepted parameters cannot drift apart.
A data set's row schema follows from its model's columns (`resources.Listing.fields`); the
clients' are written here to match `resources.py`. Tests validate real responses."""

from app.accounting.models import BY_NAME
from app.api import resources
from app.api.params import MAX_INT, MAX_LIMIT
from app.integrations.models import System

DATETIME = {"type": ["string", "null"], "format": "date-time"}
MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "Decimal, 2 places."}


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
    }


def _list_of(ref: str) -> dict:
    return _obj(
        {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        }
    )


def schemas() -> dict:
    found = {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "invalid_params": {
                    "type": "array",
                    "items": _obj({"name": {"type": "string"}, "reason": {"type": "string"}}),
                },
            },
            "required": ["type", "title", "status", "detail"],
        },
        "Client": _obj(
            {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "orgnr": {"type": ["string", "null"]},
                "orgnr_valid": {"type": "boolean"},
                "active": {"type": "boolean"},
                "reachable": {"type": "boolean"},
                "system": {
                    "type": "string",
                    "enum": [system.value for system in System],
                    "description": "The accounting system the client is read from; every "
                    "system's data has the same shapes.",
                },
                "customer": _obj({"id": {"type": "integer"}, "name": {"type": "string"}}),
                "integration": _obj({"id": {"type": "integer"}, "system": {"type": "string"}}),
                "last_successful_sync_at": DATETIME
                | {"description": "When the stored copy last became equal to the source."},
                "last_sync_at": DATETIME | {"description": "The latest sync attempt, any result."},
                "last_sync_result": {
                    "type": ["string", "null"],
                    "enum": ["succeeded", "warnings", "failed", None],
                },
                "freshness": {
                    "type": "object",
                    "description": "Per data set: when it was last synced successfully.",
                    "additionalProperties": DATETIME,
                },
            }
        ),
        "ClientList": _list_of("Client"),
    }
    for listing in resources.listings():
        found[listing.schema] = _row_schema(listing.fields + resources.COMMON_FIELDS)
        found[f"{listing.schema}List"] = _list_of(listing.schema)
    in_batch = [
        f for f in resources.lines_in_batches().fields if f.name not in resources.LINE_REPEATS
    ]
    found["JournalLineInBatch"] = _row_schema(in_batch + resources.COMMON_FIELDS, deleted=False)
    batches = resources.Listing(BY_NAME[resources.BATCHES_WITH_LINES]).schema
    found[batches]["properties"]["lines"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/JournalLineInBatch"},
    }
    found[batches]["required"].append("lines")
    return found


KINDS = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "money": MONEY,
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
}
"""The schema of each JSON kind of `resources.Field`; a nullable kind ("string?") adds null."""


def _kind(kind: str) -> dict:
    schema = KINDS[kind.rstrip("?")]
    return schema | {"type": [schema["type"], "null"]} if kind.endswith("?") else schema


def _row_schema(fields, *, deleted: bool = True) -> dict:
    properties = {f.name: _kind(f.kind) for f in fields}
    if deleted:
        properties["deleted"] = {
            "type": "boolean",
            "description": "Deleted at the source (only with changed_since).",
        }
    return _obj(properties)


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


ERRORS = {
    "400": _problem("Invalid, unknown or repeated query parameter, or a foreign cursor."),
    "401": _problem("Missing, unknown or revoked API key."),
    "403": _problem("The key lacks the 'read' scope."),
    "404": _problem("No such resource, or not visible to this key."),
    "429": _problem("Rate limit exceeded; see the Retry-After header."),
    "500": _problem("Unexpected error."),
    "503": _problem("The database is unreachable for now; retry after Retry-After seconds."),
}

CLIENT_ID = {
    "name": "client_id",
    "in": "path",
    "required": True,
    "description": "The client's id (from /clients).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
}


def _operation(endpoint: "resources.Endpoint") -> dict:
    parameters = [CLIENT_ID] if "{client_id}" in endpoint.path else []
    parameters += [param.openapi() for param in endpoint.params]
    ok = {
        "description": "OK",
        "headers": {
            "ETag": {
                "schema": {"type": "string"},
                "description": "Send it back as If-None-Match to get 304.",
            }
        },
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{endpoint.schema}"}}
        },
    }
    return {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "description": endpoint.description,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": {
            "200": ok,
            "304": {"description": "Not modified (If-None-Match matched)."},
            **ERRORS,
        },
    }


DESCRIPTION = f"""Read Sticos customers' synced accounting data (regnskapsdata), per client.

* **Auth:** `Authorization: Bearer <API key>`; keys are created and revoked by Sticos operators
  in the admin panel. A key limited to one customer sees only that customer's clients.
* **Paging:** lists return `data` and `next_cursor`; pass `cursor=<next_cursor>` (other
  parameters unchanged) until it is null. Order is by `id`, which is never reused, so a walk
  has no duplicates and no gaps even while a sync writes; rows added meanwhile come at the end.
  `limit` is at most {MAX_LIMIT}.
* **Consistency:** a reader sees the previous complete copy of a client's data until a full sync
  has committed the new one, never a half-finished one.
* **Incremental reads:** `changed_since` returns rows whose `changed_at` is later, including rows
  deleted at the source (`"deleted": true`, other fields as they were last seen).
* **Caching:** every 200 has an `ETag`; send it as `If-None-Match` to get 304 when unchanged.
* **Errors:** RFC 9457 `application/problem+json`. Unknown query parameters are a 400.
* **Rate limit:** per key per minute; over it → 429 with `Retry-After` (seconds).
* Money is a decimal string with two places; times are UTC (RFC 3339, `Z`).
"""


def document() -> dict:
    paths: dict = {}
    for endpoint in resources.endpoints():
        paths.setdefault("/api/v1" + endpoint.path, {})["get"] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ErpIntegrasjon read API",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from the admin panel.",
                }
            },
            "schemas": schemas(),
        },
    }
