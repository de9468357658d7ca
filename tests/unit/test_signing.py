"""Body signing: known-answer vectors, an independent verifier, key formats, and what gets signed."""

from __future__ import annotations

import base64
import json

import httpx
import nacl.signing
import pytest
from standx_client import SigningKey, StandX, StandXAuth, ValidationError
from standx_client.signing import b58decode, b58encode

from tests.conftest import JWT, SEED_HEX, VECTORS, Recorder, json_response

SEED = bytes.fromhex(SEED_HEX)
OK = {"code": 0, "message": "success", "request_id": "r"}


def _verify(request: httpx.Request, public_key: bytes) -> None:
    """Verify with PyNaCl's VerifyKey, over the bytes that actually went on the wire."""
    h = request.headers
    message = (
        f"{h['x-request-sign-version']},{h['x-request-id']},{h['x-request-timestamp']},".encode() + request.content
    )
    nacl.signing.VerifyKey(public_key).verify(message, base64.b64decode(h["x-request-signature"]))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=["new_order_payload", "empty_payload"])
def test_known_answer_vectors(vector: dict[str, object]) -> None:
    recorder = Recorder({"/api/new_order": json_response(OK)})
    auth = StandXAuth(
        SEED_HEX,
        hosts=["perps.standx.com"],
        clock_ms=lambda: int(str(vector["timestamp_ms"])),
        new_request_id=lambda: str(vector["request_id"]),
    )
    with httpx.Client(transport=httpx.MockTransport(recorder), auth=auth) as http:
        http.post("https://perps.standx.com/api/new_order", content=str(vector["payload"]).encode())
    headers = recorder.last.headers
    assert headers["x-request-signature"] == vector["signature"]
    assert headers["x-request-sign-version"] == "v1"
    assert headers["x-request-id"] == vector["request_id"]
    assert headers["x-request-timestamp"] == str(vector["timestamp_ms"])
    _verify(recorder.last, bytes.fromhex(VECTORS["public_key_hex"]))


def test_public_key_matches_vector() -> None:
    key = SigningKey.parse(SEED_HEX)
    assert key.public_key.hex() == VECTORS["public_key_hex"]
    assert key.public_key_b58 == VECTORS["public_key_b58"]


def test_facade_signs_the_documented_payload_byte_for_byte() -> None:
    """The facade serializes the docs' new_order example to the vector's payload (plus the cl_ord_id it always
    sends, in the spec's property order), and signs exactly those bytes."""
    recorder = Recorder({"/api/new_order": json_response(OK)})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    client.new_order(
        symbol="BTC-USD",
        side="buy",
        order_type="limit",
        qty="0.1",
        price="50000",
        time_in_force="gtc",
        reduce_only=False,
        cl_ord_id="c1",
    )
    expected = VECTORS["vectors"][0]["payload"].removesuffix("}") + ',"cl_ord_id":"c1"}'
    assert recorder.last.content.decode() == expected
    _verify(recorder.last, SigningKey.parse(SEED_HEX).public_key)


def test_non_ascii_body_is_signed_as_sent() -> None:
    """The signer signs raw UTF-8 bytes as they go out (the spec's own fields are ASCII; bodies need not be)."""
    recorder = Recorder({"/api/cancel_order": json_response(OK)})
    body = '{"cl_ord_id":"ordre-été-ü"}'.encode()
    with httpx.Client(transport=httpx.MockTransport(recorder), auth=StandXAuth(SEED, hosts=["perps.standx.com"])) as h:
        h.post("https://perps.standx.com/api/cancel_order", content=body)
    assert recorder.last.content == body
    _verify(recorder.last, SigningKey.parse(SEED_HEX).public_key)


def test_fresh_request_id_and_timestamp_per_request() -> None:
    recorder = Recorder({"/api/change_leverage": json_response(OK)})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    for _ in range(3):
        client.change_leverage(symbol="BTC-USD", leverage=10)
    ids = {r.headers["x-request-id"] for r in recorder.requests}
    assert len(ids) == 3
    for request in recorder.requests:
        _verify(request, SigningKey.parse(SEED_HEX).public_key)


def test_unsigned_operations_and_foreign_hosts_get_no_signature() -> None:
    recorder = Recorder({"/api/query_positions": json_response([]), "/api/new_order": json_response(OK)})
    auth = StandXAuth(SEED_HEX, hosts=["perps.standx.com"])
    with httpx.Client(transport=httpx.MockTransport(recorder), auth=auth) as http:
        http.get("https://perps.standx.com/api/query_positions")
        http.post("https://evil.example.com/api/new_order", content=b"{}")
        http.post("https://perps.standx.com/api/new_order", content=b"{}")
    assert [("x-request-signature" in r.headers) for r in recorder.requests] == [False, False, True]


def test_tampered_body_fails_independent_verification() -> None:
    recorder = Recorder({"/api/new_order": json_response(OK)})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    client.new_order(symbol="BTC-USD", side="sell", order_type="market", qty="1", time_in_force="ioc", reduce_only=True)
    sent = recorder.last
    tampered = httpx.Request("POST", sent.url, headers=sent.headers, content=sent.content.replace(b'"1"', b'"2"'))
    with pytest.raises(nacl.exceptions.BadSignatureError):
        _verify(tampered, SigningKey.parse(SEED_HEX).public_key)


# --- key formats ---------------------------------------------------------------------------------------------


def _formats() -> dict[str, str | bytes]:
    public = bytes(nacl.signing.SigningKey(SEED).verify_key)
    return {
        "hex": SEED.hex(),
        "0x-hex": "0x" + SEED.hex(),
        "base58": b58encode(SEED),
        "base64": base64.b64encode(SEED).decode(),
        "base64url-unpadded": base64.urlsafe_b64encode(SEED).decode().rstrip("="),
        "solana-64-base58": b58encode(SEED + public),
        "solana-64-hex": (SEED + public).hex(),
        "raw-32": SEED,
        "raw-64": SEED + public,
    }


@pytest.mark.parametrize("name", list(_formats()))
def test_key_formats(name: str) -> None:
    assert SigningKey.parse(_formats()[name]).public_key_b58 == VECTORS["public_key_b58"]


@pytest.mark.parametrize(
    "bad",
    ["", "not a key", SEED.hex()[:-2], b58encode(SEED + SEED), b"\x01" * 31, (SEED + b"\x00" * 32).hex()],
    ids=["empty", "words", "short-hex", "64-bytes-mismatched-halves", "31-bytes", "64-hex-bad-public-half"],
)
def test_bad_keys_raise_validation_error_without_echoing_the_secret(bad: str | bytes) -> None:
    with pytest.raises(ValidationError) as info:
        SigningKey.parse(bad)
    assert info.value.field == "signing_key"
    text = str(info.value) + repr(info.value)
    if isinstance(bad, str) and len(bad) > 8:
        assert bad not in text


def test_base58_round_trip_with_leading_zeros() -> None:
    for data in (b"", b"\0", b"\0\0\x01", SEED, bytes(range(255, 200, -1))):
        assert b58decode(b58encode(data)) == data
    assert b58encode(b"\0\0\x01") == "112"


def test_signing_key_repr_and_pickle_hide_the_secret() -> None:
    key = SigningKey.parse(SEED_HEX)
    assert SEED_HEX not in repr(key)
    assert b58encode(SEED) not in repr(key)
    assert VECTORS["public_key_b58"] in repr(key)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_payload_json_is_compact_utf8() -> None:
    recorder = Recorder({"/api/transfer_margin": json_response(OK)})
    client = StandX(jwt=JWT, signing_key=SEED_HEX, transport=httpx.MockTransport(recorder))
    client.transfer_margin(symbol="BTC-USD", amount_in="-12.50")
    assert json.loads(recorder.last.content) == {"symbol": "BTC-USD", "amount_in": "-12.50"}
    assert b" " not in recorder.last.content


def test_body_bytes_are_the_standard_compact_json_of_every_character() -> None:
    """The encoder of the signed bytes (msgspec) writes what `json.dumps(separators=(",", ":"),
    ensure_ascii=False)` writes, for every Unicode scalar value and the other JSON types a body holds."""
    from standx_client._json import dumps

    stdlib = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    scalars = (chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)  # every code point but surrogates
    differ = [hex(ord(ch)) for ch in scalars if dumps({"k": ch}) != stdlib({"k": ch}).encode()]
    assert differ == []
    body = {"symbol": "BTC-USD", "qty": "0.1", "reduce_only": False, "leverage": 20, "none": None, "ids": [1, 2**70]}
    assert dumps(body) == stdlib(body).encode()


def test_request_ids_are_version_4_uuids() -> None:
    import uuid

    from standx_client._ids import new_request_id

    ids = [new_request_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
