"""The client's own base58 codec checked against an independent implementation (the `base58` package,
which the mock uses to read public keys): same text for the same bytes, same bytes back, same refusals."""

from __future__ import annotations

import random

import base58
import pytest
from standx_client.signing import b58decode, b58encode

from tests.conftest import SEED_HEX, VECTORS


def _samples() -> list[bytes]:
    rng = random.Random(58)
    fixed = [b"", b"\0", b"\0\0\0", b"\0\x01", b"\xff" * 32, bytes.fromhex(SEED_HEX)]
    return fixed + [bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 31, 32, 33, 64)))) for _ in range(200)]


def test_client_codec_agrees_with_the_base58_package() -> None:
    for raw in _samples():
        text = base58.b58encode(raw).decode("ascii")
        assert b58encode(raw) == text, raw.hex()
        assert b58decode(text) == raw == base58.b58decode(text)
    assert base58.b58decode(VECTORS["public_key_b58"]) == bytes.fromhex(VECTORS["public_key_hex"])


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "abc+", "2 2"])
def test_both_refuse_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(ValueError):
        base58.b58decode(text)
    with pytest.raises(ValueError):
        b58decode(text)
