"""Which export URLs the Dynamic Mockups client may fetch: one policy object, given to the client.

An export URL comes from the API's answer, so a forged or compromised answer chooses what we fetch.
The default policy is the production rule: https only, and only hosts that are (and resolve to)
public addresses, never loopback, private, link-local or cloud metadata ones. Code that needs
something else (a test against a fake API on loopback) builds the client with another policy; no
environment variable or setting can loosen it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DownloadPolicy:
    """Where exports may come from.

    Args:
        allow_http: also allow plain ``http://`` (default: https only).
        allow_private_addresses: allow hosts that are, or resolve to, loopback, private,
            link-local or other non-public addresses (default: refused).
        allowed_hosts: when given, the only hosts (exact names) a URL and its redirects may use.
        resolver: host name to IP addresses for the public-address check (default: the system's
            DNS through ``client.resolve_host``; tests inject one to stay offline).
    """

    allow_http: bool = False
    allow_private_addresses: bool = False
    allowed_hosts: frozenset[str] | None = None
    resolver: Callable[[str], Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if self.allowed_hosts is not None:
            object.__setattr__(self, "allowed_hosts", frozenset(h.lower() for h in self.allowed_hosts))


#: The production rule: https from public hosts only.
STRICT = DownloadPolicy()
