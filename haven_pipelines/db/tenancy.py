"""Which tenant a transaction acts for, told to PostgreSQL's row-level security (no-op on SQLite).

On PostgreSQL every tenant table has row-level security, forced (migration 0008). The application
role sees a tenant row only when the transaction's ``haven.user_id`` setting names its user:
:func:`act_as` sets it with ``set_config(..., true)``, the function form of ``SET LOCAL``, so it ends
with the transaction and a pooled connection never carries one user's setting into the next.
Every store calls it when it is bound to ``(connection, user)``.

Work that reads or writes across users (the sensors, the nightly, the analyst tables, the sweeper,
the health checks) says so with :func:`cross_tenant`, which switches the transaction to the pipeline
role (``SET LOCAL ROLE``): its policies pass every row. Nothing reaches across tenants without that
call, so a forgotten scope reads nothing instead of everything.

On SQLite both are no-ops: the stores' own ``user_id`` filters are the scoping there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from haven_pipelines import settings

_ACT_AS = text("SELECT set_config('haven.user_id', :user_id, true)")
_SET_ROLE = text("SELECT set_config('role', :role, true)")
_SCOPE_MARK = "haven_acting_scope"  # conn.info key: the transaction act_as last scoped, and to whom


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def act_as(conn: Connection, user_id: str) -> None:
    """Scope the connection's current transaction to ``user_id``'s rows (PostgreSQL; no-op on SQLite).

    Starts the transaction if none is open (SQLAlchemy's autobegin), so the setting covers every
    statement the caller runs before its commit or rollback.
    """
    if _postgres(conn):
        user_id = str(user_id)
        # Once per transaction and user: a use case binds several stores to one transaction (a
        # finished render binds four), and each asked the server again. The mark names the
        # transaction objects themselves (kept alive by it, so never mistaken for a later one) and
        # the savepoint, whose rollback would undo a setting made inside it.
        scope = (conn.get_transaction(), conn.get_nested_transaction(), user_id)
        if scope[0] is not None and conn.info.get(_SCOPE_MARK) == scope:
            return
        conn.execute(_ACT_AS, {"user_id": user_id})
        conn.info[_SCOPE_MARK] = (conn.get_transaction(), conn.get_nested_transaction(), user_id)


def cross_tenant(conn: Connection) -> Connection:
    """Switch the connection's current transaction to the cross-tenant pipeline role; returns ``conn``.

    Only the pipeline's own cross-user work calls this. The login needs membership of the pipeline
    role (the application role has it; see migration 0008). Ends with the transaction.
    """
    if _postgres(conn):
        conn.execute(_SET_ROLE, {"role": settings.db_roles().pipeline})
    return conn


@contextmanager
def cross_tenant_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction runs as the pipeline role (see :func:`cross_tenant`); rolled back at the end."""
    with engine.connect() as conn:
        yield cross_tenant(conn)


@contextmanager
def cross_tenant_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` as the pipeline role: committed when the block ends without an error."""
    with engine.begin() as conn:
        yield cross_tenant(conn)
