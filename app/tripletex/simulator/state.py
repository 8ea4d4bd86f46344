"""The simulated Tripletex world: companies, employee tokens (keys), sessions, limits, faults.

`SimulatorState` is what the API and the control API (`/_sim/...`) drive; tests in the same
process may call its public methods directly.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from app.visma.simulator.generator import random_orgnr

from .books import Books, Party, Voucher, generate
from .config import SimulatorConfig

OSLO = ZoneInfo("Europe/Oslo")
DEMO_CONSUMER_TOKEN = "test-sticos-consumer-demo"
DEMO_FIRM_KEY = "test-demo-regnskapskontor"
DEMO_COMPANY_KEY = "test-demo-enkeltselskap"
DEMO_PROD_KEY = "prod-demo-feil-miljo"
DEMO_FIRM = "Regnskapsbyrå Demo AS"
DEMO_CLIENTS = (("Fjordlys Rørlegger AS", "911223341"), ("Nordkapp Bakeri AS", "987123451"),
                ("Tindeklatring Utstyr AS", "934567897"))


class SimError(Exception):
    """A Tripletex error answer: status, code, message and validation messages."""

    def __init__(self, status: int, code: int, message: str,
                 validation: list[dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.validation = validation


def invalid(field: str, message: str, code: int = 18000) -> SimError:
    return SimError(422, code, "Validering feilet.", [{"field": field, "message": message}])


@dataclass
class Company:
    id: int
    name: str
    organization_number: str
    seed: int
    vouchers_per_month: int
    type: str = "AS"
    currency: str = "NOK"
    books: Books | None = None


@dataclass
class EmployeeKey:
    """A customer's employee token: an accountant firm's key (``firm``) reaches its clients."""

    token: str
    company_id: int
    employee_id: int
    environment: str = "test"
    firm: bool = False
    clients: list[int] = field(default_factory=list)
    revoked: bool = False


@dataclass
class Session:
    token: str
    key: str
    consumer: str
    expiration_date: dt.date
    deleted: bool = False


@dataclass
class Faults:
    """Runtime knobs; set through ``state.set_faults(...)`` or ``POST /_sim/faults``."""

    rate_limit: int
    rate_window: int
    retry_after_on_429: bool
    error_rate: float
    latency: float
    timeout_seconds: float = 0.0
    """API calls sleep this long (choose more than the client's read timeout)..."""
    timeout_calls: int = 0
    """...for the next this many calls."""
    unauthorized_calls: int = 0
    """The next this many API calls answer 401 as if the session had died."""
    error_calls: int = 0
    """The next this many API calls answer 500 (on top of ``error_rate``)."""
    max_count: int = 10000


class SimulatorState:
    """All mutable state of one simulator; thread-safe through one re-entrant lock."""

    def __init__(self, config: SimulatorConfig | None = None):
        self.config = config or SimulatorConfig()
        self.lock = threading.RLock()
        self._rng = random.Random(self.config.seed)
        self._fault_rng = random.Random(self.config.seed * 7919 + 3)
        self._clock_offset = dt.timedelta()
        self._next_id = 1000
        self.consumers: dict[str, str] = {DEMO_CONSUMER_TOKEN: "test"}
        self.companies: dict[int, Company] = {}
        self.keys: dict[str, EmployeeKey] = {}
        self.sessions: dict[str, Session] = {}
        self.windows: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
        self.faults = self._initial_faults()
        if self.config.demo_world:
            self._build_demo_world()

    # ---- clock ----

    def now(self) -> dt.datetime:
        """The simulator's UTC time (aware), shifted by advance_clock()."""
        return dt.datetime.now(dt.UTC) + self._clock_offset

    def today(self) -> dt.date:
        """Today in Oslo: sessions die at midnight Oslo time."""
        return self.now().astimezone(OSLO).date()

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self._clock_offset += dt.timedelta(seconds=seconds)

    # ---- world building ----

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_company(self, name: str, organization_number: str | None = None,
                    vouchers_per_month: int | None = None) -> Company:
        with self.lock:
            seed = self._rng.getrandbits(32) ^ self.config.seed
            company = Company(self._id() * 1000 + 7, name,
                              organization_number or _orgnr(seed), seed,
                              self.config.vouchers_per_month if vouchers_per_month is None
                              else int(vouchers_per_month))
            self.companies[company.id] = company
            return company

    def add_key(self, company_id: int, *, firm: bool = False, clients: list[int] | None = None,
                environment: str = "test", token: str | None = None) -> EmployeeKey:
        with self.lock:
            self.company(company_id)
            for client in clients or []:
                self.company(client)
            token = token or f"{'test-' if environment == 'test' else ''}{secrets.token_hex(16)}"
            key = EmployeeKey(token, company_id, self._id(), environment, firm,
                              list(clients or []))
            self.keys[token] = key
            return key

    def _build_demo_world(self) -> None:
        firm = self.add_company(DEMO_FIRM, "999888771", vouchers_per_month=2)
        clients = [self.add_company(name, orgnr) for name, orgnr in DEMO_CLIENTS]
        self.add_key(firm.id, firm=True, clients=[c.id for c in clients], token=DEMO_FIRM_KEY)
        single = self.add_company("Enkeltmannsforetak Demo", "812345672", vouchers_per_month=4)
        single.type = "ENK"
        self.add_key(single.id, token=DEMO_COMPANY_KEY)
        self.add_key(firm.id, firm=True, clients=[c.id for c in clients], environment="prod",
                     token=DEMO_PROD_KEY)

    # ---- look-ups ----

    def company(self, company_id: int) -> Company:
        company = self.companies.get(int(company_id))
        if company is None:
            raise SimError(404, 6000, "Object not found")
        return company

    def company_id(self, name: str) -> int:
        """The id of the company with this name (demo convenience)."""
        for company in self.companies.values():
            if company.name == name:
                return company.id
        raise SimError(404, 6000, f"No company named {name!r}.")

    def books(self, company_id: int) -> Books:
        """The company's books, generated on first use (deterministic from its seed)."""
        with self.lock:
            company = self.company(company_id)
            if company.books is None:
                books = Books(self.config.years, first_id=company.id * 100_000)
                generate(books, company.seed, company.vouchers_per_month, self.now())
                company.books = books
            return company.books

    def key(self, token: str) -> EmployeeKey:
        key = self.keys.get(token)
        if key is None:
            raise SimError(404, 6000, "Object not found")
        return key

    # ---- sessions ----

    def mint(self, consumer: str | None, employee: str | None, expiration: str | None) -> Session:
        """``PUT /token/session/:create``: the errors Tripletex gives, in its order."""
        with self.lock:
            if not expiration:
                raise invalid("expirationDate", "Kan ikke være null.")
            try:
                expiration_date = dt.date.fromisoformat(expiration)
            except ValueError:
                raise invalid("expirationDate", "Ugyldig dato.") from None
            environment = self.consumers.get(consumer or "")
            key = self.keys.get(employee or "")
            if environment is None or (key is not None and key.environment != environment):
                raise invalid("consumerToken", "The consumer token is invalid or does not exist.")
            if key is None:
                raise SimError(404, 6000, "Object not found")
            if key.revoked:
                raise invalid("employeeToken", "Ugyldig eller utløpt ansattnøkkel.")
            session = Session(f"{'test-' if environment == 'test' else ''}"
                              f"{secrets.token_urlsafe(24)}", key.token, consumer or "",
                              expiration_date)
            self.sessions[session.token] = session
            return session

    def session(self, token: str) -> tuple[Session, EmployeeKey]:
        """A live session and its key; 401 for unknown, deleted, expired or revoked ones."""
        with self.lock:
            session = self.sessions.get(token)
            if session is None or session.deleted or self.today() >= session.expiration_date:
                raise SimError(401, 3000, "Ugyldig eller utløpt sesjon.")
            key = self.keys[session.key]
            if key.revoked:
                raise SimError(401, 3000, "Ugyldig eller utløpt sesjon.")
            return session, key

    def acting_company(self, key: EmployeeKey, username: str, *, proxy_free: bool) -> Company:
        """Whose data a call reads: username 0/blank is the key's own company; a firm key's
        session as 0 may only call whoAmI and withLoginAccess (``proxy_free``)."""
        if username in ("", "0"):
            if key.firm and not proxy_free:
                raise SimError(403, 9000, "Regnskapskontorets nøkkel må brukes med klientens id "
                                          "som brukernavn.")
            return self.company(key.company_id)
        try:
            company_id = int(username)
        except ValueError:
            raise SimError(401, 3000, "Ugyldig brukernavn.") from None
        if company_id == key.company_id or (key.firm and company_id in key.clients):
            return self.company(company_id)
        raise SimError(403, 9000, "Du har ikke tilgang til denne klienten.")

    # ---- limits and faults ----

    def count_call(self, key: str, consumer: str) -> tuple[bool, int, int, int]:
        """Fixed window per (employee, consumer): (allowed, limit, remaining, seconds to reset)."""
        with self.lock:
            limit, window = self.faults.rate_limit, self.faults.rate_window
            now = self.now()
            start, count = self.windows.get((key, consumer), (now, 0))
            if (now - start).total_seconds() >= window:
                start, count = now, 0
            allowed = count < limit
            if allowed:
                count += 1
            self.windows[(key, consumer)] = (start, count)
            reset = max(1, int(window - (now - start).total_seconds() + 0.999))
            return allowed, limit, max(limit - count, 0), reset

    def take_fault(self) -> str | None:
        """Which fault this API call suffers: "unauthorized", "timeout", "error" or None."""
        with self.lock:
            f = self.faults
            if f.unauthorized_calls > 0:
                f.unauthorized_calls -= 1
                return "unauthorized"
            if f.timeout_calls > 0:
                f.timeout_calls -= 1
                return "timeout"
            if f.error_calls > 0:
                f.error_calls -= 1
                return "error"
            if f.error_rate > 0 and self._fault_rng.random() < f.error_rate:
                return "error"
            return None

    def _initial_faults(self) -> Faults:
        c = self.config
        return Faults(rate_limit=c.rate_limit, rate_window=c.rate_window,
                      retry_after_on_429=c.retry_after_on_429, error_rate=c.error_rate,
                      latency=c.latency, max_count=c.max_count)

    def set_faults(self, **changes) -> dict:
        with self.lock:
            known = set(asdict(self.faults))
            unknown = set(changes) - known
            if unknown:
                raise SimError(400, 4000, f"Unknown fault(s): {', '.join(sorted(unknown))}. "
                                          f"Known: {', '.join(sorted(known))}.")
            for name, value in changes.items():
                current = getattr(self.faults, name)
                try:
                    setattr(self.faults, name, type(current)(value))
                except (TypeError, ValueError):
                    raise SimError(400, 4000, f"Bad value for {name}: {value!r}.") from None
            self.windows.clear()
            return asdict(self.faults)

    def reset_faults(self) -> dict:
        with self.lock:
            self.faults = self._initial_faults()
            self._fault_rng = random.Random(self.config.seed * 7919 + 3)
            self.windows.clear()
            return asdict(self.faults)

    # ---- control: keys and data changes ----

    def revoke_key(self, token: str) -> None:
        """The customer deleted the key: minting fails, its sessions 401."""
        with self.lock:
            self.key(token).revoked = True

    def set_client_access(self, token: str, company_id: int, granted: bool) -> list[int]:
        """Grant or withdraw the firm key's access to one client (Klienttilgang)."""
        with self.lock:
            key = self.key(token)
            self.company(company_id)
            if granted and company_id not in key.clients:
                key.clients.append(company_id)
            if not granted and company_id in key.clients:
                key.clients.remove(company_id)
            return list(key.clients)

    def add_voucher(self, company_id: int, date: str, description: str,
                    postings: list[dict]) -> Voucher:
        """Post a balanced voucher: postings of {accountNumber, amount (kr, debit +),
        customerNumber?, supplierNumber?, description?}."""
        with self.lock:
            books = self.books(company_id)
            customers = {p.number: p.id for p in books.customers.values()}
            suppliers = {p.number: p.id for p in books.suppliers.values()}
            lines = []
            for p in postings:
                line = {"account": str(p["accountNumber"]),
                        "amount": round(float(p["amount"]) * 100)}
                if p.get("description"):
                    line["description"] = p["description"]
                if p.get("customerNumber") is not None:
                    line["customer"] = customers[int(p["customerNumber"])]
                if p.get("supplierNumber") is not None:
                    line["supplier"] = suppliers[int(p["supplierNumber"])]
                lines.append(line)
            try:
                return books.post(dt.date.fromisoformat(date), description, lines,
                                  when=self.now())
            except ValueError as exc:
                raise SimError(422, 18000, str(exc)) from None

    def delete_voucher(self, company_id: int, voucher_id: int) -> None:
        with self.lock:
            try:
                self.books(company_id).delete_voucher(int(voucher_id))
            except KeyError:
                raise SimError(404, 6000, "Object not found") from None

    def add_party(self, company_id: int, kind: str, name: str,
                  organization_number: str = "") -> Party:
        with self.lock:
            return self.books(company_id).add_party(kind, name, organization_number,
                                                    when=self.now())

    def update_party(self, company_id: int, kind: str, party_id: int, **changes) -> Party:
        with self.lock:
            try:
                return self.books(company_id).update_party(kind, int(party_id), when=self.now(),
                                                           **changes)
            except KeyError:
                raise SimError(404, 6000, "Object not found") from None


def _orgnr(seed: int) -> str:
    return random_orgnr(random.Random(seed))
