"""Everything one mock instance owns besides its connections: the served spec, the engine, credentials
and sign-in, faults, the rate limiter and the counters `/mock/stats` reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from .auth import AuthError, JwtIssuer, TokenClaims, bearer_token, verify_body_signature
from .config import MockConfig
from .engine import Engine
from .faults import FaultInjector
from .handlers import HANDLERS
from .limits import RateLimiter
from .signin import SignInService
from .spec import Operation, Spec
from .spec_loader import SpecError
from .state import ExchangeState


class MockService:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.spec = Spec.load(config.spec_path, config.spec_sha256, config.verify_spec_hash)
        missing = sorted(op.operation_id for op in self.spec.operations if op.operation_id not in HANDLERS)
        if missing:
            raise SpecError(f"the spec has operations the mock does not implement: {', '.join(missing)}")
        for op in self.spec.operations:
            for alternative in op.security:
                kinds = {self.spec.security_schemes[name] for name in alternative}
                if "signature" in kinds and "bearer" not in kinds:
                    raise SpecError(f"{op.operation_id}: a body signature needs the bearer JWT in the same requirement")
        self.engine = Engine(config)
        self.jwt = JwtIssuer()
        self.signin = SignInService(config, self.engine, self.jwt)
        self.faults = FaultInjector(config.faults, config.seed)
        self.rate_limiter = RateLimiter()
        self.by_operation: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.response_errors: list[str] = []

    @property
    def exchange(self) -> ExchangeState:
        return self.engine.state

    def reset(self, keep_accounts: bool = True) -> None:
        """The initial exchange state, clock and faults (the configured ones, nothing queued), counters
        cleared. Without kept accounts every earlier JWT stops working too."""
        self.engine.reset(keep_accounts=keep_accounts)
        if not keep_accounts:
            self.jwt = JwtIssuer()
            self.signin.jwt = self.jwt
        self.faults.clear()
        self.faults.configure(self.config.faults)
        self.rate_limiter = RateLimiter()
        self.reset_counters()

    def reset_counters(self) -> None:
        self.faults.reset_counts()
        self.by_operation.clear()
        self.by_status.clear()
        self.response_errors.clear()

    # ------------------------------------------------------------------ auth

    def verify_token(self, token: str) -> TokenClaims:
        """The claims of a valid JWT of an existing account (HTTP bearer and WebSocket logins); AuthError otherwise."""
        claims = self.jwt.verify(token)
        if claims.user not in self.exchange.accounts:
            raise AuthError("missing or invalid token")
        return claims

    def authenticate(
        self, op: Operation, headers: Mapping[str, str], body: bytes, claims: TokenClaims | None = None
    ) -> TokenClaims | None:
        """The caller's claims (None for public operations); AuthError -> 401. `claims` stands in for the
        bearer JWT when the caller logged in already (a WebSocket session); the body signature is checked
        the same way either way."""
        if not op.security:
            return None
        first_error: AuthError | None = None
        for alternative in op.security:
            try:
                return self._check_alternative(alternative, headers, body, claims)
            except AuthError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def _check_alternative(
        self, alternative: tuple[str, ...], headers: Mapping[str, str], body: bytes, claims: TokenClaims | None
    ) -> TokenClaims | None:
        kinds = [self.spec.security_schemes[name] for name in alternative]
        found: TokenClaims | None = None
        if "bearer" in kinds:
            if claims is not None and claims.user in self.exchange.accounts:
                found = claims
            else:
                found = self.verify_token(bearer_token(headers.get("authorization")))
        if "signature" in kinds:
            assert found is not None
            verify_body_signature(dict(headers), body, found.public_key, window_ms=self.config.timestamp_window_ms)
        return found
