"""Credential encryption: round trip, key rotation, and clear errors that never show key or secret."""

from __future__ import annotations

import pytest

from haven_pipelines.db import crypto
from haven_pipelines.db.crypto import CredentialKeyError, decrypt, encrypt, generate_key, rotate
from haven_pipelines.domain.errors import HavenError

SECRET = "shpat_0123456789abcdef0123456789abcdef"


@pytest.fixture
def key(monkeypatch) -> str:
    value = generate_key()
    monkeypatch.setenv(crypto.KEY_ENV, value)
    return value


def test_round_trip_and_token_hides_the_secret(key):
    token = encrypt(SECRET)
    assert SECRET not in token
    assert decrypt(token) == SECRET
    # Fernet tokens carry a random IV: the same secret never encrypts to the same text twice.
    assert encrypt(SECRET) != token


def test_unicode_secret_round_trips(key):
    assert decrypt(encrypt("clé-秘密-🔑")) == "clé-秘密-🔑"


def test_generated_keys_differ_and_are_usable():
    first, second = generate_key(), generate_key()
    assert first != second
    assert decrypt(encrypt(SECRET, key=first), key=first) == SECRET


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    with pytest.raises(CredentialKeyError, match="HAVEN_SECRET_KEY is not set") as error:
        encrypt(SECRET)
    assert isinstance(error.value, HavenError)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("bad", ["not-a-key", "short", "x" * 44, generate_key()[:-2]],
                         ids=["not-a-key", "short", "44-x", "truncated-key"])  # stable ids: xdist workers must agree
def test_malformed_key_is_named_without_echoing_it(monkeypatch, bad):
    monkeypatch.setenv(crypto.KEY_ENV, bad)
    with pytest.raises(CredentialKeyError, match="malformed") as error:
        encrypt(SECRET)
    assert bad not in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_wrong_key_cannot_decrypt(monkeypatch, key):
    token = encrypt(SECRET)
    other = generate_key()
    monkeypatch.setenv(crypto.KEY_ENV, other)
    with pytest.raises(CredentialKeyError, match="not the key they were encrypted with") as error:
        decrypt(token)
    message = str(error.value)
    assert SECRET not in message and other not in message and key not in message and token not in message


def test_damaged_token_is_reported_as_such(key):
    with pytest.raises(CredentialKeyError, match="damaged"):
        decrypt(encrypt(SECRET)[:-4] + "AAAA")


def test_empty_secret_is_refused(key):
    with pytest.raises(CredentialKeyError, match="empty"):
        encrypt("")


def test_rotation_reads_old_tokens_and_rewrites_them_under_the_new_key(monkeypatch):
    old, new = generate_key(), generate_key()
    token = encrypt(SECRET, key=old)
    monkeypatch.setenv(crypto.KEY_ENV, f"{new}, {old}")
    assert decrypt(token) == SECRET
    rotated = rotate(token)
    assert decrypt(rotated, key=new) == SECRET
    with pytest.raises(CredentialKeyError):
        decrypt(rotated, key=old)
    with pytest.raises(CredentialKeyError, match="none of the keys"):
        rotate(encrypt(SECRET, key=generate_key()))
