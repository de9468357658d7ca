# Copied from overlays/cli/__init__.py by `make generate`. Do not edit here: edit overlays/cli/__init__.py.
"""The `standx` command line: market data, the account, orders, streams and sign-in, on StandX or the local mock.

    standx market price BTC-USD                       # a table; --json for JSON (NDJSON for streams)
    standx account positions
    standx order place BTC-USD buy 0.01 --price 50000  # checks, a preview, a confirmation, then it sends
    standx order place BTC-USD buy 0.01 --price 50000 --dry-run   # every check; prints the signed request
    standx stream price BTC-USD --count 5
    standx api market query-depth-book --symbol BTC-USD          # every operation of the spec
    standx --base-url http://127.0.0.1:8765 market price BTC-USD  # the mock (or --profile NAME)

Built on argparse (standard library): the package's runtime dependencies stay httpx, attrs and PyNaCl.

Exit status:
    0  done
    1  aborted at a confirmation prompt (nothing sent), or an unexpected error
    2  usage: unknown command or option, bad option value, unusable config file
    3  validation: refused before anything was sent (bad value, off-tick price, unknown symbol...)
    4  authentication: no credentials, an expired JWT, or the exchange refused them (HTTP 401)
    5  refused by the exchange (HTTP 4xx/5xx, or code != 0)
    6  order status unknown: the order may or may not have reached the exchange; the cl_ord_id and the
       command that resolves it are printed
    7  network: no usable answer (connection refused or dropped, timeout)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .._base import DEFAULT_TIMEOUT
from .._install import PACKAGE
from .._spec_info import SPEC_VERSION
from ..exceptions import (
    APIError,
    AuthenticationError,
    CredentialsError,
    OrderStatusUnknownError,
    SignInError,
    StandXError,
    TransportError,
    ValidationError,
)
from ._output import Output
from ._settings import Identity, Settings, SettingsError, identity, resolve

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._facade import StandX
    from ..precision import SymbolRules

OK, ABORTED, USAGE, VALIDATION, AUTHENTICATION, REFUSED, UNKNOWN, NETWORK = range(8)

Handler = Callable[["Run"], int]


def exit_code(error: BaseException) -> int:
    """The documented exit status of a failure (the order of the checks matters: some errors are two kinds)."""
    if isinstance(error, OrderStatusUnknownError):
        return UNKNOWN
    if isinstance(error, AuthenticationError | SignInError | CredentialsError | NotSignedIn):
        return AUTHENTICATION  # TokenExpiredError is a ValidationError too, UnauthorizedError an APIError too
    if isinstance(error, ValidationError):
        return VALIDATION
    if isinstance(error, TransportError):
        return NETWORK
    if isinstance(error, APIError):
        return REFUSED
    if isinstance(error, SettingsError | UsageError):
        return USAGE
    return ABORTED


class UsageError(Exception):
    """A command line the CLI cannot run (exit 2)."""


class NotSignedIn(Exception):
    """No credentials for a command that needs them (exit 4)."""


class Aborted(Exception):
    """Declined at a confirmation prompt: nothing was sent (exit 1)."""


def prog_name() -> str:
    """`standx` when run as the console script, else `python -m <package>` (a vendored copy's own name)."""
    return "standx" if Path(sys.argv[0]).name == "standx" else f"python -m {PACKAGE}"


class Run:
    """One invocation: its options, output, settings, and a client made on first use."""

    def __init__(self, options: argparse.Namespace, out: Output, prog: str) -> None:
        self.options = options
        self.out = out
        self.prog = prog
        self._settings: Settings | None = None
        self._identity: Identity | None = None
        self._identity_read = False
        self.sent_at: dict[str, float] = {}  # cl_ord_id -> when an order whose answer was lost was sent

    def opt(self, name: str, default: Any = None) -> Any:
        return getattr(self.options, name, default)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = resolve(
                profile=self.opt("profile"),
                config=self.opt("config"),
                base_url=self.opt("base_url"),
                geo_url=self.opt("geo_url"),
                auth_url=self.opt("auth_url"),
                credentials=self.opt("credentials"),
                timeout=self.opt("timeout"),
            )
        return self._settings

    def identity(self) -> Identity | None:
        if not self._identity_read:
            self._identity = identity(self.settings)
            self._identity_read = True
        return self._identity

    def command(self, *words: str) -> str:
        """A command line that runs against the same exchange and account as this one."""
        return " ".join([self.prog, *self.settings.flags(), *words])

    def client(
        self,
        *,
        auth: bool = False,
        signed: bool = False,
        transport: httpx.BaseTransport | None = None,
        symbol_rules: Mapping[str, SymbolRules] | None = None,
    ) -> StandX:
        """A StandX client for these settings; with auth/signed, refuses early when credentials are missing."""
        from .._facade import StandX

        who = self.identity()
        if (auth or signed) and who is None:
            raise NotSignedIn(f"not signed in (no credentials at {self.settings.credentials_file})")
        if signed and who is not None and who.signing_key is None:
            raise NotSignedIn("this command is signed: set STANDX_SIGNING_KEY to the key the JWT is bound to")
        settings = self.settings
        return StandX(
            jwt=who.jwt if who else None,
            signing_key=who.signing_key if who else None,
            base_url=settings.base_url,
            geo_url=settings.geo_url,
            auth_url=settings.auth_url,
            transport=transport,
            symbol_rules=symbol_rules,
            timeout=DEFAULT_TIMEOUT if settings.timeout is None else settings.timeout,
        )

    def confirm(self, question: str) -> None:
        """Ask on stderr and read one line from stdin; anything but yes (end of input included) aborts."""
        print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        if not sys.stdin.isatty():  # a piped answer is not echoed: show it, so the transcript reads right
            print(answer.strip() or "(no answer)", file=sys.stderr)
        if answer.strip().lower() not in ("y", "yes"):
            raise Aborted("aborted: nothing was sent")


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every command takes, before or after its name (SUPPRESS: a subcommand never resets them)."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="JSON output (NDJSON for streams); errors as JSON on stderr",
    )
    group.add_argument("--profile", default=default, metavar="NAME", help="a profile of the config file")
    group.add_argument(
        "--config", default=default, metavar="FILE", help="config file (default ~/.config/standx/config.toml)"
    )
    group.add_argument(
        "--base-url", default=default, metavar="URL", help="exchange host, e.g. the mock's http://127.0.0.1:8765"
    )
    group.add_argument("--geo-url", default=default, metavar="URL", help=argparse.SUPPRESS)
    group.add_argument("--auth-url", default=default, metavar="URL", help=argparse.SUPPRESS)
    group.add_argument("--credentials", default=default, metavar="FILE", help="credentials file (mode 0600)")
    group.add_argument("--timeout", default=default, type=float, metavar="SECONDS", help="per request attempt")


def build_parser(prog: str) -> argparse.ArgumentParser:
    from . import _api, _auth, _completion, _order, _stream

    parser = argparse.ArgumentParser(
        prog=prog,
        description=f"StandX Perps from the terminal (API {SPEC_VERSION}). Run `{prog} COMMAND --help` for more.",
        epilog="Exit status:" + (__doc__ or "").split("Exit status:", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s (StandX API {SPEC_VERSION})")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    nouns = parser.add_subparsers(dest="noun", metavar="COMMAND", required=True)
    _api.add_everyday(nouns, common)
    _order.add_commands(nouns, common)
    _stream.add_commands(nouns, common)
    _auth.add_commands(nouns, common)
    _api.add_api(nouns, common)
    _completion.add_commands(nouns, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit status (the console script passes it to sys.exit)."""
    prog = prog_name()
    parser = build_parser(prog)
    try:
        options = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2), already printed
        return int(exc.code or 0) if isinstance(exc.code, int) else USAGE
    out = Output(bool(getattr(options, "json", False)))
    run = Run(options, out, prog)
    handler: Handler = options.handler
    try:
        return handler(run)
    except KeyboardInterrupt:
        out.note("interrupted")
        return 130
    except Aborted as exc:
        out.error("Aborted", str(exc), ABORTED)
        return ABORTED
    except OrderStatusUnknownError as exc:
        sent_at = run.sent_at.get(exc.cl_ord_id)
        resolve_with = run.command(
            "order", "status", "--cl-ord-id", exc.cl_ord_id, *(["--sent-at", f"{sent_at:.3f}"] if sent_at else [])
        )
        out.error(
            "OrderStatusUnknownError",
            f"order status unknown: it may or may not have reached the exchange ({exc.__cause__ or exc})",
            UNKNOWN,
            hint=f"Do not place it again with a new id. Resolve it with:\n  {resolve_with}",
            cl_ord_id=exc.cl_ord_id,
            **({"resolve": resolve_with} if out.json else {}),
        )
        return UNKNOWN
    except (StandXError, SettingsError, UsageError, NotSignedIn) as exc:
        code = exit_code(exc)
        hint = None
        if code == AUTHENTICATION:
            hint = f"Sign in with `{run.command('auth', 'login', '--chain', 'bsc|solana')}`, or set STANDX_JWT."
        fields: dict[str, Any] = {}
        if isinstance(exc, APIError):
            fields = {"status_code": exc.status_code, "code": exc.code, "request_id": exc.request_id}
        if isinstance(exc, ValidationError):
            fields = {"field": exc.field}
        out.error(type(exc).__name__, str(exc), code, hint=hint, **fields)
        return code
    except ImportError as exc:  # an optional dependency (websockets for streams, eth-account for bsc sign-in)
        out.error("ImportError", str(exc), ABORTED)
        return ABORTED
