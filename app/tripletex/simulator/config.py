"""The Tripletex simulator's knobs: world size, paging, rate limit, faults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SimulatorConfig:
    """Everything that shapes one simulator instance; every field has a demo-friendly default."""

    seed: int = 1
    """Seeds all generated data."""
    vouchers_per_month: int = 12
    """Vouchers per month per demo company (before one is deleted)."""
    years: tuple[int, ...] = (2025, 2026)
    demo_world: bool = True
    """Create the demo firm, its key and three clients (see README); False: an empty world."""
    max_count: int = 10000
    """A larger ``count`` is refused (422)."""
    rate_limit: int = 2000
    """Calls per window per (employee token, consumer token)."""
    rate_window: int = 60
    """Window length in seconds (X-Rate-Limit-Reset counts down within it)."""
    retry_after_on_429: bool = True
    """Send Retry-After on 429 (invented; the real 429 has no X-Rate-Limit-Reset)."""
    error_rate: float = 0.0
    """Share of API calls answered 500 (deterministic given seed)."""
    latency: float = 0.0
