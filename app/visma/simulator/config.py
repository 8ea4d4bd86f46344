"""The simulator's knobs: world size, paging, throttling, token lifetimes and initial faults."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 24 * 3600


@dataclass
class SimulatorConfig:
    """Everything that shapes one simulator instance; every field has a demo-friendly default."""

    seed: int = 1
    """Seeds all generated data (and the deterministic 500-fault sequence)."""
    journal_lines: int = 2000
    """Journal lines per demo company (exact); a company added later may choose its own size."""
    years: tuple[int, ...] = (2025, 2026)
    """Financial years; each has 12 monthly periods."""
    demo_world: bool = True
    """Create the demo users, companies and app (see README); False gives an empty world."""

    default_page_size: int = 100
    """Rows per page when a paged endpoint is called without pageSize."""
    max_page_size: int = 1000
    """A larger pageSize is silently clamped to this."""

    throttle_limit: int = 15000
    """Requests per window per (client_id, tenant)."""
    throttle_window: int = 3600
    """Fixed window length in seconds."""

    access_token_lifetime: int = 3600
    code_lifetime: int = 300
    refresh_sliding_lifetime: int = 30 * DAY
    """A refresh token expires when unused this long."""
    refresh_absolute_lifetime: int = 365 * DAY
    """A grant's refresh tokens stop working this long after the user consented."""
    refresh_grace_period: int = 60
    """Seconds during which a used one-time refresh token may be presented again (a retried
    exchange). Visma Connect offers 5-60 s (off when unset); 60 is what our app is set to."""

    error_rate: float = 0.0
    """Share of ERP API calls answered with a 500 (deterministic given seed)."""
    latency: float = 0.0
    """Seconds every ERP API call takes at least: the network's and Visma's time per call,
    within which the simulator does its own work (a real call's server time is part of its
    latency; added on top, the simulator's Python would count twice)."""

    issuer: str | None = None
    """Pin `iss` (and the discovery URLs) to this base URL; None: the host the request used."""
    secret_key: str | None = None
    """Signs the simulator's own session cookie; random per instance when None."""
