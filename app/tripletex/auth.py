"""Session tokens: minted from our consumer token and the customer's employee token.

A session dies at midnight (Europe/Oslo) at the start of its ``expirationDate``: minted with
today's date it is refused at once. We mint for ``valid_days`` ahead, renew when less than
``renew_margin`` is left, and mint once more when a call is answered 401. One session serves
every client of an accountant firm's key; only the Basic-auth username changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .errors import (
    WRONG_ENVIRONMENT_CODE,
    ApiError,
    ConsumerTokenRejected,
    KeyRejected,
    MalformedResponse,
    WrongEnvironment,
)
from .http import HttpClient, error_from, json_body

log = logging.getLogger(__name__)

OSLO = ZoneInfo("Europe/Oslo")
MINT_PATH = "/token/session/:create"


def oslo_now() -> dt.datetime:
    return dt.datetime.now(OSLO)


@dataclass(frozen=True)
class Session:
    token: str
    expiration_date: dt.date

    @property
    def expires_at(self) -> dt.datetime:
        """Midnight in Oslo at the start of ``expiration_date``: the session's last moment."""
        return dt.datetime.combine(self.expiration_date, dt.time(), tzinfo=OSLO)


class SessionTokens:
    """The current session for one (consumer token, employee token) pair; thread-safe."""

    def __init__(
        self,
        http: HttpClient,
        *,
        consumer_token: str,
        employee_token: str,
        valid_days: int = 2,
        renew_margin: dt.timedelta = dt.timedelta(hours=2),
        now: Callable[[], dt.datetime] = oslo_now,
    ) -> None:
        if valid_days < 1:
            raise ValueError("a session minted for today is dead on arrival: valid_days >= 1")
        self.http = http
        self._consumer_token = consumer_token
        self._employee_token = employee_token
        self.valid_days = valid_days
        self.renew_margin = renew_margin
        self.now = now
        self._lock = threading.Lock()
        self._session: Session | None = None
        self.minted = 0

    def __repr__(self) -> str:  # never the tokens themselves
        return f"SessionTokens(expires={self._session and self._session.expiration_date})"

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the current session dies (None before the first mint)."""
        session = self._session
        return session.expires_at if session else None

    def token(self, reject: str | None = None) -> str:
        """The session token to use; a new one when it is about to expire or after a 401
        on ``reject`` (a token another thread already replaced is not minted twice)."""
        with self._lock:
            session = self._session
            stale = session is None or self.now() + self.renew_margin >= session.expires_at
            if stale or (reject is not None and session.token == reject):
                self._session = session = self._mint()
            return session.token

    def _mint(self) -> Session:
        expiration = self.now().date() + dt.timedelta(days=self.valid_days)
        response = self.http.request(
            "PUT", MINT_PATH, log_params=False,
            params={"consumerToken": self._consumer_token,
                    "employeeToken": self._employee_token,
                    "expirationDate": expiration.isoformat()},
        )
        if response.status_code >= 400:
            raise mint_error(response)
        value = json_body(response)
        token = value.get("value", {}).get("token") if isinstance(value, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponse("Tripletex returnerte ingen sesjonsnøkkel.",
                                    status=response.status_code)
        self.minted += 1
        log.info("Tripletex session minted, valid until %s", expiration)
        return Session(token, expiration)


def mint_error(response) -> Exception:
    """The typed error for a refused ``:create`` (what a pasted key's user will read)."""
    status = response.status_code
    error = error_from(response, ApiError)
    fields = {item.get("field") for item in error.validation}
    if status == 422 and error.code == WRONG_ENVIRONMENT_CODE and "consumerToken" in fields:
        return error_from(response, WrongEnvironment)
    if status in (404, 422):
        return error_from(response, KeyRejected)
    if status in (401, 403):
        return error_from(response, ConsumerTokenRejected)
    return error
