"""The Tripletex client over real HTTP against the simulator: keys, clients, errors, faults."""

from __future__ import annotations

import pytest
import responses

from app.tripletex.client import TripletexClient
from app.tripletex.errors import (
    AccessDenied,
    ConsumerTokenRejected,
    KeyRejected,
    Throttled,
    TripletexUnavailable,
    WrongEnvironment,
)
from app.tripletex.simulator.state import DEMO_CLIENTS


def test_firm_key_lists_its_three_clients_with_orgnr(make_client):
    clients = make_client().clients()

    assert [(c.name, c.organization_number) for c in clients] == list(DEMO_CLIENTS)
    assert all(c.username == str(c.id) for c in clients)


def test_each_client_is_read_with_its_id_as_username(make_client, sim):
    client = make_client()
    first, second = client.clients()[:2]

    accounts = list(client.company_api(first).stream("accounts").records())
    customers_1 = list(client.company_api(first).stream("customers").records())
    customers_2 = list(client.company_api(second.id).stream("customers").records())

    assert len(accounts) == len(sim.state.books(first.id).accounts)
    assert {c["id"] for c in customers_1} == set(sim.state.books(first.id).customers)
    assert {c["id"] for c in customers_2} == set(sim.state.books(second.id).customers)
    assert client.tokens.minted == 1  # one session serves every client


def test_single_company_key_gives_a_client_list_of_one_read_as_username_0(make_client, sim):
    client = make_client(sim.company_key)

    [company] = client.clients()

    assert company.name == "Enkeltmannsforetak Demo"
    assert company.username == "0"
    vouchers = list(client.company_api(company).stream("vouchers").records(
        {"dateFrom": "2025-01-01", "dateTo": "2027-01-01"}))
    assert len(vouchers) == len(sim.state.books(company.id).vouchers)


def test_key_from_another_environment_is_named_as_such(make_client, sim):
    with pytest.raises(WrongEnvironment) as caught:
        make_client(sim.wrong_environment_key).clients()

    assert caught.value.status == 422 and caught.value.code == 18000
    assert "annet Tripletex-miljø" in caught.value.user_message
    assert "consumerToken" in caught.value.detail()


def test_unknown_key_is_rejected_with_a_norwegian_message(make_client):
    with pytest.raises(KeyRejected) as caught:
        make_client("test-ikke-en-ekte-nokkel").who_am_i()

    assert caught.value.status == 404
    assert caught.value.user_message.startswith("Tripletex godtok ikke nøkkelen")


def test_revoked_key_kills_its_sessions_and_the_renewal_says_why(make_client, sim):
    client = make_client()
    client.who_am_i()
    sim.state.revoke_key(sim.firm_key)

    with pytest.raises(KeyRejected) as caught:  # the session 401s; minting anew is refused
        client.clients()
    assert caught.value.status == 422
    assert "employeeToken: Ugyldig eller utløpt ansattnøkkel" in caught.value.user_message
    assert client.tokens.minted == 1


def test_firm_session_as_itself_may_only_list_clients(make_client):
    client = make_client()
    client.clients()

    with pytest.raises(AccessDenied) as caught:
        client.get("/ledger/account")
    assert caught.value.status == 403 and caught.value.code == 9000


def test_client_whose_access_was_withdrawn_is_denied_and_unlisted(make_client, sim):
    client = make_client()
    lost = client.clients()[1]
    sim.state.set_client_access(sim.firm_key, lost.id, granted=False)

    with pytest.raises(AccessDenied):
        list(client.company_api(lost).stream("accounts").records())
    assert lost.id not in [c.id for c in client.clients()]


def test_5xx_is_retried_with_back_off(make_client, sim):
    sleeps: list[float] = []
    client = make_client(sleeps=sleeps)
    client.who_am_i()
    sim.state.set_faults(error_calls=2)

    assert client.who_am_i().company_id
    assert len(sleeps) == 2 and all(0 <= s <= 0.02 for s in sleeps)


def test_5xx_outlasting_the_retries_is_unavailable_with_tripletex_message(make_client, sim):
    client = make_client()
    client.who_am_i()
    sim.state.set_faults(error_calls=3)

    with pytest.raises(TripletexUnavailable) as caught:
        client.who_am_i()
    assert caught.value.status == 500 and caught.value.code == 1000
    assert "En feil har oppstått" in caught.value.message


def test_timeouts_are_retried(make_client, sim):
    client = make_client(read_timeout=0.2)
    client.who_am_i()
    sim.state.set_faults(timeout_calls=1, timeout_seconds=0.6)

    assert client.who_am_i().company_id
    assert client.api_calls == 4  # mint, whoAmI, the timed-out call, its retry


def test_429_waits_for_retry_after_then_succeeds(make_client, sim):
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # waiting moves the simulator's time
        waits.append(seconds)
        sim.state.advance_clock(seconds)

    client = make_client(sleep=sleep)
    sim.state.set_faults(rate_limit=3, rate_window=30)
    client.who_am_i()  # call 1 (minting is not counted)
    client.who_am_i()  # 2
    client.who_am_i()  # 3: Remaining 0, the client now waits for the reset before calling

    assert client.who_am_i().company_id
    assert waits and 25 <= waits[0] <= 30
    assert client.rate_limit.limit == 3


def test_429_without_retry_after_backs_off_and_gives_up_throttled(make_client, sim):
    sleeps: list[float] = []
    client = make_client(sleeps=sleeps)
    client.who_am_i()
    sim.state.set_faults(rate_limit=0, retry_after_on_429=False)

    with pytest.raises(Throttled) as caught:
        client.who_am_i()
    assert caught.value.status == 429
    assert client.rate_limit.throttled == 4  # the first answer and three retries
    assert "begrenser" in caught.value.user_message


def test_a_transport_failure_does_not_pretend_tripletex_said_it(make_client, sim):
    client = make_client(read_timeout=0.2)
    client.who_am_i()
    sim.state.set_faults(timeout_calls=3, timeout_seconds=0.5)

    with pytest.raises(TripletexUnavailable) as caught:
        client.who_am_i()
    assert caught.value.status is None and "ReadTimeout" in caught.value.message
    assert caught.value.user_message == "Tripletex svarer ikke akkurat nå. Vi prøver igjen senere."


def test_a_refused_consumer_token_is_an_operator_problem_not_the_customers():
    with responses.RequestsMock() as mocked:
        mocked.put("https://tripletex.test/v2/token/session/:create", status=403, json={
            "status": 403, "code": 9000, "message": "Ingen tilgang.", "requestId": "r"})
        client = TripletexClient(consumer_token="feil", employee_token="nokkel",
                                 api_url="https://tripletex.test/v2")
        with pytest.raises(ConsumerTokenRejected) as caught:
            client.who_am_i()

    assert caught.value.user_message.startswith("Tilkoblingen til Tripletex er feil satt opp")
    assert "Ingen tilgang." in caught.value.user_message
