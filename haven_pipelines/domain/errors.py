"""Errors raised by domain rules and services.

    HavenError
     ├── ValidationError        bad input; names the field and the reason
     ├── NotFound               the row does not exist *for this user* (other users' rows look absent)
     ├── Conflict               the row exists but is in a state that forbids the change
     └── BudgetExceeded         the annual credit budget cannot cover the request
"""

from __future__ import annotations


class HavenError(Exception):
    """Base class of every error this project raises on purpose."""


class ValidationError(HavenError, ValueError):
    """Bad input. ``field`` names what is wrong, ``reason`` says why."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class NotFound(HavenError, LookupError):
    """A row that does not exist for the acting user (another user's row is reported the same way)."""

    def __init__(self, kind: str, ident: object):
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!s} not found")


class Conflict(HavenError):
    """The row exists but its state forbids the change."""


class BudgetExceeded(HavenError):
    """The annual credit budget cannot cover a reservation; ``remaining`` says what is left."""

    def __init__(self, requested: int, remaining: int, budget: int, year: int):
        self.requested = requested
        self.remaining = remaining
        self.budget = budget
        self.year = year
        super().__init__(
            f"annual mockup credit budget exceeded: requested {requested} credit(s), "
            f"{remaining} of {budget} remaining for {year}"
        )
