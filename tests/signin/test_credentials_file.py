"""Credentials files: created with mode 0600, refused when others can read them, and the web page's export."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standx_client import SigningKey
from standx_client.credentials import Credentials, sign_in
from standx_client.exceptions import CredentialsError
from standx_client.signing import b58encode
from standx_client.wallets import SolanaWallet
from standx_mock.server import MockServer

from tests.signin.conftest import ORDER, solana_secret

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(scope="module")
def creds(mock_server: MockServer) -> Credentials:
    return sign_in(SolanaWallet.from_key(solana_secret()), auth_url=mock_server.base_url)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)  # the worst case: nothing masked
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _seed_b58(key: SigningKey) -> str:
    return b58encode(bytes(key._key))


def test_save_creates_0600_and_loads_back(creds: Credentials, tmp_path: Path, permissive_umask: None) -> None:
    path = creds.save(tmp_path / "creds.json")
    assert _mode(path) == 0o600
    document = json.loads(path.read_text())
    assert document["format"] == "standx-credentials/1"
    assert (document["chain"], document["address"], document["public_key"]) == (
        "solana",
        creds.address,
        creds.public_key,
    )
    assert document["expires_at"] == creds.expires_at
    assert document["signing_key"] == _seed_b58(creds.signing_key)  # base58 seed, as the web page exports keys
    loaded = Credentials.load(path)
    assert (loaded.token, loaded.public_key, loaded.address, loaded.chain) == (
        creds.token, creds.public_key, creds.address, creds.chain)  # fmt: skip
    assert loaded.signing_key.sign(b"m") == creds.signing_key.sign(b"m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creds.json"]  # no temporary file left


def test_loaded_credentials_trade(creds: Credentials, tmp_path: Path, url: str) -> None:
    loaded = Credentials.load(creds.save(tmp_path / "c.json"))
    with loaded.client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0


def test_existing_file_kept_unless_overwrite(creds: Credentials, tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text("precious")
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="already exists"):
        creds.save(path)
    assert path.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creds.json"]
    creds.save(path, overwrite=True)
    assert _mode(path) == 0o600 and Credentials.load(path).token == creds.token


def test_save_into_missing_directory(creds: Credentials, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot create"):
        creds.save(tmp_path / "missing" / "creds.json")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_load_refuses_files_others_can_access(creds: Credentials, tmp_path: Path, mode: int) -> None:
    path = creds.save(tmp_path / "creds.json")
    path.chmod(mode)
    with pytest.raises(CredentialsError) as caught:
        Credentials.load(path)
    message = str(caught.value)
    assert f"chmod 600 {path}" in message and f"{mode:04o}" in message
    assert creds.token not in message and _seed_b58(creds.signing_key) not in message


def test_load_errors_are_clear_and_quote_nothing(creds: Credentials, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="no such file"):
        Credentials.load(tmp_path / "nope.json")
    cases = {
        "truncated.json": creds.to_json()[:-40],
        "array.json": json.dumps([creds.token]),
        "nokey.json": json.dumps({"token": creds.token}),
        "badkey.json": json.dumps({"token": creds.token, "key": "secret-looking-but-not-a-key"}),
        "badtoken.json": json.dumps({"token": "not-a-jwt", "key": _seed_b58(creds.signing_key)}),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(CredentialsError) as caught:
            Credentials.load(path)
        message = str(caught.value)
        assert name in message
        assert creds.token not in message and "secret-looking" not in message
        assert _seed_b58(creds.signing_key) not in message


def test_edited_file_with_another_key_is_refused(creds: Credentials, tmp_path: Path) -> None:
    path = creds.save(tmp_path / "creds.json")
    document = json.loads(path.read_text())
    document["signing_key"] = _seed_b58(SigningKey.generate())
    path.write_text(json.dumps(document))
    with pytest.raises(CredentialsError, match="not the one this token was issued for"):
        Credentials.load(path)


def test_session_export_json_env_and_strings(tmp_path: Path, url: str) -> None:
    """The web page hands out a JWT and a base58 ed25519 key; the mock's /mock/credentials plays the page."""
    key = SigningKey.generate()
    token = httpx.post(f"{url}/mock/credentials", json={"public_key": key.public_key_b58}).json()["token"]
    seed = _seed_b58(key)
    exports = {
        "export.json": json.dumps({"token": token, "key": seed}),
        "export2.json": json.dumps({"jwt": token, "privateKey": bytes(key._key).hex()}),
        "export.env": f"# from the StandX session page\nexport STANDX_JWT={token}\nSTANDX_SIGNING_KEY='{seed}'\n",
    }
    for name, text in exports.items():
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o600)
        loaded = Credentials.load(path)
        assert (loaded.token, loaded.public_key, loaded.address) == (token, key.public_key_b58, None), name
    direct = Credentials.from_session_export(f"  {token}\n", seed)
    assert direct.token == token and direct.public_key == key.public_key_b58
    with direct.client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0
