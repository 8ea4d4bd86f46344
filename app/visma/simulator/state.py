"""The simulated world: apps, users, companies, grants, tokens, faults and the simulator's clock.

`SimulatorState` is what the control API (`/_sim/...`) drives; tests in the same process may call
its public methods directly (see README.md, "Python API").
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
import uuid
from dataclasses import asdict, dataclass, field

from .config import SimulatorConfig
from .generator import generate, random_orgnr
from .ledger import PLAIN, Conflict, Ledger, NotFound, Profile, SimError, fmt_ts
from .tokens import InvalidToken, TokenSigner

DEMO_CLIENT_ID = "sticos-regnskapsdata-demo"
DEMO_CLIENT_SECRET = "demo-secret"
DEMO_APP_NAME = "SticosRegnskapsdataTest"
DEMO_SERVICE_CLIENT_ID = "sticos-regnskapsdata-service"
DEMO_SERVICE_CLIENT_SECRET = "demo-service-secret"
MULTI_BRANCH = Profile(
    branches=(("1", "Oslo"), ("2", "Bergen")),
    subaccounts=(("100", "Butikk"), ("200", "Nettbutikk"), ("300", "Administrasjon")),
    budget=True, foreign_currency=True,
    sister_organizations=(("Fjordhandel Eiendom AS", "914778271"),))
DEMO_USER = "demo@visma.test"
DEMO_PASSWORD = "visma-demo"
SECOND_USER = "revisor@visma.test"

INTERACTIVE_READ = "vismanet_erp_interactive_api:read"
SERVICE_READ = "vismanet_erp_service_api:read"
ERP_READ_SCOPES = {INTERACTIVE_READ, SERVICE_READ}
INTERACTIVE_SCOPES = {"openid", "email", "profile", "offline_access", "tenants",
                      INTERACTIVE_READ, "vismanet_erp_interactive_api:create",
                      "vismanet_erp_interactive_api:update",
                      "vismanet_erp_interactive_api:delete"}
SERVICE_SCOPES = {SERVICE_READ}


class TokenError(Exception):
    """An OAuth error answered as JSON: {"error": code, "error_description": description}."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str] = field(default_factory=list)
    loopback_redirects: bool = True
    """Dev convenience: any http://127.0.0.1:<port>/... or http://localhost:<port>/... is allowed."""
    kind: str = "both"
    """"interactive" (authorization code only), "service" (client_credentials only), or "both"
    (a simulator convenience for tests; Visma's Developer Portal has no such application)."""
    partner: str | None = None
    """The other application of the same integration: an App Store approval covers both."""

    def allows(self, grant_type: str) -> bool:
        if self.kind == "both":
            return True
        service = grant_type == "client_credentials"
        return service == (self.kind == "service")

    def redirect_allowed(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        return self.loopback_redirects and (uri.startswith("http://127.0.0.1:")
                                            or uri.startswith("http://localhost:"))


@dataclass
class Company:
    tenant_id: str
    name: str
    corporate_id: str
    journal_lines: int
    seed: int
    created: dt.datetime
    approved: set[str] = field(default_factory=set)
    ledger: Ledger | None = None
    profile: Profile = PLAIN

    def organizations(self, expand_branches: bool = False) -> list[dict]:
        """``/v1/organization``: the company, then any sister organizations of the tenant."""
        rows = []
        for number, (name, corporate_id) in enumerate(
                ((self.name, self.corporate_id), *self.profile.sister_organizations), start=1):
            row = {
                "organizationCd": f"{number:02d}",
                "name": name,
                "organizationType": "Company",
                "fileTaxByBranches": len(self.profile.branches) > 1,
                "baseCurrency": "NOK",
                "corporateId": corporate_id,
                "vatRegistrationId": f"NO{corporate_id}MVA",
                "defaultCountry": {"id": "NO", "name": "Norge"},
                "currency": {"id": "NOK", "description": "Norske kroner", "symbol": "kr",
                             "isBaseCurrency": True, "decimalPrecision": 2,
                             "isUsedForAccounting": True},
                "lastModifiedDateTime": fmt_ts(self.created),
            }
            if expand_branches:
                row["branches"] = [{"number": code, "name": text}
                                   for code, text in self.profile.branches]
            rows.append(row)
        return rows


@dataclass
class User:
    sub: str
    email: str
    password: str
    given_name: str
    family_name: str
    companies: list[str]
    customer_tenant_id: str
    """The Visma customer (licence owner) tenant: not a company; tokens for it get 12027."""

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass
class RefreshToken:
    grant_id: str
    created: dt.datetime
    consumed: dt.datetime | None = None


@dataclass
class Grant:
    grant_id: str
    client_id: str
    sub: str
    scope: str
    started: dt.datetime
    nonce: str | None = None
    revoked: bool = False


@dataclass
class Faults:
    """Runtime knobs; set through `state.set_faults(...)` or `POST /_sim/faults`."""

    throttle_limit: int
    throttle_window: int
    error_rate: float
    latency: float
    timeout_seconds: float = 0.0
    """ERP calls sleep this long (choose more than the client's read timeout)..."""
    timeout_calls: int = 0
    """...for the next this many calls (0: the timeout fault is off)."""
    malformed_pages: int = 0
    """The next this many list calls answer 200 with invalid JSON."""
    lines_without_account: list = field(default_factory=list)
    """Batch numbers whose first journal line the API serves without ``accountNumber``."""
    lost_token_answers: int = 0
    """The next this many refresh exchanges take effect (the token rotates) but answer only
    after ``timeout_seconds``, later than the client waits: a lost answer."""
    default_page_size: int = 100
    max_page_size: int = 1000
    access_token_lifetime: int = 3600
    refresh_grace_period: int = 60
    refresh_sliding_lifetime: int = 30 * 86400
    refresh_absolute_lifetime: int = 365 * 86400


class SimulatorState:
    """All mutable state of one simulator instance; thread-safe through one re-entrant lock."""

    def __init__(self, config: SimulatorConfig | None = None):
        self.config = config or SimulatorConfig()
        self.lock = threading.RLock()
        self.signer = TokenSigner()
        self._rng = random.Random(self.config.seed)
        self._fault_rng = random.Random(self.config.seed * 7919 + 1)
        self._clock_offset = dt.timedelta()
        self._last_tick = dt.datetime(1970, 1, 1)
        self.apps: dict[str, App] = {}
        self.companies: dict[str, Company] = {}
        self.users: dict[str, User] = {}
        self.codes: dict[str, dict] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.consents: set[tuple[str, str]] = set()
        self.throttle: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
        self.faults = self._initial_faults()
        if self.config.demo_world:
            self._build_demo_world()

    # ---- clock ----

    def now(self) -> dt.datetime:
        """The simulator's UTC time (naive), shifted by advance_clock(); millisecond resolution."""
        value = dt.datetime.now(dt.UTC).replace(tzinfo=None) + self._clock_offset
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def tick(self) -> dt.datetime:
        """now(), but strictly later than the previous tick: the stamp of a data change."""
        with self.lock:
            value = self.now()
            if value <= self._last_tick:
                value = self._last_tick + dt.timedelta(milliseconds=1)
            self._last_tick = value
            return value

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's time forward (tokens expire, throttle windows reset)."""
        with self.lock:
            self._clock_offset += dt.timedelta(seconds=seconds)

    def epoch(self) -> int:
        return int(self.now().replace(tzinfo=dt.UTC).timestamp())

    # ---- world building ----

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_app(self, client_id: str, client_secret: str, name: str,
                redirect_uris: list[str] | None = None, kind: str = "both",
                partner: str | None = None) -> App:
        with self.lock:
            app = App(client_id, client_secret, name, list(redirect_uris or []), kind=kind,
                      partner=partner)
            self.apps[client_id] = app
            return app

    def _with_partner(self, client_id: str) -> set[str]:
        app = self.apps.get(client_id)
        return {client_id, app.partner} if app and app.partner else {client_id}

    def add_user(self, email: str, password: str, given_name: str, family_name: str,
                 companies: list[str] | None = None) -> dict:
        """A Visma user reaching the given company tenant ids."""
        with self.lock:
            if email.lower() in self.users:
                raise Conflict(f"User {email} already exists.")
            for tenant_id in companies or []:
                self.company(tenant_id)
            user = User(self._uuid(), email.lower(), password, given_name, family_name,
                        list(companies or []), self._uuid())
            self.users[user.email] = user
            return self.user_json(user)

    def add_company(self, name: str, corporate_id: str | None = None,
                    journal_lines: int | None = None, users: list[str] | None = None,
                    approved: bool = False, client_id: str = DEMO_CLIENT_ID,
                    tenant_id: str | None = None, profile: Profile = PLAIN) -> dict:
        """Create a company (tenant), reachable by the given user emails, optionally approved."""
        with self.lock:
            tenant_id = tenant_id or self._uuid()
            if tenant_id in self.companies:
                raise Conflict(f"Tenant {tenant_id} already exists.")
            seed = self._rng.getrandbits(32) ^ self.config.seed
            corporate_id = str(corporate_id or random_orgnr(random.Random(seed)))
            lines = self.config.journal_lines if journal_lines is None else int(journal_lines)
            company = Company(tenant_id, name, corporate_id, max(lines, 0), seed,
                              dt.datetime(2024, 11, 1, 9, 0) + dt.timedelta(
                                  minutes=len(self.companies)), profile=profile)
            self.companies[tenant_id] = company
            for email in users or []:
                self.user(email).companies.append(tenant_id)
            if approved:
                company.approved |= self._with_partner(client_id)
            return self.company_json(company)

    def _build_demo_world(self) -> None:
        # One integration, two Developer Portal applications (as a production install has).
        self.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_APP_NAME, kind="interactive",
                     partner=DEMO_SERVICE_CLIENT_ID)
        self.add_app(DEMO_SERVICE_CLIENT_ID, DEMO_SERVICE_CLIENT_SECRET,
                     DEMO_APP_NAME + " (service)", kind="service", partner=DEMO_CLIENT_ID)
        self.add_user(DEMO_USER, DEMO_PASSWORD, "Demo", "Bruker")
        self.add_user(SECOND_USER, DEMO_PASSWORD, "Rita", "Revisor")
        demo = [DEMO_USER]
        both = [DEMO_USER, SECOND_USER]
        self.add_company("TrekkSpill", "222333444", users=demo, approved=True)
        self.add_company("Testing", "321321321", users=both, approved=True)
        self.add_company("Nordlys Regnskap AS", "915233112", users=demo, approved=True)
        self.add_company("Bakeriet på Hjørnet AS", "987654325", users=demo, approved=False)
        self.add_company("Havbris Eiendom AS", "912345688", users=demo, approved=False)
        self.add_company("Sjøbris Sjømat AS", "999888771", users=[SECOND_USER], approved=True)
        self.add_company("Fjellheim Hytteutleie AS", "923456783", users=[SECOND_USER],
                         approved=False)
        self.add_company("Fjordhandel Gruppen AS", "914778263", users=[SECOND_USER],
                         approved=True, profile=MULTI_BRANCH)

    # ---- look-ups ----

    def company(self, tenant_id: str) -> Company:
        company = self.companies.get(tenant_id)
        if company is None:
            raise NotFound(f"Tenant {tenant_id} not found.")
        return company

    def user(self, email_or_sub: str) -> User:
        user = self.users.get(email_or_sub.lower())
        if user is None:
            user = next((u for u in self.users.values() if u.sub == email_or_sub), None)
        if user is None:
            raise NotFound(f"User {email_or_sub} not found.")
        return user

    def ledger(self, tenant_id: str) -> Ledger:
        """The company's books, generated on first use (deterministic from the company's seed)."""
        with self.lock:
            company = self.company(tenant_id)
            if company.ledger is None:
                ledger = Ledger(self.config.years, self.tick, company.profile)
                generate(ledger, company.seed, company.journal_lines, self.tick())
                company.ledger = ledger
            return company.ledger

    def approved_companies(self, user: User, client_id: str) -> list[Company]:
        return [self.companies[t] for t in user.companies if client_id in self.companies[t].approved]

    def company_json(self, company: Company) -> dict:
        return {
            "tenantId": company.tenant_id,
            "name": company.name,
            "corporateId": company.corporate_id,
            "journalLines": company.journal_lines,
            "approvedApps": sorted(company.approved),
            "users": [u.email for u in self.users.values() if company.tenant_id in u.companies],
            "generated": company.ledger is not None,
        }

    def user_json(self, user: User) -> dict:
        return {"sub": user.sub, "email": user.email, "name": user.name,
                "companies": list(user.companies), "customerTenantId": user.customer_tenant_id}

    # ---- control operations ----

    def tenants(self) -> list[dict]:
        with self.lock:
            return [self.company_json(c) for c in self.companies.values()]

    def approve(self, tenant_id: str, client_id: str = DEMO_CLIENT_ID) -> dict:
        """Grant the app "Reading items" for the company (App Store *Integrer*)."""
        with self.lock:
            company = self.company(tenant_id)
            company.approved |= self._with_partner(client_id)
            return self.company_json(company)

    def withdraw(self, tenant_id: str, client_id: str = DEMO_CLIENT_ID) -> dict:
        """Withdraw the app's permission: ERP calls with tokens for this tenant get 403 12027."""
        with self.lock:
            company = self.company(tenant_id)
            company.approved -= self._with_partner(client_id)
            return self.company_json(company)

    def revoke_user_grants(self, email_or_sub: str, client_id: str | None = None) -> int:
        """Revoke the user's grants (all apps, or one): refresh tokens stop working, consent is gone.

        Access tokens already issued stay valid until they expire, as on Visma Connect.
        """
        with self.lock:
            user = self.user(email_or_sub)
            count = 0
            for grant in self.grants.values():
                if grant.sub == user.sub and not grant.revoked and \
                        (client_id is None or grant.client_id == client_id):
                    grant.revoked = True
                    count += 1
            self.consents = {c for c in self.consents
                             if not (c[0] == user.sub and (client_id is None or c[1] == client_id))}
            return count

    # Data mutations: each keeps balances consistent and advances lastModifiedDateTime.

    def _mutate(self, tenant_id: str, method: str, *args, **kwargs):
        with self.lock:
            return getattr(self.ledger(tenant_id), method)(*args, **kwargs)

    def add_account(self, tenant_id: str, number: str, description: str,
                    type: str | None = None, active: bool = True) -> dict:
        """A new account (type from the NS 4102 class when omitted)."""
        return self._mutate(tenant_id, "add_account", number, description, type, active)

    def update_account(self, tenant_id: str, number: str, *, description: str | None = None,
                       type: str | None = None, active: bool | None = None) -> dict:
        """Change or deactivate (active=False) an account."""
        return self._mutate(tenant_id, "update_account", number, description=description,
                            type=type, active=active)

    def delete_account(self, tenant_id: str, number: str) -> None:
        """Delete an account without transactions (Conflict otherwise); it leaves /v1/account."""
        return self._mutate(tenant_id, "delete_account", number)

    def add_voucher(self, tenant_id: str, lines: list[dict], *, transaction_date: str | None = None,
                    description: str = "Bilag", module: str = "GL") -> dict:
        """Post a balanced batch: lines of {accountNumber, debitAmount | creditAmount, ...}."""
        return self._mutate(tenant_id, "add_voucher", lines, transaction_date=transaction_date,
                            description=description, module=module)

    def void_voucher(self, tenant_id: str, batch_number: str) -> dict:
        """Status Voided: stays listed (newer lastModifiedDateTime) but leaves the balances."""
        return self._mutate(tenant_id, "void_voucher", batch_number)

    def delete_voucher(self, tenant_id: str, batch_number: str) -> None:
        """Remove a batch entirely (only a full pass of its period shows it is gone)."""
        return self._mutate(tenant_id, "delete_voucher", batch_number)

    def add_customer(self, tenant_id: str, name: str, corporate_id: str = "",
                     number: str | None = None, status: str = "Active") -> dict:
        return self._mutate(tenant_id, "add_party", "customer", name, corporate_id, number, status)

    def update_customer(self, tenant_id: str, number: str, **changes) -> dict:
        """changes: name, status (Active/Inactive/Hold), corporate_id."""
        return self._mutate(tenant_id, "update_party", "customer", number, **changes)

    def add_supplier(self, tenant_id: str, name: str, corporate_id: str = "",
                     number: str | None = None, status: str = "Active") -> dict:
        return self._mutate(tenant_id, "add_party", "supplier", name, corporate_id, number, status)

    def update_supplier(self, tenant_id: str, number: str, **changes) -> dict:
        """changes: name, status (Active/Inactive/Hold), corporate_id."""
        return self._mutate(tenant_id, "update_party", "supplier", number, **changes)

    def tenant_id(self, name: str) -> str:
        """The tenant id of the company with this name (demo convenience)."""
        for company in self.companies.values():
            if company.name == name:
                return company.tenant_id
        raise NotFound(f"No company named {name!r}.")

    def truth(self, tenant_id: str) -> dict:
        """What a correct full extraction of the tenant holds (see README: ground truth)."""
        with self.lock:
            data = self.ledger(tenant_id).truth()
            return {"organizations": self.company(tenant_id).organizations(), **data}

    def _initial_faults(self) -> Faults:
        c = self.config
        return Faults(throttle_limit=c.throttle_limit, throttle_window=c.throttle_window,
                      error_rate=c.error_rate, latency=c.latency,
                      default_page_size=c.default_page_size, max_page_size=c.max_page_size,
                      access_token_lifetime=c.access_token_lifetime,
                      refresh_grace_period=c.refresh_grace_period,
                      refresh_sliding_lifetime=c.refresh_sliding_lifetime,
                      refresh_absolute_lifetime=c.refresh_absolute_lifetime)

    def set_faults(self, **changes) -> dict:
        """Change runtime knobs (names as in Faults); unknown names are an error."""
        with self.lock:
            known = set(asdict(self.faults))
            unknown = set(changes) - known
            if unknown:
                raise SimError(f"Unknown fault(s): {', '.join(sorted(unknown))}. "
                               f"Known: {', '.join(sorted(known))}.")
            for name, value in changes.items():
                current = getattr(self.faults, name)
                try:
                    setattr(self.faults, name, type(current)(value))
                except (TypeError, ValueError) as exc:
                    raise SimError(f"Bad value for {name}: {value!r}.") from exc
            if "throttle_limit" in changes or "throttle_window" in changes:
                self.throttle.clear()
            return asdict(self.faults)

    def reset_faults(self) -> dict:
        """Back to the configured knobs, and throttle windows emptied."""
        with self.lock:
            self.faults = self._initial_faults()
            self._fault_rng = random.Random(self.config.seed * 7919 + 1)
            self.throttle.clear()
            return asdict(self.faults)

    # ---- per-call faults (used by the ERP API) ----

    def take_fault(self) -> str | None:
        """Which fault, if any, this ERP call suffers: "timeout", "error" or None."""
        with self.lock:
            if self.faults.timeout_calls > 0:
                self.faults.timeout_calls -= 1
                return "timeout"
            if self.faults.error_rate > 0 and self._fault_rng.random() < self.faults.error_rate:
                return "error"
            return None

    def take_lost_token_answer(self) -> bool:
        return self._take_counted("lost_token_answers")

    def take_malformed(self) -> bool:
        return self._take_counted("malformed_pages")

    def _take_counted(self, fault: str) -> bool:
        """Spend one of a counted fault ("the next N calls ..."); False when none is left."""
        with self.lock:
            left = getattr(self.faults, fault)
            if left > 0:
                setattr(self.faults, fault, left - 1)
            return left > 0

    def count_call(self, client_id: str, tenant_id: str, consume: bool = True) -> tuple[bool, int, int, int]:
        """Fixed-window throttle: (allowed, limit, remaining, seconds to reset)."""
        with self.lock:
            limit, window = self.faults.throttle_limit, self.faults.throttle_window
            now = self.now()
            key = (client_id, tenant_id)
            start, count = self.throttle.get(key, (now, 0))
            if (now - start).total_seconds() >= window:
                start, count = now, 0
            allowed = count < limit
            if consume and allowed:
                count += 1
            self.throttle[key] = (start, count)
            elapsed = (now - start).total_seconds()
            reset = max(1, int(window - elapsed + 0.999))
            return allowed, limit, max(limit - count, 0), reset

    # ---- OAuth ----

    def authenticate_client(self, client_id: str | None, secret: str | None) -> App:
        app = self.apps.get(client_id or "")
        if app is None or not secret or not secrets.compare_digest(app.client_secret, secret):
            raise TokenError("invalid_client", "Client authentication failed.", 401)
        return app

    def login(self, email: str, password: str) -> User | None:
        user = self.users.get((email or "").strip().lower())
        if user and secrets.compare_digest(user.password, password or ""):
            return user
        return None

    def interactive_tenant(self, user: User, client_id: str) -> str:
        """The token's tenant_id: the user's first company that approved the app."""
        approved = self.approved_companies(user, client_id)
        return approved[0].tenant_id if approved else user.customer_tenant_id

    def issue_access_token(self, client_id: str, tenant_id: str | None, scope: str, issuer: str,
                           sub: str | None = None) -> str:
        """A signed access token; tenant_id None leaves the claim out (no `tenants` scope)."""
        now = self.epoch()
        claims = {"iss": issuer, "aud": "https://api.finance.visma.net", "client_id": client_id,
                  "scope": scope, "iat": now, "nbf": now,
                  "exp": now + self.faults.access_token_lifetime, "jti": secrets.token_hex(8)}
        if tenant_id:
            claims["tenant_id"] = tenant_id
        if sub:
            claims["sub"] = sub
        return self.signer.sign(claims, typ="at+jwt")

    def issue_service_token(self, tenant_id: str, client_id: str = DEMO_SERVICE_CLIENT_ID,
                            issuer: str = "http://simulator") -> str:
        """Test helper: what client_credentials would return (no approval check)."""
        return self.issue_access_token(client_id, tenant_id, SERVICE_READ, issuer)

    def decode_access_token(self, token: str) -> dict:
        """Claims of a valid, unexpired access token; InvalidToken otherwise."""
        claims = self.signer.verify(token)
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.epoch():
            raise InvalidToken("expired")
        if "client_id" not in claims or "scope" not in claims:
            raise InvalidToken("not an access token")
        return claims

    def new_refresh_token(self, grant_id: str) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = RefreshToken(grant_id, self.now())
        return token

    def use_refresh_token(self, token: str, client_id: str) -> Grant:
        """Consume a one-time refresh token (replay outside the grace period revokes the grants)."""
        with self.lock:
            record = self.refresh_tokens.get(token or "")
            if record is None:
                raise TokenError("invalid_grant", "The refresh token is invalid.")
            grant = self.grants[record.grant_id]
            if grant.client_id != client_id:
                raise TokenError("invalid_grant", "The refresh token was issued to another client.")
            if grant.revoked:
                raise TokenError("invalid_grant", "The refresh token has been revoked.")
            now = self.now()
            f = self.faults
            if (now - grant.started).total_seconds() >= f.refresh_absolute_lifetime:
                raise TokenError("invalid_grant", "The refresh token has expired.")
            if record.consumed is not None:
                # A zero grace period tolerates nothing, even a replay within the same millisecond.
                grace = f.refresh_grace_period
                if grace > 0 and (now - record.consumed).total_seconds() <= grace:
                    return grant
                for other in self.grants.values():
                    if other.client_id == grant.client_id and other.sub == grant.sub:
                        other.revoked = True
                raise TokenError("invalid_grant",
                                 "The refresh token has already been used. All grants for this "
                                 "client and user have been revoked.")
            if (now - record.created).total_seconds() >= f.refresh_sliding_lifetime:
                raise TokenError("invalid_grant", "The refresh token has expired.")
            record.consumed = now
            return grant
