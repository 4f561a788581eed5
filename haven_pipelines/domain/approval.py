"""Approval routing: approve a finished mockup at once, or queue it for a person (Haven Hub rule)."""

from __future__ import annotations

from collections.abc import Mapping

OPERATOR_MODES = ("supervised", "assisted", "autopilot")


def effective_mode(global_mode: str | None, module_overrides: Mapping[str, str] | None, module: str) -> str:
    """The operator mode for ``module``: its override when set, else the global mode, else supervised."""
    override = (module_overrides or {}).get(module)
    return override or global_mode or "supervised"


def auto_approve(
    global_mode: str | None,
    module_overrides: Mapping[str, str] | None,
    *,
    module: str = "mockups",
    skip_approval: bool = False,
) -> bool:
    """True when a finished item skips the queue: autopilot for the module, or skip approval asked."""
    return skip_approval or effective_mode(global_mode, module_overrides, module) == "autopilot"
