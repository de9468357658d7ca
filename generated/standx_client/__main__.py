# Copied from overlays/__main__.py by `make generate`. Do not edit here: edit overlays/__main__.py.
"""Command line: `python -m standx_client login ...` signs in with a wallet and writes a credentials file.

    python -m standx_client login --chain bsc|solana [--key-file FILE] [--out FILE] [--force]
                                  [--expires-seconds N] [--auth-url URL]
    python -m standx_client show FILE

The wallet key comes from --key-file or the STANDX_WALLET_KEY environment variable (never from the command
line, where other users could read it): an EVM private key as hex for bsc; for solana the base58 secret key
(64 bytes) or seed (32 bytes), or a solana-keygen JSON array. The credentials file is created with mode
0600. Nothing secret is printed. Exit status: 0 done, 1 refused or failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import datetime
import os
import stat
import sys
from pathlib import Path

from ._base import DEFAULT_AUTH_URL
from .credentials import DEFAULT_EXPIRES_SECONDS, Credentials, sign_in
from .exceptions import StandXError, ValidationError
from .wallets import CHAINS, wallet_from_key

KEY_ENV = "STANDX_WALLET_KEY"
DEFAULT_OUT = "standx-credentials.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m standx_client", description="StandX client tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    login = commands.add_parser(
        "login",
        help="sign in with a wallet and write a credentials file (mode 0600)",
        description=f"Sign in with a wallet key from --key-file or ${KEY_ENV} and write the credentials "
        "(access JWT + the ed25519 key it is bound to) to a file created with mode 0600.",
    )
    login.add_argument("--chain", required=True, choices=CHAINS, help="the wallet's chain")
    login.add_argument("--key-file", type=Path, help=f"file holding the wallet key (default: ${KEY_ENV})")
    login.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help=f"credentials file (default {DEFAULT_OUT})")
    login.add_argument("--force", action="store_true", help="replace an existing credentials file")
    login.add_argument(
        "--expires-seconds", type=int, default=DEFAULT_EXPIRES_SECONDS, help="token lifetime (default 7 days)"
    )
    login.add_argument(
        "--auth-url",
        default=os.environ.get("STANDX_AUTH_URL") or DEFAULT_AUTH_URL,
        help=f"auth host (default $STANDX_AUTH_URL or {DEFAULT_AUTH_URL})",
    )
    show = commands.add_parser("show", help="describe a credentials file (no secrets)")
    show.add_argument("file", type=Path)
    return parser


def _read_key(options: argparse.Namespace) -> str:
    if options.key_file is not None:
        path: Path = options.key_file
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SystemExit(_usage(f"cannot read the key file {path}: {exc.strerror}")) from None
        except UnicodeDecodeError:
            raise SystemExit(_usage(f"the key file {path} is not text")) from None
        if os.name == "posix" and mode & 0o077:
            print(f"warning: {path} is readable by group or others (mode {mode:04o}); chmod 600 it", file=sys.stderr)
        key = text.strip()
    else:
        key = os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise SystemExit(_usage(f"no wallet key: pass --key-file FILE or set {KEY_ENV}"))
    return key


def _usage(message: str) -> int:
    print(f"python -m standx_client: error: {message}", file=sys.stderr)
    return 2


def _describe(creds: Credentials) -> str:
    when = "no exp claim"
    if creds.expires_at is not None and creds.expires_in is not None:
        stamp = datetime.datetime.fromtimestamp(creds.expires_at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        left = creds.expires_in
        when = (
            f"expires {stamp} ({'EXPIRED' if left <= 0 else f'in {int(left) // 3600} h {int(left) % 3600 // 60} min'})"
        )
    return f"{creds.chain or '?'} wallet {creds.address or '?'}, signing key {creds.public_key}, token {when}"


def _login(options: argparse.Namespace) -> int:
    if options.expires_seconds < 1:
        return _usage("--expires-seconds must be at least 1")
    try:
        wallet = wallet_from_key(options.chain, _read_key(options))
    except ValidationError as exc:  # never repeats the key
        return _usage(f"bad wallet key: {exc.problem}")
    out: Path = options.out
    if out.exists() and not options.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    creds = sign_in(wallet, auth_url=options.auth_url, expires_seconds=options.expires_seconds)
    creds.save(out, overwrite=options.force)
    print(f"signed in: {_describe(creds)}")
    print(f"credentials written to {out} (mode 0600)")
    return 0


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        if options.command == "login":
            return _login(options)
        print(_describe(Credentials.load(options.file)))
        return 0
    except StandXError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # eth-account missing for --chain bsc
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
