"""Integrations: credentials encrypted at rest, one per provider, invisible to other users."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from haven_pipelines.db import crypto
from haven_pipelines.db.crypto import CredentialKeyError
from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.db.stores.users import get_or_create_user
from haven_pipelines.db.tables import integrations
from haven_pipelines.domain.errors import Conflict, NotFound, ValidationError

TOKEN = "shpat_live_5f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def key(monkeypatch) -> str:
    value = crypto.generate_key()
    monkeypatch.setenv(crypto.KEY_ENV, value)
    return value


@pytest.fixture
def users(engine) -> tuple[str, str]:
    with engine.begin() as conn:
        return get_or_create_user(conn, "alice@haven.test")["id"], get_or_create_user(conn, "bob@haven.test")["id"]


def raw_rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(integrations)).mappings().all()


def test_credential_is_stored_encrypted_and_read_back(engine, users, key):
    alice, _ = users
    with engine.begin() as conn:
        connected = IntegrationStore(conn, alice).connect("shopify", "haven-hold.myshopify.com", TOKEN, {"api_version": "2026-10"})

    assert (connected.provider, connected.account, connected.status, connected.has_credentials) == (
        "shopify", "haven-hold.myshopify.com", "connected", True,
    )
    assert TOKEN not in repr(connected)
    [row] = raw_rows(engine)
    # No column holds the clear text, and the stored value is a token for the configured key.
    assert all(TOKEN not in str(value) for value in row.values())
    assert crypto.decrypt(row["encrypted_credentials"], key=key) == TOKEN
    with engine.connect() as conn:
        assert IntegrationStore(conn, alice).credentials("shopify") == TOKEN
        assert IntegrationStore(conn, alice).get("shopify").settings == {"api_version": "2026-10"}


def test_reconnect_replaces_the_credential(engine, users, key):
    alice, _ = users
    with engine.begin() as conn:
        store = IntegrationStore(conn, alice)
        store.connect("shopify", "a.myshopify.com", TOKEN)
        store.connect("shopify", "b.myshopify.com", "shpat_second")
        assert store.credentials("shopify") == "shpat_second"
        assert [i.account for i in store.list()] == ["b.myshopify.com"]
    assert len(raw_rows(engine)) == 1


def test_other_users_cannot_read_or_change_an_integration(engine, users, key):
    alice, bob = users
    with engine.begin() as conn:
        IntegrationStore(conn, alice).connect("shopify", "alice.myshopify.com", TOKEN)
    with engine.begin() as conn:
        bobs = IntegrationStore(conn, bob)
        with pytest.raises(NotFound):
            bobs.get("shopify")
        with pytest.raises(NotFound):
            bobs.credentials("shopify")
        with pytest.raises(NotFound):
            bobs.disconnect("shopify")
        assert bobs.list() == []
        # Bob connecting the same provider makes his own row; Alice's is untouched.
        bobs.connect("shopify", "bob.myshopify.com", "shpat_bob")
    with engine.connect() as conn:
        assert IntegrationStore(conn, alice).credentials("shopify") == TOKEN
        assert IntegrationStore(conn, alice).get("shopify").account == "alice.myshopify.com"
        assert IntegrationStore(conn, bob).credentials("shopify") == "shpat_bob"


def test_disconnect_erases_the_credential(engine, users, key):
    alice, _ = users
    with engine.begin() as conn:
        store = IntegrationStore(conn, alice)
        store.connect("dynamic_mockups", None, "dm-key-123")
        disconnected = store.disconnect("dynamic_mockups")
        assert (disconnected.status, disconnected.has_credentials) == ("disconnected", False)
        with pytest.raises(Conflict, match="disconnected"):
            store.credentials("dynamic_mockups")
    [row] = raw_rows(engine)
    assert row["encrypted_credentials"] is None


def test_missing_key_writes_nothing(engine, users, monkeypatch):
    alice, _ = users
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    with engine.begin() as conn:
        with pytest.raises(CredentialKeyError, match="HAVEN_SECRET_KEY") as error:
            IntegrationStore(conn, alice).connect("shopify", "x.myshopify.com", TOKEN)
    assert TOKEN not in str(error.value)
    assert raw_rows(engine) == []


def test_wrong_key_is_a_clear_error(engine, users, key, monkeypatch):
    alice, _ = users
    with engine.begin() as conn:
        IntegrationStore(conn, alice).connect("shopify", "x.myshopify.com", TOKEN)
    monkeypatch.setenv(crypto.KEY_ENV, crypto.generate_key())
    with engine.connect() as conn:
        with pytest.raises(CredentialKeyError, match="not the key") as error:
            IntegrationStore(conn, alice).credentials("shopify")
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize(
    ("provider", "account", "secret", "settings", "field"),
    [
        ("Shopify!", None, TOKEN, None, "provider"),
        ("", None, TOKEN, None, "provider"),
        ("shopify", None, "  ", None, "secret"),
        ("shopify", "x" * 256, TOKEN, None, "account"),
        ("shopify", None, TOKEN, ["not", "a", "dict"], "settings"),
    ],
)
def test_bad_input_is_named(engine, users, key, provider, account, secret, settings, field):
    alice, _ = users
    with engine.begin() as conn:
        with pytest.raises(ValidationError) as error:
            IntegrationStore(conn, alice).connect(provider, account, secret, settings)
    assert error.value.field == field
    assert TOKEN not in str(error.value)
    assert raw_rows(engine) == []
