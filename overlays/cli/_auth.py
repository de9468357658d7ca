"""`standx auth login|status|logout`: wallet sign-in into a credentials file, what the CLI will sign with, sign-out.

The wallet key comes from --key-file or STANDX_WALLET_KEY (never from the command line, where other users
could read it): an EVM private key as hex for bsc; for solana the base58 secret key (64 bytes) or seed (32
bytes), or a solana-keygen JSON array. The credentials file (the JWT and the ed25519 key it is bound to) is
created with mode 0600. Nothing secret is ever printed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._base import jwt_expiry
from ..credentials import DEFAULT_EXPIRES_SECONDS, sign_in
from ..exceptions import TokenExpiredError, ValidationError
from ..wallets import CHAINS, wallet_from_key

if TYPE_CHECKING:
    from . import Run

KEY_ENV = "STANDX_WALLET_KEY"


def _read_key(run: Run) -> str:
    from . import UsageError

    path: Path | None = run.opt("key_file")
    if path is not None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the key file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"the key file {path} is not text") from None
        if os.name == "posix" and mode & 0o077:
            run.out.note(f"warning: {path} is readable by group or others (mode {mode:04o}); chmod 600 it")
        key = text.strip()
    else:
        key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise UsageError(f"no wallet key: pass --key-file FILE or set {KEY_ENV}")
    return key


def _expiry(exp: int | None) -> dict[str, Any]:
    if exp is None:
        return {"expires_at": None, "expires_in_s": None, "expired": False}
    left = int(exp - time.time())
    stamp = datetime.datetime.fromtimestamp(exp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"expires_at": stamp, "expires_in_s": left, "expired": left <= 0}


def _login(run: Run) -> int:
    from . import UsageError

    if run.opt("expires_seconds") < 1:
        raise UsageError("--expires-seconds must be at least 1")
    try:
        wallet = wallet_from_key(run.opt("chain"), _read_key(run))
    except ValidationError as exc:  # its message never repeats the key
        raise UsageError(f"bad wallet key: {exc.problem}") from None
    out = run.settings.credentials_file
    if out.exists() and not run.opt("force"):
        raise UsageError(f"{out} exists; pass --force to replace it")
    creds = sign_in(wallet, auth_url=run.settings.auth_url, expires_seconds=run.opt("expires_seconds"))
    out.parent.mkdir(parents=True, exist_ok=True)
    creds.save(out, overwrite=bool(run.opt("force")))
    run.out.result(
        {
            "signed_in": True,
            "chain": creds.chain,
            "address": creds.address,
            "public_key": creds.public_key,
            "credentials_file": str(out),
            **_expiry(creds.expires_at),
        }
    )
    return 0


def _status(run: Run) -> int:
    """Which credentials the CLI would use and until when; exit 4 when there are none or they expired."""
    from . import NotSignedIn

    who = run.identity()
    if who is None:
        raise NotSignedIn(f"not signed in: no STANDX_JWT and no credentials file at {run.settings.credentials_file}")
    creds = who.credentials
    exp = creds.expires_at if creds is not None else jwt_expiry(who.jwt)
    status = {
        "source": who.source,
        "chain": creds.chain if creds else None,
        "address": creds.address if creds else None,
        "public_key": who.signing_key.public_key_b58 if who.signing_key else None,
        "can_sign": who.signing_key is not None,
        **_expiry(exp),
        "base_url": run.settings.base_url,
    }
    run.out.result(status)
    if exp is not None and status["expired"]:
        raise TokenExpiredError("auth status", exp)
    return 0


def _logout(run: Run) -> int:
    """StandX has no server-side sign-out: forget the token by deleting the credentials file."""
    path = run.settings.credentials_file
    removed = path.exists()
    if removed:
        path.unlink()
    run.out.result({"removed": str(path) if removed else None})
    if os.environ.get("STANDX_JWT"):
        run.out.note("STANDX_JWT is still set in the environment: unset it too")
    return 0


def add_commands(nouns: Any, common: argparse.ArgumentParser) -> None:
    auth = nouns.add_parser("auth", parents=[common], help="sign in with a wallet, show or forget credentials")
    verbs = auth.add_subparsers(dest="verb", metavar="VERB", required=True)
    login = verbs.add_parser(
        "login", parents=[common], help="sign in with a wallet; write the credentials file", description=__doc__
    )
    login.add_argument("--chain", required=True, choices=CHAINS, help="the wallet's chain")
    login.add_argument("--key-file", type=Path, help=f"file holding the wallet key (default: ${KEY_ENV})")
    login.add_argument("--force", action="store_true", help="replace an existing credentials file")
    login.add_argument(
        "--expires-seconds",
        type=int,
        default=DEFAULT_EXPIRES_SECONDS,
        help="token lifetime in seconds (default %(default)s)",
    )
    login.set_defaults(handler=_login)
    verbs.add_parser("status", parents=[common], help="the credentials in use and their expiry").set_defaults(
        handler=_status
    )
    verbs.add_parser("logout", parents=[common], help="delete the credentials file").set_defaults(handler=_logout)
