"""The simulator's memory across restarts of `make run`: who consented, the grants and refresh
tokens, the App Store permissions per company, the signing key and the clock, kept in a JSON
file (``instance/visma-simulator.json``).

Without it a restarted simulator has forgotten every grant, so every demo integration in the
kept database would need a new connection. The world itself (users, companies, their books)
is rebuilt from the seed, so only what people did to it is stored; a file written for another
seed is ignored. Data mutations made through the control API are not kept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask, request

from .state import Grant, RefreshToken, SimulatorState

log = logging.getLogger(__name__)

FORMAT = 1
# Used refresh tokens are only needed for replay detection within the grace period.
KEEP_USED_REFRESH_TOKENS = dt.timedelta(days=1)


def snapshot(state: SimulatorState) -> dict:
    """What a restart must not forget, as JSON-ready data."""
    with state.lock:
        now = state.now()
        return {
            "format": FORMAT,
            "seed": state.config.seed,
            "signing_key": state.signer._key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
            "kid": state.signer.kid,
            "clock_offset_seconds": state._clock_offset.total_seconds(),
            "last_tick": state._last_tick.isoformat(),
            "approved": {tenant: sorted(company.approved)
                         for tenant, company in state.companies.items()},
            "consents": sorted([sub, client_id] for sub, client_id in state.consents),
            "grants": [_dates_to_text(asdict(grant)) for grant in state.grants.values()],
            "refresh_tokens": {
                token: _dates_to_text(asdict(record))
                for token, record in state.refresh_tokens.items()
                if record.consumed is None or now - record.consumed < KEEP_USED_REFRESH_TOKENS
            },
        }


def restore(state: SimulatorState, data: dict) -> bool:
    """Put a snapshot back into a freshly built state; False (nothing changed) when it was
    written for another world."""
    if data.get("format") != FORMAT or data.get("seed") != state.config.seed:
        return False
    with state.lock:
        # TokenSigner has no loading constructor; the access tokens the app holds must verify.
        state.signer._key = serialization.load_pem_private_key(
            data["signing_key"].encode("ascii"), password=None)
        state.signer.kid = data["kid"]
        state._clock_offset = dt.timedelta(seconds=data["clock_offset_seconds"])
        state._last_tick = dt.datetime.fromisoformat(data["last_tick"])
        for tenant, apps in data["approved"].items():
            if tenant in state.companies:
                state.companies[tenant].approved = set(apps)
        state.consents = {(sub, client_id) for sub, client_id in data["consents"]}
        state.grants = {g["grant_id"]: Grant(**_text_to_dates(g, "started"))
                        for g in data["grants"]}
        state.refresh_tokens = {
            token: RefreshToken(**_text_to_dates(r, "created", "consumed"))
            for token, r in data["refresh_tokens"].items() if r["grant_id"] in state.grants
        }
    return True


class StateFile:
    """Loads the state from ``path`` once, then writes it whenever it changed."""

    def __init__(self, state: SimulatorState, path: str | os.PathLike):
        self.state = state
        self.path = Path(path)
        self._written: str | None = None
        self._lock = threading.Lock()

    def load(self) -> bool:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            log.warning("Ignoring the simulator's saved state in %s: %s", self.path, exc)
            return False
        try:
            restored = restore(self.state, data)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("Ignoring the simulator's saved state in %s: %s", self.path, exc)
            return False
        if restored:
            self._written = json.dumps(snapshot(self.state), sort_keys=True)
        return restored

    def save(self) -> None:
        text = json.dumps(snapshot(self.state), sort_keys=True)
        with self._lock:
            if text == self._written:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a stop in the middle never leaves half a file behind.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".visma-simulator-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
            self._written = text


def keep_on_disk(app: Flask, state: SimulatorState, path: str | os.PathLike) -> StateFile:
    """Restore ``state`` from ``path`` and save it after every sign-in, consent, token and
    App Store request (ERP API calls change none of it)."""
    state_file = StateFile(state, path)
    state_file.load()

    @app.after_request
    def save_state(response):
        if not request.path.startswith("/api/"):
            state_file.save()
        return response

    return state_file


def _dates_to_text(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in values.items()}


def _text_to_dates(values: dict, *names: str) -> dict:
    return {k: dt.datetime.fromisoformat(v) if k in names and v else v for k, v in values.items()}
