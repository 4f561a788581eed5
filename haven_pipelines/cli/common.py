"""Helpers shared by the CLI modules: settings, engine, acting user, output and error handling.

Every command resolves its settings with :func:`settings` (``Settings.from_env``, read when the
command runs), the same resolution a Dagster run makes, so ``haven`` and a run agree on every
variable of the README's configuration table.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.engine import Engine

from haven_pipelines.db.engine import create_engine
from haven_pipelines.domain.errors import HavenError
from haven_pipelines.integrations.dynamic_mockups.download import DownloadPolicy
from haven_pipelines.settings import Settings


@dataclass(frozen=True)
class CliWiring:
    """Parts the commands take from code rather than from the environment.

    The ``haven`` console script passes none, so every command uses the production wiring. Code
    that invokes the click command in-process may pass one as click's ``obj``
    (``CliRunner().invoke(main, args, obj=CliWiring(...))``): the tests reach a fake Dynamic
    Mockups API on loopback this way. No variable can loosen the download policy.
    """

    download_policy: DownloadPolicy | None = None


def _wiring() -> CliWiring:
    context = click.get_current_context(silent=True)
    found = context.find_object(CliWiring) if context is not None else None
    return found or CliWiring()


def settings() -> Settings:
    """The settings of this command, read from the environment now.

    Raises:
        ValidationError: a bad value, naming the variable (``handle_errors`` prints it).
    """
    return Settings.from_env()


def engine(*, require_schema: bool = True) -> Engine:
    """The application database engine (HAVEN_DATABASE_URL, else the SQLite default).

    By default the database must exist and be at the newest schema: a command run from another
    folder, or before ``haven db upgrade``, stops with one line saying so and what to run, and
    never creates an empty SQLite file as a side effect. ``haven db`` passes
    ``require_schema=False`` (creating the database is its job).

    Raises:
        DatabaseNotReady: missing, unreachable, empty or behind the newest schema.
    """
    url = settings().database_url
    if require_schema:
        from haven_pipelines.services.database import require_ready

        require_ready(url)
    return create_engine(url)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (Decimals as strings, times in ISO 8601)."""
    click.echo(json.dumps(data, indent=2, default=_default, sort_keys=False))


def handle_errors(func: Callable) -> Callable:
    """Turn the project's errors into a one-line message and exit code 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HavenError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def app_context(*, require_schema: bool = True):
    """The services' context (database, renderer, storage, Shopify mode) from :func:`settings`, for one command.

    Raises:
        ValidationError: a bad setting, naming the variable (checked first).
        DatabaseNotReady: with ``require_schema`` (the default), as :func:`engine` says.
    """
    from haven_pipelines.services.context import build_context
    from haven_pipelines.services.database import require_ready

    resolved = settings()
    # Built first, so that a bad setting is named before anything else; it creates no file or folder.
    ctx = build_context(resolved, download_policy=_wiring().download_policy)
    try:
        if require_schema:
            require_ready(resolved.database_url)
    except BaseException:
        ctx.close()
        raise
    return ctx


def blob_store():
    """The image store the settings name (the local folder or the S3 bucket), for one command."""
    from haven_pipelines.services.context import build_blob_store

    return build_blob_store(settings())


def acting_user(engine: Engine, ref: str) -> str:
    """The id of the user named by id or email (``--user``)."""
    from haven_pipelines.services.users import resolve_user_id

    return resolve_user_id(engine, ref)


user_option = click.option("--user", "user_ref", default="demo@haven.local", show_default=True,
                           help="Acting user, by id or email.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def paging_options(func: Callable) -> Callable:
    """``--limit`` (1 to 100 a page, default 20) and ``--offset`` for a list command."""
    func = click.option("--offset", type=click.IntRange(0), default=0, show_default=True)(func)
    return click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)(func)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Collection[int] = (),
               indent: str = "") -> None:
    """Print ``rows`` under a line of ``headers``, each column as wide as its widest cell.

    ``right`` names the columns (by index) aligned right, such as prices; None prints ``-``. The
    last column is not padded, so a long description or URL does not push trailing blanks. Each
    line starts with ``indent`` (a table under a heading).
    """
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        parts = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        parts[-1] = row[-1].rjust(widths[-1]) if len(row) - 1 in right else row[-1]
        click.echo(indent + "  ".join(parts).rstrip())


class DesignIdType(click.ParamType):
    """A design, by its id (a UUID) or its partition key (``roots-before-branches-6e714a3a``, what
    the Dagster UI lists); given back as the design's id.

    A value of neither shape is a usage error naming the option (exit 2), before any database work;
    a key is looked up in the database, and one that names no design is the same usage error.
    """

    name = "design"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The design's id in its canonical lower-case form, or click's error naming the option."""
        from haven_pipelines.domain.errors import NotFound, ValidationError
        from haven_pipelines.services.designs import parse_design_ref, resolve_design

        try:
            asset_id, key = parse_design_ref(str(value))  # an id or a bad shape needs no database
        except ValidationError as exc:
            self.fail(exc.reason, param, ctx)
        if asset_id is not None:
            return asset_id
        eng = engine()
        try:
            return resolve_design(eng, key)
        except NotFound:
            self.fail(f"no design has the key {key!r} (the Dagster UI lists the keys under Assets -> mockups -> Partitions)", param, ctx)
        finally:
            eng.dispose()


DESIGN_ID = DesignIdType()

#: Years that ``--year`` accepts: none before 2000 has credits; the next year is the last to ask about.
FIRST_YEAR = 2000


class CalendarYearType(click.ParamType):
    """A calendar year from :data:`FIRST_YEAR` to next year (UTC, read when the command runs)."""

    name = "year"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The year as an int, or click's error naming the option and the accepted range."""
        last = datetime.now(UTC).year + 1
        try:
            year = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a year", param, ctx)
        if not FIRST_YEAR <= year <= last:
            self.fail(f"{year} is out of range: give a year from {FIRST_YEAR} to {last}", param, ctx)
        return year


CALENDAR_YEAR = CalendarYearType()


def check_scenes(engine: Engine, user_id: str, scenes: Sequence[str], option: str = "--scene") -> None:
    """Refuse scene keys the user cannot render into, naming ``option`` and listing the valid keys.

    Raises:
        click.BadParameter: an unknown key (exit 2), with the user's valid scene keys.
    """
    from haven_pipelines.services.scenes import visible_scenes

    valid = [r["scene_key"] for r in visible_scenes(engine, user_id)]
    unknown = [s for s in dict.fromkeys(scenes) if s not in valid]
    if unknown:
        names = ", ".join(repr(s) for s in unknown)
        raise click.BadParameter(f"unknown scene {names}; valid scenes: {', '.join(valid)}", param_hint=f"'{option}'")
