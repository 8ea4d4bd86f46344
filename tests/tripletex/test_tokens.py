"""Session tokens: minted ahead, renewed before the midnight expiry and once on a 401."""

from __future__ import annotations

import datetime as dt

import pytest

from app.tripletex.auth import OSLO
from app.tripletex.errors import SessionRejected

from .conftest import basic


class Clock:
    """The client's idea of now (Oslo), moved by the test."""

    def __init__(self) -> None:
        self.value = dt.datetime.now(OSLO)

    def __call__(self) -> dt.datetime:
        return self.value


def test_session_is_renewed_before_its_midnight_expiry(make_client, sim):
    clock = Clock()
    client = make_client(now=clock)
    client.who_am_i()
    first = client.tokens.token()
    expires = client.tokens.expires_at

    # Two and a half hours before the session dies (for the client and the simulator alike).
    step = (expires - dt.timedelta(minutes=150)) - clock.value
    clock.value += step
    sim.state.advance_clock(step.total_seconds())
    client.who_am_i()
    assert client.tokens.minted == 1 and client.tokens.token() == first

    clock.value += dt.timedelta(hours=1)  # inside the 2-hour margin: renewed before any 401
    sim.state.advance_clock(3600)
    client.who_am_i()
    assert client.tokens.minted == 2 and client.tokens.token() != first

    sim.state.advance_clock(2 * 3600)  # past midnight: the first session is dead...
    gone = sim.app.test_client().get("/v2/token/session/>whoAmI", headers=basic("0", first))
    assert gone.status_code == 401 and gone.get_json()["code"] == 3000
    clock.value += dt.timedelta(hours=2)
    assert client.who_am_i().company_id  # ...and the client never met that 401
    assert client.tokens.minted == 2


def test_a_401_mints_a_new_session_once_and_retries(make_client, sim):
    client = make_client()
    client.who_am_i()
    sim.state.set_faults(unauthorized_calls=1)

    assert client.who_am_i().company_id
    assert client.tokens.minted == 2


def test_a_second_401_is_session_rejected_in_norwegian(make_client, sim):
    client = make_client()
    client.who_am_i()
    sim.state.set_faults(unauthorized_calls=2)

    with pytest.raises(SessionRejected) as caught:
        client.who_am_i()
    assert caught.value.status == 401 and caught.value.code == 3000
    assert caught.value.user_message.startswith("Tripletex avviste tilgangen")
    assert client.tokens.minted == 2


def test_mint_asks_for_a_date_ahead_never_today(make_client, sim):
    clock = Clock()
    client = make_client(now=clock)
    client.who_am_i()

    [session] = sim.state.sessions.values()
    assert session.expiration_date == clock.value.date() + dt.timedelta(days=2)
    with pytest.raises(ValueError):
        make_client(session_valid_days=0)
