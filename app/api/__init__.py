"""The read API for Sticos products at /api/v1/: API keys, JSON, problem+json errors.

Where a request goes: `views.py` (the blueprint; hooks: key check, rate limit; routes) →
`resources.py` (what each endpoint selects, through the store's visibility helper) →
`paging.py` (cursor, ETag, JSON). `openapi.py` describes the same endpoints from the same
parameter lists. Keys: `models.py`, `operations.py` (create/revoke, audited); the operator page is
`app/admin/api_keys.py`.
"""
