"""The operator's settings: the approval mode (global and per module), the credit guardrails, the time zone.

What Haven Hub's operator changed in its settings screen, reachable here without SQL. Every value is
checked before anything is written, and one transaction writes them all, so a bad value names its
field and changes nothing.

| field | values |
| --- | --- |
| ``global_mode`` | supervised (the default), assisted or autopilot |
| ``module_overrides`` | a mode per module (``mockups``, ``products``); ``inherit`` removes an override |
| ``annual_mockup_budget`` | credits a year, a whole number >= 0 (the hard limit) |
| ``monthly_mockup_soft_limit`` | credits a month, a whole number >= 0 (warns only) |
| ``timezone`` | an IANA time zone such as ``Europe/London`` (credit months stay calendar months in UTC) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Engine

from haven_pipelines.db.stores.users import SettingsStore, resolve_user
from haven_pipelines.domain.approval import OPERATOR_MODES, effective_mode
from haven_pipelines.domain.errors import ValidationError

# The modules whose routing reads an override (``auto_approve(..., module=...)``).
MODULES = ("mockups", "products")
# Given as a module's mode, removes its override so that the global mode applies again.
INHERIT = "inherit"
# The guardrail columns are 32-bit integers on PostgreSQL.
MAX_CREDITS = 2_147_483_647
MAX_TIMEZONE = 64


@dataclass(frozen=True)
class OperatorSettings:
    """A user's settings as stored, and the mode each module effectively runs in."""

    user_id: str
    email: str
    global_mode: str
    module_overrides: dict[str, str]
    effective_modes: dict[str, str]
    annual_mockup_budget: int
    monthly_mockup_soft_limit: int
    timezone: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "user": {"id": self.user_id, "email": self.email},
            "global_mode": self.global_mode,
            "module_overrides": dict(self.module_overrides),
            "effective_modes": dict(self.effective_modes),
            "annual_mockup_budget": self.annual_mockup_budget,
            "monthly_mockup_soft_limit": self.monthly_mockup_soft_limit,
            "timezone": self.timezone,
        }


def parse_module_assignment(text: str) -> tuple[str, str]:
    """``mockups=autopilot`` as ``("mockups", "autopilot")``; the error lists the valid modules and modes.

    Raises:
        ValidationError: naming ``module``, when the text is not ``MODULE=MODE`` or either part is unknown.
    """
    valid = f"valid modules: {', '.join(MODULES)}; valid modes: {', '.join((*OPERATOR_MODES, INHERIT))}"
    module, sep, mode = (text or "").partition("=")
    module, mode = module.strip().lower(), mode.strip().lower()
    if not sep or not module or not mode:
        raise ValidationError("module", f"must be MODULE=MODE, got {text!r} ({valid})")
    if module not in MODULES:
        raise ValidationError("module", f"unknown module {module!r} ({valid})")
    if mode not in (*OPERATOR_MODES, INHERIT):
        raise ValidationError("module", f"unknown mode {mode!r} for {module} ({valid})")
    return module, mode


def check_timezone(value: str) -> str:
    """An IANA time zone name (``Europe/London``), stripped; ValidationError naming ``timezone`` otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("timezone", "must be an IANA time zone such as Europe/London")
    name = value.strip()
    if len(name) > MAX_TIMEZONE:
        raise ValidationError("timezone", f"must be at most {MAX_TIMEZONE} characters")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", f"not an IANA time zone: {name!r} (for example Europe/London or UTC)") from None
    return name


def _credits(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CREDITS:
        raise ValidationError(field, f"must be a whole number from 0 to {MAX_CREDITS}, got {value!r}")
    return value


def _view(user, row) -> OperatorSettings:
    overrides = {k: v for k, v in (row["module_overrides"] or {}).items()}
    return OperatorSettings(
        user_id=user["id"], email=user["email"], global_mode=row["global_mode"], module_overrides=overrides,
        effective_modes={m: effective_mode(row["global_mode"], overrides, m) for m in MODULES},
        annual_mockup_budget=int(row["annual_mockup_budget"]),
        monthly_mockup_soft_limit=int(row["monthly_mockup_soft_limit"]), timezone=row["timezone"],
    )


def show_settings(engine: Engine, user_ref: str) -> OperatorSettings:
    """The settings of the user named by id or email (a default row is made on first read)."""
    with engine.begin() as conn:
        user = resolve_user(conn, user_ref)
        return _view(user, SettingsStore(conn, user["id"]).get())


def update_settings(
    engine: Engine,
    user_ref: str,
    *,
    mode: str | None = None,
    modules: Mapping[str, str] | None = None,
    annual_budget: int | None = None,
    monthly_soft_limit: int | None = None,
    timezone: str | None = None,
) -> OperatorSettings:
    """Change the settings given (None leaves a setting as it is); all or nothing.

    Args:
        mode: the global mode.
        modules: module -> mode; ``inherit`` removes that module's override.
        annual_budget: credits a year.
        monthly_soft_limit: credits a month.
        timezone: an IANA time zone.

    Raises:
        ValidationError: the first bad value, named (``global_mode``, ``module``,
            ``annual_mockup_budget``, ``monthly_mockup_soft_limit``, ``timezone``); nothing is written.
        NotFound: no such user.
    """
    values: dict[str, object] = {}
    if mode is not None:
        if mode not in OPERATOR_MODES:
            raise ValidationError("global_mode", f"must be one of {', '.join(OPERATOR_MODES)}, got {mode!r}")
        values["global_mode"] = mode
    if annual_budget is not None:
        values["annual_mockup_budget"] = _credits("annual_mockup_budget", annual_budget)
    if monthly_soft_limit is not None:
        values["monthly_mockup_soft_limit"] = _credits("monthly_mockup_soft_limit", monthly_soft_limit)
    if timezone is not None:
        values["timezone"] = check_timezone(timezone)
    checked_modules = [parse_module_assignment(f"{k}={v}") for k, v in (modules or {}).items()]
    if not values and not checked_modules:
        raise ValidationError("settings", "nothing to change: give a mode, a module override, a guardrail or a time zone")
    with engine.begin() as conn:
        user = resolve_user(conn, user_ref)
        store = SettingsStore(conn, user["id"])
        if checked_modules:
            overrides = dict(store.get()["module_overrides"] or {})
            for module, module_mode in checked_modules:
                if module_mode == INHERIT:
                    overrides.pop(module, None)
                else:
                    overrides[module] = module_mode
            values["module_overrides"] = overrides
        return _view(user, store.update(**values))
