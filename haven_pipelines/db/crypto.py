"""Encryption at rest for stored credentials (Fernet, from the ``cryptography`` package).

The key is ``HAVEN_SECRET_KEY``, read each time it is needed (never at import). It holds one Fernet
key, or several separated by commas to rotate keys: the first encrypts, every one of them is tried
to decrypt, so tokens written under an older key still read until :func:`rotate` rewrites them.

Every failure is a :class:`CredentialKeyError` that says what is wrong with the key (missing,
malformed, or not the key the data was encrypted with) and never contains the key or the secret.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from haven_pipelines.domain.errors import HavenError

KEY_ENV = "HAVEN_SECRET_KEY"


class CredentialKeyError(HavenError):
    """The credential key is missing, malformed, or cannot decrypt the stored data."""


def generate_key() -> str:
    """A new random Fernet key, as text to put in ``HAVEN_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


def _keys(key: str | None) -> MultiFernet:
    raw = os.environ.get(KEY_ENV, "") if key is None else key
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise CredentialKeyError(
            f"{KEY_ENV} is not set: stored credentials cannot be encrypted or read. "
            "Create a key with haven_pipelines.db.crypto.generate_key() and set it in the environment."
        )
    fernets = []
    for position, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            # ``from None``: the underlying error could echo key material in a traceback.
            raise CredentialKeyError(
                f"{KEY_ENV} key {position} of {len(parts)} is malformed: a Fernet key is 32 bytes, url-safe base64 encoded"
            ) from None
    return MultiFernet(fernets)


def encrypt(secret: str, *, key: str | None = None) -> str:
    """Encrypt ``secret`` with the first key; returns the token as text.

    Args:
        secret: the clear text (for example an access token); must not be empty.
        key: the key(s) to use instead of ``HAVEN_SECRET_KEY`` (tests, rotation scripts).
    """
    if not isinstance(secret, str) or not secret:
        raise CredentialKeyError("refusing to encrypt an empty credential")
    return _keys(key).encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, key: str | None = None) -> str:
    """Decrypt a token made by :func:`encrypt` with any of the configured keys."""
    try:
        return _keys(key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, AttributeError):
        raise CredentialKeyError(
            f"stored credentials cannot be decrypted: {KEY_ENV} is not the key they were encrypted with, "
            "or the stored value is damaged"
        ) from None


def rotate(token: str, *, key: str | None = None) -> str:
    """Re-encrypt ``token`` under the first key (after adding a new key in front of the old one)."""
    try:
        return _keys(key).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, AttributeError):
        raise CredentialKeyError(
            f"stored credentials cannot be re-encrypted: none of the keys in {KEY_ENV} decrypts them"
        ) from None
