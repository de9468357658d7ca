"""schemathesis plumbing for `test_schemathesis.py`: auth, body signing, the decimal format, steering, checks.

- `install(schema)` gives a schema an auth provider that marks each case: a JWT sentinel where the
  operation needs the bearer token, a signature sentinel where it needs the body signature. `RunAuth` (a
  requests `AuthBase`, passed as `auth=` on every call) replaces them by the account's JWT and a real ed25519
  signature over `PreparedRequest.body`, the exact bytes requests sends. The auth probes of schemathesis
  (`ignored_auth`: no credentials, invalid credentials) drop or overwrite the sentinels, so they go out
  without valid credentials and must be refused.
- `decimal` (the spec's `format: decimal`) is registered with a strategy of plain-notation decimals.
- Positive cases that name a symbol are steered half of the time onto a listed market (new_order also onto
  tick-aligned, in-band values), so that the matching engine and the 200 answers get exercised instead of
  the `unknown symbol` rejection.
- Three custom checks: an order accepted by `new_order` can be found again; a schema-valid request is never
  refused by the mock's request validation (business 400s stay allowed); an accepted signed request is
  refused once its body changes by one byte.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
import schemathesis
from base58 import b58encode
from hypothesis import strategies as st
from nacl.signing import SigningKey
from schemathesis import GenerationMode

SENTINEL = "__SIGN_ME__"
JWT_SENTINEL = "__JWT__"
SIGN_VERSION = "v1"

#: Plain-notation decimals as the spec's `Decimal` pattern has them (the pattern filters negatives where the
#: schema wants `PositiveDecimal`). Realistic values first: tick-aligned quantities and prices near the marks.
REALISTIC_DECIMALS = ("0.001", "0.01", "0.1", "0.5", "1", "2", "10", "100", "4200", "4199.5", "121600", "121550.5")
DECIMAL_STRATEGY = st.one_of(
    st.sampled_from(REALISTIC_DECIMALS),
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,6})(\.[0-9]{1,6})?\Z"),
)
schemathesis.openapi.format("decimal", DECIMAL_STRATEGY)

#: The mock's markets (MockConfig defaults): symbol -> (min qty, mark price); qty tick 0.001, price tick 0.01.
MARKETS = {"BTC-USD": (Decimal("0.001"), Decimal("121600")), "ETH-USD": (Decimal("0.01"), Decimal("4200"))}
PRICE_TICK = Decimal("0.01")
_CL_ORD_SEQ = itertools.count(1)


@dataclass
class Identity:
    """A mock account: the JWT from `/mock/credentials`, bound to a fresh PyNaCl ed25519 key."""

    token: str
    user: str
    key: SigningKey


def new_identity(base_url: str) -> Identity:
    key = SigningKey.generate()
    answer = requests.post(
        f"{base_url}/mock/credentials", json={"public_key": b58encode(bytes(key.verify_key)).decode()}, timeout=10
    )
    answer.raise_for_status()
    return Identity(answer.json()["token"], answer.json()["user"], key)


@dataclass
class Tally:
    """What went over the wire, counted for the summary and the test's assertions."""

    cases: Counter[str] = field(default_factory=Counter)  # by run: positive, negative, stateful
    statuses: Counter[str] = field(default_factory=Counter)  # "METHOD path status", every response
    signed: Counter[str] = field(default_factory=Counter)  # "path status", signed requests only
    new_orders_accepted: int = 0  # signed new_order answered 200 with code 0
    orders_found: int = 0  # accepted orders the findable check looked up successfully
    tampered_refused: int = 0  # accepted signed requests resent with one more body byte and refused (401)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def summary(self) -> str:
        total = sum(self.cases.values())
        runs = ", ".join(f"{k} {v}" for k, v in sorted(self.cases.items()))
        signed = sum(self.signed.values())
        return (
            f"schemathesis against the mock: {total} cases ({runs}); {sum(self.statuses.values())} responses; "
            f"{signed} signed requests; {self.new_orders_accepted} signed new_order accepted (200, code 0); "
            f"{self.orders_found} accepted orders found again; {self.tampered_refused} accepted signed requests "
            "refused after a one-byte body change"
        )


#: The run's tally; the test module's fixture replaces it at start.
TALLY = Tally()


class RunAuth(requests.auth.AuthBase):
    """Fills the sentinels in: the account's JWT, and the signature of `v1,{id},{timestamp},{body}` computed
    over the exact bytes of the prepared request. Requests without a sentinel are sent unchanged."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if r.headers.get("Authorization") == f"Bearer {JWT_SENTINEL}":
            r.headers["Authorization"] = f"Bearer {self.identity.token}"
        if r.headers.get("x-request-signature") != SENTINEL:
            return r  # public operation, or an auth probe that removed/replaced the credentials: send as is
        body = r.body or b""
        if isinstance(body, str):  # never happens with json=, but keep the signed and the sent bytes equal
            body = body.encode("utf-8")
            r.body = body
            r.headers["Content-Length"] = str(len(body))
        request_id = str(uuid.uuid4())
        timestamp = str(time.time_ns() // 1_000_000)
        message = f"{SIGN_VERSION},{request_id},{timestamp},".encode() + body
        signature = base64.b64encode(self.identity.key.sign(message).signature).decode("ascii")
        r.headers["x-request-sign-version"] = SIGN_VERSION
        r.headers["x-request-id"] = request_id
        r.headers["x-request-timestamp"] = timestamp
        r.headers["x-request-signature"] = signature
        r.register_hook("response", _count_signed)
        return r


def _count_signed(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    path = (response.request.path_url or "").split("?")[0]
    accepted = False
    if path == "/api/new_order" and response.status_code == 200:
        try:
            accepted = response.json().get("code") == 0
        except ValueError:
            accepted = False
    with TALLY.lock:
        TALLY.signed[f"{path} {response.status_code}"] += 1
        TALLY.new_orders_accepted += accepted
    return response


def _security_kinds(case: schemathesis.Case) -> set[str]:
    """Scheme names of the operation's (single) security requirement, e.g. {"bearerAuth", "bodySignature"}."""
    definition = case.operation.definition.raw
    requirements = definition.get("security", case.operation.schema.raw_schema.get("security", []))
    return {name for requirement in requirements for name in requirement}


def install(schema: Any) -> None:
    """Register the schema-local auth provider and the steering hook.

    The provider only marks a case: `Authorization: Bearer JWT_SENTINEL`, plus `x-request-signature: SENTINEL`
    where the operation needs the body signature. Cases are built before the mock runs (the examples at
    collection time), so `RunAuth` puts the run's JWT and signature in at send time.
    """

    class StandXAuth:
        def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
            return JWT_SENTINEL

        def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
            kinds = _security_kinds(case)
            if "bearerAuth" in kinds:
                case.headers["Authorization"] = f"Bearer {data}"
            if "bodySignature" in kinds:
                case.headers["x-request-signature"] = SENTINEL

    # no caching provider and retry_on=[]: a 401 is reported as is, never "fixed" by re-auth and a replay
    schema.auth(refresh_interval=None, retry_on=[])(StandXAuth)
    schema.hooks.register_hook_with_name(steer_to_markets, "flatmap_case")


# ----------------------------------------------------------------------------------------- steering


def _on_tick(price: Decimal) -> Decimal:
    return price.quantize(PRICE_TICK)


@st.composite
def _business_valid_order(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    symbol = draw(st.sampled_from(sorted(MARKETS)))
    min_qty, mark = MARKETS[symbol]
    # leverage and margin_mode must equal the position's; other runs change those, so they are left out
    steered = {k: v for k, v in body.items() if k not in ("leverage", "margin_mode")}
    steered["symbol"] = symbol
    steered["qty"] = str(min_qty * draw(st.integers(1, 20)))
    steered.pop("cl_ord_id", None)
    if draw(st.integers(0, 3)):  # 3 in 4 carry a client order id (the link to query_order), unique per run
        steered["cl_ord_id"] = f"st-{next(_CL_ORD_SEQ)}-{uuid.uuid4().hex[:12]}"
    if body.get("order_type") == "limit":
        offset = Decimal(draw(st.integers(-500, 500))) / 10_000  # +-5 % of the mark (band +-30 %): some cross
        steered["price"] = str(_on_tick(mark * (1 + offset)))
    else:
        steered.pop("price", None)
    for name in ("tp_price", "sl_price"):
        if name in steered:
            steered[name] = str(_on_tick(mark * Decimal(draw(st.sampled_from(["0.8", "0.9", "1.1", "1.2"])))))
    return steered


def steer_to_markets(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy[Any]:
    """Half of the positive cases that name a symbol are steered onto the exchange's markets.

    A generated `symbol` matches the spec's pattern but is almost never listed, so without this nearly every
    market-data and account query would end in `unknown symbol` and their 200 answers would go unchecked. A
    steered case names BTC-USD or ETH-USD and impersonates no vault; a steered new_order also gets on-tick
    qty and prices inside the price band, a fresh cl_ord_id (or none) and no leverage/margin mode to match.
    Everything else stays as generated, and every steered case still matches the schema. The other half,
    negative cases and operations without a symbol are left alone, so the negative run keeps its violations.
    """
    meta = case.meta
    if context.operation is None or meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return st.just(case)
    in_body = isinstance(case.body, dict) and "symbol" in case.body
    in_query = isinstance(case.query, dict) and "symbol" in case.query
    if not (in_body or in_query):
        return st.just(case)
    is_new_order = context.operation.path == "/api/new_order" and in_body

    @st.composite
    def steered(draw: st.DrawFn) -> schemathesis.Case:
        if is_new_order:
            case.body = draw(_business_valid_order(case.body))
        else:
            symbol = draw(st.sampled_from(sorted(MARKETS)))
            if in_body:
                case.body = {**case.body, "symbol": symbol}
            if in_query:
                case.query = {**case.query, "symbol": symbol}
        case.headers.pop("x-impersonate", None)
        return case

    return st.one_of(st.just(case), steered())


# ------------------------------------------------------------------------------------------- checks


def _base_url(response: schemathesis.Response) -> str:
    url = response.request.url or ""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _jwt_user(authorization: str) -> str:
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["user"])


#: Order ids already matched to an accepted new_order without cl_ord_id (per user).
_ATTRIBUTED: dict[str, set[int]] = {}


@schemathesis.check
def accepted_order_is_findable(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """An order that `new_order` accepted (200, code 0) exists afterwards for the same account."""
    if case.operation.path != "/api/new_order" or case.method.upper() != "POST" or response.status_code != 200:
        return None
    if response.json().get("code") != 0:
        return None
    sent = json.loads(response.request.body or b"{}")
    authorization = response.request.headers["Authorization"]
    base = _base_url(response)
    cl_ord_id = sent.get("cl_ord_id")
    if cl_ord_id is not None:
        found = requests.get(
            f"{base}/api/query_order",
            params={"cl_ord_id": cl_ord_id},
            headers={"Authorization": authorization},
            timeout=10,
        )
        assert found.status_code == 200, (
            f"order {cl_ord_id!r} accepted by new_order, but query_order answered {found.status_code}: {found.text}"
        )
        order = found.json()
        assert order["cl_ord_id"] == cl_ord_id, f"query_order({cl_ord_id!r}) returned {order['cl_ord_id']!r}"
    else:
        user = _jwt_user(authorization)
        listed = requests.get(f"{base}/mock/orders", params={"user": user}, timeout=10).json()["result"]
        attributed = _ATTRIBUTED.setdefault(user, set())
        candidates = [
            o
            for o in listed
            if o["source"] == "user"
            and o["id"] not in attributed
            and o["symbol"] == sent["symbol"]
            and o["side"] == sent["side"]
            and o["order_type"] == sent["order_type"]
            and Decimal(o["qty"]) == Decimal(sent["qty"])
        ]
        assert candidates, f"an order accepted by new_order without cl_ord_id is not in /mock/orders: {sent}"
        order = max(candidates, key=lambda o: o["id"])
        attributed.add(order["id"])
    assert order["symbol"] == sent["symbol"] and order["side"] == sent["side"], (
        f"the stored order differs from the accepted one: sent {sent}, stored {order}"
    )
    assert Decimal(order["qty"]) == Decimal(sent["qty"]), f"qty sent {sent['qty']}, stored {order['qty']}"
    with TALLY.lock:
        TALLY.orders_found += 1
    return True


#: 400 messages of the mock's spec validation (standx_mock.spec.RequestInvalid). The `x-standx-*` rules the
#: schema cannot express (`at least one of`, `required when`, `not allowed when`) and the engine's business
#: rules (unknown symbol, tick size, unknown order...) are allowed for schema-valid data; these are not.
SCHEMA_REJECTIONS = (
    "unknown query parameter",
    "missing required query parameter",
    "invalid query parameter",
    "missing required header",
    "invalid header",
    "takes no request body",
    "request body is required",
    "unsupported content-type",
    "request body is not valid",
    "invalid request body:",
)
EXTENSION_RULES = ("at least one of", " is required when ", " is not allowed when ")
_WHOLE_FLOAT = re.compile(r"[^:]*: (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?) is not of type integer")


def _whole_float_for_integer(error: str) -> bool:
    """`leverage: 31.0 is not of type integer`: an integral JSON number with a fraction or exponent."""
    match = _WHOLE_FLOAT.fullmatch(error)
    if match is None or not any(c in match.group(1) for c in ".eE"):
        return False
    value = Decimal(match.group(1))
    return value == value.to_integral_value()


@schemathesis.check
def schema_valid_request_passes_validation(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Positive data may be refused for business reasons (400), never by the mock's schema validation."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE or response.status_code != 400:
        return None
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        return None
    if any(rule in message for rule in EXTENSION_RULES):
        return True
    schema_rejection = message.startswith(SCHEMA_REJECTIONS) or (
        message.startswith("query parameter '") and " was given " in message
    )
    if message.startswith("invalid request body: ") and all(
        _whole_float_for_integer(error) for error in message.removeprefix("invalid request body: ").split("; ")
    ):
        # JSON Schema counts 31.0 as an integer and schemathesis sends such values; the exchange wants JSON
        # integers (spec: "integer values ... are JSON integers"), as the mock and the client enforce.
        return True
    assert not schema_rejection, f"schema-valid request refused by the mock's request validation: {message}"
    return True


@schemathesis.check
def signature_covers_exact_body(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A signed request the exchange accepted is refused (401) once its body gains one byte of whitespace.

    The JSON means the same, so only a signature over the exact bytes tells the two apart. (The auth probes
    of `ignored_auth` drop the JWT as well, so they never test the signature alone.)
    """
    request = response.request
    signature = request.headers.get("x-request-signature")
    if not signature or signature == SENTINEL or not 200 <= response.status_code < 300:
        return None
    tampered = request.copy()
    body = request.body or b""
    tampered.body = (body.encode("utf-8") if isinstance(body, str) else body) + b" "
    tampered.headers["Content-Length"] = str(len(tampered.body))
    tampered.hooks = {"response": []}
    with requests.Session() as session:
        answer = session.send(tampered, timeout=10)
    assert answer.status_code == 401, (
        f"{case.operation.label}: the body changed after signing, but the request was answered "
        f"{answer.status_code}: {answer.text[:200]}"
    )
    with TALLY.lock:
        TALLY.tampered_refused += 1
    return True
