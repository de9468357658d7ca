"""The wallet sign-in end to end against the mock over TCP, for both chains, and every way it must fail."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import nacl.signing
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from eth_account import Account
from eth_account.messages import encode_defunct
from standx_client import (
    AuthenticationError,
    BadRequestError,
    ServerError,
    SigningKey,
    StandX,
    TokenExpiredError,
    TokenExpiringWarning,
)
from standx_client.credentials import Credentials, async_sign_in, decode_challenge, sign_in
from standx_client.exceptions import SignInError
from standx_client.signing import b58encode
from standx_client.wallets import EvmWallet, SolanaWallet
from standx_mock.server import MockServer

from tests.signin.conftest import ORDER, evm_key, solana_secret


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- both chains end to end -----------------------------------------------------------------------------------------


def test_bsc_sign_in_then_signed_order(url: str, mock_server: MockServer) -> None:
    wallet = EvmWallet.from_key(evm_key())
    creds = sign_in(wallet, auth_url=url)
    assert (creds.chain, creds.address, creds.alias is not None) == ("bsc", wallet.address, True)
    assert creds.expires_in is not None and 604_700 < creds.expires_in <= 604_800
    with creds.client(base_url=url) as client:
        ack = client.new_order(**ORDER)  # signed with the key the token is bound to
        assert ack.code == 0
        order = client.query_order(cl_ord_id=ack.cl_ord_id)
    assert order.user == f"bsc_{wallet.address.lower()}"
    account = mock_server.state.exchange.accounts[order.user]
    assert creds.public_key in account.public_keys  # the token is bound to the requestId key


@pytest.mark.anyio
async def test_solana_sign_in_async_then_signed_order(url: str) -> None:
    wallet = SolanaWallet.from_key(solana_secret())
    creds = await async_sign_in(wallet, auth_url=url, expires_seconds=7200)
    assert (creds.chain, creds.address) == ("solana", wallet.address)
    assert creds.expires_in is not None and 7100 < creds.expires_in <= 7200
    async with creds.async_client(base_url=url) as client:
        ack = await client.new_order(**ORDER)
        order = await client.query_order(cl_ord_id=ack.cl_ord_id)
    assert order.user == f"solana_{wallet.address}"


def test_solana_seed_key_sync(url: str) -> None:
    seed = nacl.signing.SigningKey.generate()
    wallet = SolanaWallet.from_key(b58encode(bytes(seed)))  # the 32-byte seed form
    assert wallet.address == b58encode(bytes(seed.verify_key))
    creds = sign_in(wallet, auth_url=url)
    with creds.client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0


def test_evm_external_signer_hook(url: str) -> None:
    """A hardware wallet / KMS: the caller gives the address and a callable that returns the 0x signature."""
    account = Account.create()
    seen: list[str] = []

    def hardware_wallet(message: str) -> str:
        seen.append(message)
        signed = account.sign_message(encode_defunct(text=message))
        return bytes(signed.signature).hex()  # without 0x: normalised by the client

    creds = sign_in(EvmWallet(account.address, hardware_wallet), auth_url=url)
    assert len(seen) == 1 and seen[0].startswith("standx.com wants you to sign in with your Ethereum account:\n")
    assert account.address in seen[0]
    with creds.client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0


@pytest.mark.anyio
async def test_async_external_signers(url: str) -> None:
    account = Account.create()

    async def kms(message: str) -> str:
        await asyncio.sleep(0)
        return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()

    creds = await async_sign_in(EvmWallet(account.address, kms), auth_url=url)
    assert creds.address == account.address

    key = nacl.signing.SigningKey.generate()

    async def ledger(message: bytes) -> bytes:
        return key.sign(message).signature

    creds = await async_sign_in(SolanaWallet(b58encode(bytes(key.verify_key)), ledger), auth_url=url)
    async with creds.async_client(base_url=url) as client:
        assert (await client.new_order(**ORDER)).code == 0


def test_second_sign_in_same_account_both_tokens_work(url: str) -> None:
    wallet = EvmWallet.from_key(evm_key())
    first, second = sign_in(wallet, auth_url=url), sign_in(wallet, auth_url=url)
    assert first.public_key != second.public_key  # a fresh request-signing key each time
    for creds in (first, second):
        with creds.client(base_url=url) as client:
            ack = client.new_order(**ORDER)
            assert client.query_order(cl_ord_id=ack.cl_ord_id).user == f"bsc_{wallet.address.lower()}"


def test_certs_verify_the_challenge(url: str) -> None:
    """query_certs (through the facade) serves the key that verifies the ES256 signedData."""
    with StandX(auth_url=url) as api:
        key = SigningKey.generate()
        prepared = api.prepare_signin(chain="bsc", address="0x" + "ab" * 20, request_id=key.public_key_b58)
        (jwk,) = api.query_certs().keys
    header, payload, signature = prepared.signed_data.split(".")
    assert json.loads(_b64url_decode(header)) == {"alg": "ES256", "typ": "JWT"}
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64url_decode(str(jwk.x)), "big"),
        int.from_bytes(_b64url_decode(str(jwk.y)), "big"),
        ec.SECP256R1(),
    )
    raw = _b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    numbers.public_key().verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = decode_challenge(prepared.signed_data)
    assert list(claims) == ["domain", "uri", "statement", "version", "chainId", "nonce", "address", "requestId",
                            "issuedAt", "message", "exp", "iat"]  # fmt: skip
    assert (claims["chainId"], claims["requestId"], claims["exp"] - claims["iat"]) == (56, key.public_key_b58, 180)


# --- what must fail, and how --------------------------------------------------------------------------------------


def test_wrong_wallet_key_bsc(url: str) -> None:
    """The signature comes from another key than the claimed address's: the exchange refuses the login."""
    claimed, actual = Account.create(), Account.create()

    def impostor(message: str) -> str:
        return "0x" + bytes(actual.sign_message(encode_defunct(text=message)).signature).hex()

    with pytest.raises(SignInError) as caught:
        sign_in(EvmWallet(claimed.address, impostor), auth_url=url)
    assert (caught.value.stage, caught.value.status_code) == ("login", 401)
    assert isinstance(caught.value.__cause__, AuthenticationError)


def test_wrong_wallet_key_solana(url: str) -> None:
    claimed, actual = nacl.signing.SigningKey.generate(), nacl.signing.SigningKey.generate()
    wallet = SolanaWallet(b58encode(bytes(claimed.verify_key)), lambda message: actual.sign(message).signature)
    with pytest.raises(SignInError) as caught:
        sign_in(wallet, auth_url=url)
    assert (caught.value.stage, caught.value.status_code) == ("login", 401)
    assert "does not verify" in str(caught.value)


class _Tamper(httpx.BaseTransport):
    """A man in the middle that rewrites the signedData payload of prepare-signin answers."""

    def __init__(self, edit: Callable[[dict[str, Any]], None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/prepare-signin"):
            return response
        body = json.loads(response.read())
        header, payload, signature = body["signedData"].split(".")
        claims = json.loads(_b64url_decode(payload))
        self.edit(claims)
        body["signedData"] = ".".join((header, _b64url(json.dumps(claims).encode()), signature))
        return httpx.Response(response.status_code, json=body)


def test_tampered_signed_data_is_refused_by_the_exchange(url: str) -> None:
    def edit(claims: dict[str, Any]) -> None:
        claims["message"] = claims["message"].replace("Version: 1", "Version: 2")

    with pytest.raises(SignInError) as caught:
        sign_in(EvmWallet.from_key(evm_key()), auth_url=url, transport=_Tamper(edit))
    assert (caught.value.stage, caught.value.status_code) == ("login", 401)
    assert "signedData" in str(caught.value)


def test_challenge_for_another_key_is_never_signed(url: str) -> None:
    """A challenge bound to someone else's requestId would hand them a token: the wallet is not even asked."""
    attacker = SigningKey.generate().public_key_b58
    asked: list[str] = []
    account = Account.create()

    def signer(message: str) -> str:
        asked.append(message)
        return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()

    def edit(claims: dict[str, Any]) -> None:
        claims["requestId"] = attacker

    with pytest.raises(SignInError) as caught:
        sign_in(EvmWallet(account.address, signer), auth_url=url, transport=_Tamper(edit))
    assert caught.value.stage == "challenge" and asked == []

    def other_address(claims: dict[str, Any]) -> None:
        claims["address"] = "0x" + "cd" * 20

    with pytest.raises(SignInError, match="another address"):
        sign_in(EvmWallet(account.address, signer), auth_url=url, transport=_Tamper(other_address))
    assert asked == []


def test_expired_challenge(url: str, mock_server: MockServer) -> None:
    signin = mock_server.state.signin
    signin.challenge_lifetime_s = 0  # exp == iat: already expired when login arrives
    try:
        with pytest.raises(SignInError) as caught:
            sign_in(SolanaWallet.from_key(solana_secret()), auth_url=url)
    finally:
        signin.challenge_lifetime_s = 180
    assert (caught.value.stage, caught.value.status_code) == ("login", 401)
    assert "expired" in str(caught.value)


def test_replayed_challenge_and_wrong_chain(url: str) -> None:
    """Step by step through the facade: a challenge logs in once; a bsc challenge is no solana login."""
    wallet = EvmWallet.from_key(evm_key())
    with StandX(auth_url=url) as api:
        key = SigningKey.generate()
        signed_data = api.prepare_signin(chain="bsc", address=wallet.address, request_id=key.public_key_b58).signed_data
        payload = decode_challenge(signed_data)
        signature = wallet.sign_message(payload["message"])
        assert isinstance(signature, str)
        with pytest.raises(BadRequestError, match="chain mismatch"):
            api.login(chain="solana", signature=signature, signed_data=signed_data)
        token = api.login(chain="bsc", signature=signature, signed_data=signed_data).token
        with pytest.raises(AuthenticationError, match="already used"):
            api.login(chain="bsc", signature=signature, signed_data=signed_data)
    with Credentials(token=token, signing_key=key).client(base_url=url) as client:
        assert client.new_order(**ORDER).code == 0


def test_signing_key_that_does_not_match_the_token(url: str) -> None:
    creds = sign_in(EvmWallet.from_key(evm_key()), auth_url=url)
    swapped = dataclasses.replace(creds, signing_key=SigningKey.generate())
    with swapped.client(base_url=url) as client:
        client.query_balance()  # JWT only: still fine
        with pytest.raises(AuthenticationError, match="invalid body signature"):
            client.new_order(**ORDER)


def test_token_expiry_warning_and_error(url: str) -> None:
    creds = sign_in(SolanaWallet.from_key(solana_secret()), auth_url=url, expires_seconds=60)
    assert creds.expires_in is not None and 50 < creds.expires_in <= 60 and not creds.expired
    with pytest.warns(TokenExpiringWarning):
        creds.check()
    with creds.client(base_url=url) as client, pytest.warns(TokenExpiringWarning):
        client.query_balance()

    # An expired token: the check and the client refuse it, and nothing is sent.
    key = SigningKey.generate()
    token = httpx.post(f"{url}/mock/credentials", json={"public_key": key.public_key_b58, "expires_seconds": -5})
    expired = Credentials.from_session_export(token.json()["token"], key)
    assert expired.expired and expired.expires_in is not None and expired.expires_in < 0
    with pytest.raises(TokenExpiredError):
        expired.check()
    sent = httpx.get(f"{url}/mock/stats").json()["requests"]
    with expired.client(base_url=url) as client, pytest.raises(TokenExpiredError):
        client.new_order(**ORDER)
    assert httpx.get(f"{url}/mock/stats").json()["requests"] == sent


# --- client-side failures (no exchange needed) --------------------------------------------------------------------


def _auth_transport(prepare: dict[str, Any] | None = None, status: int = 200) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=prepare if prepare is not None else {"code": status, "message": "down"})

    return httpx.MockTransport(answer)


def test_prepare_success_false_and_outages() -> None:
    wallet = EvmWallet(Account.create().address, lambda message: "0x" + "00" * 65)
    with pytest.raises(SignInError) as caught:
        sign_in(wallet, transport=_auth_transport({"success": False}))
    assert caught.value.stage == "prepare"
    with pytest.raises(ServerError):  # an outage is not a sign-in refusal: it stays a ServerError
        sign_in(wallet, transport=_auth_transport(status=503))
    with pytest.raises(SignInError) as caught:
        sign_in(wallet, transport=_auth_transport(status=400))
    assert (caught.value.stage, caught.value.status_code) == ("prepare", 400)


def _challenge_for(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    claims = {"address": body["address"], "requestId": body["requestId"], "message": "sign me", "exp": 1, "iat": 0}
    jwt = f"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.{_b64url(json.dumps(claims).encode())}.c2ln"
    return httpx.Response(200, json={"success": True, "signedData": jwt})


def test_signer_failures_are_sign_in_errors() -> None:
    address = Account.create().address
    transport = httpx.MockTransport(_challenge_for)

    def broken(message: str) -> str:
        raise RuntimeError("device unplugged")

    async def asynchronous(message: str) -> str:
        return "0x"

    for signer, expected in ((broken, "device unplugged"), (lambda m: "0x1234", "65 bytes"),
                             (asynchronous, "use async_sign_in")):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an async signer's coroutine is closed, never left un-awaited
            with pytest.raises(SignInError, match=expected) as caught:
                sign_in(EvmWallet(address, signer), transport=transport)
        assert caught.value.stage == "sign"


def test_challenge_time_does_not_matter_to_the_client() -> None:
    """The exchange judges the challenge's expiry (clocks differ); the client only checks key and address."""
    # The fake challenge (exp 1, in 1970) is still signed and sent: the exchange's answer decides.
    sent: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path.endswith("/login"):
            return httpx.Response(401, json={"code": 401, "message": "sign-in challenge expired"})
        return _challenge_for(request)

    account = Account.create()
    wallet = EvmWallet(
        account.address, lambda m: "0x" + bytes(account.sign_message(encode_defunct(text=m)).signature).hex()
    )
    with pytest.raises(SignInError, match="expired"):
        sign_in(wallet, transport=httpx.MockTransport(route))
    assert sent == ["/v1/offchain/prepare-signin", "/v1/offchain/login"]


def test_mock_prepare_refuses_malformed_wallets_and_keys(url: str) -> None:
    key = SigningKey.generate().public_key_b58
    solana_address = b58encode(bytes(nacl.signing.SigningKey.generate().verify_key))
    with StandX(auth_url=url) as api:
        for chain, address, request_id, problem in (
            ("bsc", solana_address, key, "invalid address"),
            ("solana", "0x" + "ab" * 20, key, "invalid address"),
            ("bsc", "0x" + "ab" * 20, "0x" + "ab" * 32, "invalid requestId"),
        ):
            with pytest.raises(BadRequestError, match=problem):
                api.prepare_signin(chain=chain, address=address, request_id=request_id)  # type: ignore[arg-type]
    refused = httpx.post(f"{url}/v1/offchain/prepare-signin?chain=eth", json={"address": "0x", "requestId": key})
    assert refused.status_code == 400 and "chain" in refused.json()["message"]
