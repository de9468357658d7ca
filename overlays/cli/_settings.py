"""Where the command line connects and with which credentials: flags, then the environment, then a profile of the
config file, then the defaults (the StandX production hosts and ~/.config/standx/credentials.json).

    # ~/.config/standx/config.toml (or $STANDX_CONFIG, or --config FILE)
    profile = "mock"                      # the default profile (or STANDX_PROFILE, or --profile NAME)

    [profiles.mock]
    base_url = "http://127.0.0.1:8765"    # geo_url and auth_url follow base_url unless given
    credentials = "~/.config/standx/mock-credentials.json"

    [profiles.live]                       # nothing to set: production hosts, credentials-live.json

Credentials: --credentials FILE, else STANDX_JWT (+ STANDX_SIGNING_KEY for signed operations), else the
profile's credentials file (`standx auth login` writes it with mode 0600; one that others may read is refused).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._base import DEFAULT_AUTH_URL, DEFAULT_BASE_URL, DEFAULT_GEO_URL
from ..credentials import Credentials
from ..signing import SigningKey

PROFILE_KEYS = frozenset({"base_url", "geo_url", "auth_url", "credentials"})


class SettingsError(Exception):
    """A config file or profile the command line cannot use (a usage error, exit 2)."""


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "standx"


@dataclass(frozen=True)
class Settings:
    profile: str | None
    base_url: str
    geo_url: str
    auth_url: str
    credentials_file: Path
    credentials_flag: bool  # --credentials was given: it wins over the environment

    timeout: float | None = None

    def flags(self) -> list[str]:
        """The global options that reach this same exchange and account again (for commands we print)."""
        found: list[str] = []
        if self.timeout is not None:
            found += ["--timeout", f"{self.timeout:g}"]
        if self.profile:
            found += ["--profile", self.profile]
        if self.base_url != DEFAULT_BASE_URL:
            found += ["--base-url", self.base_url]
        if self.credentials_flag:
            found += ["--credentials", str(self.credentials_file)]
        return found


def _read_config(path: Path, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise SettingsError(f"config file {path} does not exist") from None
        return {}
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None


def _profile(config: dict[str, Any], name: str | None, path: Path) -> dict[str, Any]:
    if name is None:
        return {}
    profiles = config.get("profiles", {})
    section = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(section, dict):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
        raise SettingsError(f"no profile {name!r} in {path} (profiles: {known})")
    unknown = sorted(set(section) - PROFILE_KEYS)
    if unknown:
        raise SettingsError(
            f"profile {name!r} in {path}: unknown key(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(PROFILE_KEYS))})"
        )
    return section


def resolve(
    *,
    profile: str | None = None,
    config: str | None = None,
    base_url: str | None = None,
    geo_url: str | None = None,
    auth_url: str | None = None,
    credentials: str | None = None,
    timeout: float | None = None,
) -> Settings:
    env = os.environ
    config_path = Path(config or env.get("STANDX_CONFIG") or config_dir() / "config.toml").expanduser()
    document = _read_config(config_path, required=bool(config or env.get("STANDX_CONFIG")))
    default_profile = document.get("profile")
    name = profile or env.get("STANDX_PROFILE") or (default_profile if isinstance(default_profile, str) else None)
    section = _profile(document, name, config_path)

    def pick(flag: str | None, var: str, key: str) -> str | None:
        value = flag or env.get(var) or section.get(key)
        return str(value) if value else None

    base = pick(base_url, "STANDX_BASE_URL", "base_url") or DEFAULT_BASE_URL
    # One host that is not the exchange (the local mock, a proxy) serves the geo and auth paths too.
    follow = base if base != DEFAULT_BASE_URL else None
    geo = pick(geo_url, "STANDX_GEO_URL", "geo_url") or follow or DEFAULT_GEO_URL
    auth = pick(auth_url, "STANDX_AUTH_URL", "auth_url") or follow or DEFAULT_AUTH_URL
    default_file = config_dir() / (f"credentials-{name}.json" if name else "credentials.json")
    file = credentials or env.get("STANDX_CREDENTIALS") or section.get("credentials") or default_file
    path = Path(str(file)).expanduser()
    return Settings(name, base, geo, auth, path, credentials_flag=bool(credentials), timeout=timeout)


@dataclass(frozen=True)
class Identity:
    """The JWT (and the key it is bound to) a command runs with, and where they came from."""

    jwt: str
    signing_key: SigningKey | None
    source: str
    credentials: Credentials | None = None  # when read from a file (wallet, chain, expiry)


def identity(settings: Settings) -> Identity | None:
    """The credentials to use, or None when there are none (public commands still work)."""
    env = os.environ
    if not settings.credentials_flag and env.get("STANDX_JWT"):
        key_text = env.get("STANDX_SIGNING_KEY")
        key = SigningKey.parse(key_text) if key_text else None
        return Identity(env["STANDX_JWT"].strip(), key, "environment (STANDX_JWT, STANDX_SIGNING_KEY)")
    if settings.credentials_flag or settings.credentials_file.exists():
        creds = Credentials.load(settings.credentials_file)  # refuses a file others may read
        return Identity(creds.token, creds.signing_key, f"file {settings.credentials_file}", creds)
    return None
