"""Connect a user's Shopify shop (``haven shopify connect``): check the token, store it encrypted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.integrations import IntegrationStore
from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.shopify.client import ShopifyClient


@dataclass(frozen=True)
class ShopConnection:
    """A stored connection: the shop's domain, and its name when the token was checked."""

    shop_domain: str
    shop_name: str | None


def connect_shopify(
    engine: Engine, user_id: str, shop: str, token: str, *, base_url: str | None = None, check: bool = True
) -> ShopConnection:
    """Store ``shop`` and its Admin API ``token`` (encrypted with HAVEN_SECRET_KEY) for ``user_id``.

    Publishing is live for the user from then on (in the ``auto`` Shopify mode).

    Args:
        shop: ``my-shop`` or ``my-shop.myshopify.com``.
        token: the Admin API access token; never logged, printed or stored in clear.
        base_url: send calls here instead of the shop's own URL (a proxy, a test server).
        check: call Shopify once first, so a wrong token is refused before anything is stored.

    Raises:
        ValidationError: an empty token or a malformed shop domain or base URL, named.
        ShopifyError: the check call failed (a wrong token, Shopify unreachable); nothing is stored.
        CredentialKeyError: HAVEN_SECRET_KEY is missing or malformed; nothing is stored.
    """
    if not isinstance(token, str) or not token.strip():
        raise ValidationError("token", "an Admin API access token is required")
    client = ShopifyClient(shop, token.strip(), base_url=base_url)  # validates the domain and base URL
    try:
        info = client.shop() if check else None
    finally:
        client.close()
    with engine.begin() as conn:
        IntegrationStore(conn, user_id).connect("shopify", client.shop_domain, token.strip(),
                                                {"base_url": base_url} if base_url else {})
    return ShopConnection(client.shop_domain, info.name if info else None)
